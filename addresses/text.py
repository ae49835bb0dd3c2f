"""The text pipeline shared by the address index and the queries: small named steps.

Every step takes a :class:`Parsed` and returns one (a new one or the same), doing one thing:
fold case and accents, split into words, glue ``12 bis`` into ``12bis``, take out the house
number or the postcode, expand ``bd`` into ``boulevard``, drop ``de``/``la``… The lists of steps
applied to stored names and to typed queries are declared in :mod:`addresses.config` (as addok's
``PROCESSORS_PYPATHS``/``QUERY_PROCESSORS_PYPATHS``); :func:`run` applies such a list.

Stored street names and queries go through the same word steps, so ``Bd de Sébastopol``,
``boulevard sebastopol`` and ``BOULEVARD DE SEBASTOPOL`` all become ``boulevard sebastopol``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

#: Longest query handled (longer ones are cut, as addok's QUERY_MAX_LENGTH).
QUERY_MAX_LENGTH = 200

#: Abbreviations people type (and La Poste's AFNOR short forms) → the word of the BAN names.
SYNONYMS: dict[str, str] = {
    # street types
    "all": "allee", "al": "allee", "av": "avenue", "ave": "avenue", "bd": "boulevard", "bld": "boulevard",
    "blvd": "boulevard", "bvd": "boulevard", "boul": "boulevard", "car": "carrefour", "carr": "carrefour",
    "ch": "chemin", "chem": "chemin", "che": "chemin", "cit": "cite", "crs": "cours",
    "esp": "esplanade", "espl": "esplanade", "fg": "faubourg", "fbg": "faubourg", "gal": "galerie",
    "imp": "impasse", "pass": "passage", "pas": "passage", "pl": "place", "plc": "place",
    "prom": "promenade", "pt": "pont", "q": "quai", "qu": "quai", "r": "rue", "rte": "route",
    "rpt": "rond point", "sq": "square", "sen": "sentier", "tsse": "terrasse",
    "vla": "villa", "vil": "villa", "pte": "porte", "prv": "parvis", "hameau": "hameau", "ham": "hameau",
    "jard": "jardin", "res": "residence", "lot": "lotissement", "pkg": "parking", "chs": "chaussee",
    # titles and common words of names
    "st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes", "gen": "general", "gl": "general",
    "gle": "generale", "mal": "marechal", "mar": "marechal", "pdt": "president", "pres": "president",
    "dr": "docteur", "doct": "docteur", "pr": "professeur", "prof": "professeur", "cdt": "commandant",
    "cmdt": "commandant", "cne": "capitaine", "capt": "capitaine", "lt": "lieutenant", "col": "colonel",
    "adj": "adjudant", "sgt": "sergent", "mgr": "monseigneur", "abbe": "abbe", "chan": "chanoine",
    "ndame": "notre dame", "nd": "notre dame", "fr": "freres", "ht": "haut", "hte": "haute", "gd": "grand",
    "gde": "grande", "gds": "grands", "vx": "vieux", "vve": "veuve",
    "mme": "madame", "mlle": "mademoiselle", "arr": "arrondissement", "arrdt": "arrondissement",
    "ier": "1er", "premier": "1er", "premiere": "1er",
}
#: Words too common to tell streets apart (dropped on both sides).
STOPWORDS = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "a", "au", "aux", "et", "en",
                       "arrondissement", "france"})
#: Ordinal suffixes of a house number (BAN ``rep``), and the one-letter fold addok-france uses
#: (``3bis`` and ``3b`` are the same number; Paris publishes ``b``, other cities ``bis``).
ORDINALS = {"bis": "b", "ter": "t", "quater": "q", "quinquies": "c", "sexies": "s"}
STREET_TYPES = frozenset({
    "allee", "avenue", "boulevard", "carrefour", "chemin", "cite", "cours", "esplanade", "faubourg",
    "galerie", "impasse", "passage", "place", "promenade", "pont", "quai", "rue", "route", "rond",
    "square", "sentier", "terrasse", "villa", "porte", "parvis", "hameau", "jardin", "residence",
    "port", "voie", "chaussee", "sente", "ruelle", "rampe", "parc", "cour", "lotissement", "av", "bd",
    "r", "pl", "fg", "fbg", "imp", "sq", "q", "qu", "all", "ch", "rte", "crs", "vla", "pass",
})
_NUMBER = re.compile(r"^(\d{1,4})(bis|ter|quater|quinquies|sexies|[a-z]\d?|[a-z]{2})?$")
_POSTCODE = re.compile(r"^\d{5}$")
_WORD_SPLIT = re.compile(r"[^0-9a-z]+")
_NOISE = (
    (re.compile(r"\bc(?:e|é)dex\b(?: ?\d+)?", re.IGNORECASE), " "),   # "75008 Paris Cedex 08"
    (re.compile(r"\b(?:b\.?p\.?|cs|tsa)\s*(?:n[o°]?\s*)?\d+\b", re.IGNORECASE), " "),  # postal boxes
    (re.compile(r"(\d{5})"), r" \1 "),                                # "75011paris"
)


@dataclass(frozen=True)
class Parsed:
    """A name or a query on its way through the steps."""

    #: The text as given (kept for scoring against labels).
    raw: str
    #: Words, once :func:`split_words` ran (before: empty).
    words: tuple[str, ...] = ()
    #: Folded text before splitting.
    text: str = ""
    #: The house number typed (``12``, ``12bis``), once :func:`extract_housenumber` ran.
    housenumber: str | None = None
    #: A five-digit postcode typed, once :func:`extract_postcode` ran.
    postcode: str | None = None

    def key(self) -> str:
        """The words joined by spaces: what is indexed and compared."""
        return " ".join(self.words)


Step = Callable[[Parsed], Parsed]


def run(steps: Iterable[Step], value: str) -> Parsed:
    """Apply ``steps`` in order to ``value``."""
    parsed = Parsed(raw=value or "", text=value or "")
    for step in steps:
        parsed = step(parsed)
    return parsed


# --- steps -----------------------------------------------------------------------------------

def cut_length(parsed: Parsed) -> Parsed:
    """Cut a query to :data:`QUERY_MAX_LENGTH` characters."""
    return replace(parsed, text=parsed.text[:QUERY_MAX_LENGTH])


def remove_noise(parsed: Parsed) -> Parsed:
    """Drop what La Poste adds to an address but the BAN does not hold (CEDEX, BP/CS/TSA boxes)."""
    text = parsed.text
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return replace(parsed, text=text)


def fold(parsed: Parsed) -> Parsed:
    """Lower case, no accents, ligatures spelt out (``Œ`` → ``oe``)."""
    text = parsed.text.lower().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    return replace(parsed, text="".join(c for c in text if not unicodedata.combining(c)))


def split_words(parsed: Parsed) -> Parsed:
    """Words of letters and digits; punctuation, apostrophes and hyphens separate them."""
    return replace(parsed, words=tuple(w for w in _WORD_SPLIT.split(parsed.text) if w))


def glue_ordinal(parsed: Parsed) -> Parsed:
    """``12 bis rue …`` → ``12bis rue …``: a number followed by bis/ter/… or one letter, then a
    street type or the end (else ``12 b`` could be the start of ``12 boulevard``)."""
    words = list(parsed.words)
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        after = words[i + 2] if i + 2 < len(words) else None
        if (word.isdigit() and len(word) <= 4 and nxt is not None
                and (nxt in ORDINALS or (len(nxt) == 1 and nxt.isalpha()))
                and (after is None or after in STREET_TYPES)):
            out.append(word + nxt)
            i += 2
            continue
        out.append(word)
        i += 1
    return replace(parsed, words=tuple(out))


def extract_housenumber(parsed: Parsed) -> Parsed:
    """Take out the house number: the first word if it is a number (``12``, ``12bis``, ``12b``),
    or a number followed by a street type (``résidence X 12 rue …``)."""
    words = list(parsed.words)
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        if _NUMBER.match(word) and (i == 0 or nxt in STREET_TYPES) and not _POSTCODE.match(word):
            if i == 0 and nxt is None:
                break  # a lone number is no address
            del words[i]
            return replace(parsed, words=tuple(words), housenumber=word.lstrip("0") or "0")
    return parsed


def extract_postcode(parsed: Parsed) -> Parsed:
    """Take out a five-digit postcode (the last one typed)."""
    words = list(parsed.words)
    for i in range(len(words) - 1, -1, -1):
        if _POSTCODE.match(words[i]):
            code = words.pop(i)
            return replace(parsed, words=tuple(words), postcode=code)
    return parsed


def expand_synonyms(parsed: Parsed) -> Parsed:
    """Abbreviations → full words (``bd`` → ``boulevard``, ``st`` → ``saint``, see :data:`SYNONYMS`)."""
    out: list[str] = []
    for word in parsed.words:
        out.extend(SYNONYMS.get(word, word).split())
    return replace(parsed, words=tuple(out))


_ORDINAL_WORD = re.compile(r"^(\d{1,3})(?:er|ere|re|e|eme|ieme|em|me)$")


def ordinal_words(parsed: Parsed) -> Parsed:
    """``15ème``, ``15eme``, ``15e`` → ``15e``; ``1ère`` → ``1er`` (arrondissements, ``Rue du 4e Zouaves``)."""
    out = []
    for word in parsed.words:
        match = _ORDINAL_WORD.match(word)
        if match:
            number = match.group(1).lstrip("0") or "0"
            word = "1er" if number == "1" else f"{number}e"
        out.append(word)
    return replace(parsed, words=tuple(out))


def drop_stopwords(parsed: Parsed) -> Parsed:
    """Drop ``de``, ``la``, ``des``… (people skip them, names have them), unless nothing else is left."""
    kept = tuple(w for w in parsed.words if w not in STOPWORDS)
    return replace(parsed, words=kept or parsed.words)


def fold_ordinal(value: str | None) -> str | None:
    """The matching key of a house number: ``12bis`` → ``12b``, ``012`` → ``12``, ``12 B`` → ``12b``."""
    if value is None:
        return None
    value = re.sub(r"\s+", "", str(value).lower())
    match = re.match(r"^0*(\d+)(.*)$", value)
    if not match:
        return value or None
    number, suffix = match.groups()
    return (number or "0") + ORDINALS.get(suffix, suffix)
