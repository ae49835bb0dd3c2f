"""Address search (forward and reverse) in the format of the BAN API (api-adresse.data.gouv.fr).

Forward search, as addok does it but with the streets held in memory:

1. the query goes through :data:`addresses.config.QUERY_STEPS` (house number and postcode taken
   out, words folded, abbreviations expanded);
2. each word is looked up in the words of the street and city names (:class:`StreetIndex`):
   exactly, as a prefix when it is the last word (people type), or with one typo;
3. candidate streets are scored on how much of their name the query covers and how much of
   the query they explain, plus postcode agreement, importance (number of addresses) and, with
   ``lat``/``lon``, closeness;
4. the house number is looked up exactly on the best streets (one indexed query); a street
   without it is answered as ``type: street``.

The streets of one database (a few thousand for a city) are loaded once per process and
reloaded when ``address_streets`` changes (checked at most every :data:`RECHECK_SECONDS`):
a trigram search in PostgreSQL over the same streets took 100-150 ms a query, this 1-2 ms.
Reverse search is a nearest-neighbour query on the GiST index of the address points.
"""
from __future__ import annotations

import math
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from addresses import config
from addresses.text import fold_ordinal, run
from ova.errors import InvalidInput
from ova.settings import WEB_SRID, storage_srid

#: How often (seconds) a process checks whether the streets changed in the database.
RECHECK_SECONDS = 5.0
DEFAULT_LIMIT = 5
MAX_LIMIT = 50
#: A word found in more streets than this only scores candidates found by rarer words.
COMMON_STREETS = 300
#: Streets whose house numbers are looked up (the best ones by text score).
HOUSENUMBER_CANDIDATES = 12
#: Distance (km) at which a given ``lat``/``lon`` stops favouring a result much.
PROXIMITY_KM = 3.0
ATTRIBUTION = "BAN"
LICENCE = "ETALAB-2.0"
TYPES = ("housenumber", "street")
#: Types of the BAN API the portal does not index (communes, lieux-dits): accepted, never found,
#: so that a client asking for them gets an empty collection rather than an error.
OTHER_BAN_TYPES = ("municipality", "locality")

# Weights of the score (they add up to 1, as the BAN's scores stay in [0, 1]).
W_STREET_COVERED = 0.45
W_QUERY_EXPLAINED = 0.35
W_HOUSENUMBER = 0.1
W_IMPORTANCE = 0.05
W_POSTCODE = 0.05
W_PROXIMITY = 0.1  # taken from the text weights when lat/lon are given (as addok's adjust_scores)
EXACT, PREFIX, PREFIX_OF_WORD, TYPO = 1.0, 0.9, 0.8, 0.75
#: Text score (out of W_STREET_COVERED + W_QUERY_EXPLAINED) above which the candidates of the
#: rarest word are enough.
GOOD_TEXT = 0.7


@dataclass
class Street:
    """A street of one commune and postcode, as held in memory."""

    id: int
    name: str
    postcode: str
    citycode: str
    city: str
    words: tuple[str, ...]
    city_words: tuple[str, ...]
    lon: float
    lat: float
    importance: float
    street_key: str
    #: Sum of the weights of ``words`` (set by :class:`StreetIndex`).
    weight: float = 0.0


class StreetIndex:
    """Words → streets, with prefixes (autocomplete) and one-deletion variants (typos)."""

    def __init__(self, streets: list[Street]):
        self.streets = streets
        self.by_word: dict[str, set[int]] = defaultdict(set)
        self.weight: dict[str, float] = {}
        for position, street in enumerate(streets):
            for word in (*street.words, *street.city_words):
                self.by_word[word].add(position)
        total = max(len(streets), 1)
        for word, found in self.by_word.items():
            self.weight[word] = math.log(1 + total / len(found))
        self.max_weight = math.log(1 + total)
        for street in streets:
            street.weight = sum(self.weight[w] for w in street.words) or 1.0
        self.by_prefix: dict[str, set[str]] = defaultdict(set)
        self.by_deletion: dict[str, set[str]] = defaultdict(set)
        for word in self.by_word:
            for end in range(2, len(word)):
                self.by_prefix[word[:end]].add(word)
            if len(word) >= 4:
                for variant in _deletions(word):
                    self.by_deletion[variant].add(word)

    def matches(self, word: str, *, last: bool) -> dict[str, float]:
        """Words of the index ``word`` may stand for, with the quality of the match."""
        found: dict[str, float] = {}
        if word in self.by_word:
            found[word] = EXACT
        if last and len(word) >= 2:
            # A word that exists may be complete: longer words are then less likely.
            quality = PREFIX_OF_WORD if found else PREFIX
            for longer in self.by_prefix.get(word, ()):
                found.setdefault(longer, quality)
        if not found and len(word) >= 4 and not word.isdigit():
            for variant in (word, *_deletions(word)):
                for candidate in self.by_deletion.get(variant, ()):
                    if _one_edit(word, candidate):
                        found.setdefault(candidate, TYPO)
                if variant in self.by_word and _one_edit(word, variant):
                    found.setdefault(variant, TYPO)
        return found


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


# --- the per-process cache of the street index -------------------------------------------------

_LOCK = threading.Lock()
_CACHE: dict[str, tuple[StreetIndex, tuple, float]] = {}

_SIGNATURE = "SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM address_streets"
_STREETS = f"""
    SELECT id, street, postcode, citycode, city, street_key, search, address_count,
           ST_X(ST_Transform(geom, {WEB_SRID})) AS lon, ST_Y(ST_Transform(geom, {WEB_SRID})) AS lat
    FROM address_streets ORDER BY id"""


def street_index(conn: Connection, *, recheck: float = RECHECK_SECONDS) -> StreetIndex:
    """The street index of ``conn``'s database, rebuilt when its streets changed (checked when
    the last check is more than ``recheck`` seconds old)."""
    key = conn.engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    cached = _CACHE.get(key)
    if cached and now - cached[2] < recheck:
        return cached[0]
    signature = tuple(conn.execute(text(_SIGNATURE)).one())
    if cached and cached[1] == signature:
        _CACHE[key] = (cached[0], signature, now)
        return cached[0]
    with _LOCK:
        rows = conn.execute(text(_STREETS)).mappings().all()
        most = max((r["address_count"] for r in rows), default=1)
        streets = [Street(id=r["id"], name=r["street"], postcode=r["postcode"], citycode=r["citycode"],
                          city=r["city"], words=tuple(r["street_key"].split()),
                          city_words=tuple(r["search"][len(r["street_key"]):].split()),
                          lon=r["lon"], lat=r["lat"], street_key=r["street_key"],
                          importance=math.log1p(r["address_count"]) / math.log1p(most)) for r in rows]
        index = StreetIndex(streets)
        _CACHE[key] = (index, signature, now)
    return index


# --- forward search ---------------------------------------------------------------------------

@dataclass
class _Candidate:
    street: Street
    score: float
    text: float
    housenumber: dict | None = None


def _score_streets(index: StreetIndex, words: tuple[str, ...], postcode: str | None) -> list[_Candidate]:
    """Text score of the streets the query words find (see module docstring)."""
    if not words:
        return []
    matched = [index.matches(word, last=i == len(words) - 1) for i, word in enumerate(words)]
    # The weight of a query word: that of the word itself when the index has it, else of the
    # rarest word it may stand for (a prefix or a typo); a match counts quality × that weight,
    # so that a rare longer word ("citerne") never outweighs the word typed ("cite").
    query_weights = [index.weight[words[i]] if words[i] in index.weight
                     else max((index.weight[w] for w in found), default=index.max_weight)
                     for i, found in enumerate(matched)]
    # Per query word: (streets holding a word it matches, quality × weight), best first.
    per_word = [sorted(((index.by_word[w], q * query_weights[i]) for w, q in found.items()), key=lambda p: -p[1])
                for i, found in enumerate(matched)]
    quality: dict[str, float] = {}  # index word → best quality any query word matched it with
    for found in matched:
        for word, value in found.items():
            quality[word] = max(quality.get(word, 0.0), value)
    # Candidates come from the rarest words (the two with the fewest streets), as addok starts
    # from its least common tokens; common words ("rue", "paris") only add to their scores.
    sizes = sorted((sum(len(streets) for streets, _ in pairs), i) for i, pairs in enumerate(per_word) if pairs)
    if not sizes:
        return []
    rare = [i for size, i in sizes[:2] if size <= COMMON_STREETS]
    context = (index, per_word, quality, sum(query_weights), postcode)
    if not rare:
        everywhere = set.intersection(*(set().union(*(s for s, _ in per_word[i])) for _, i in sizes))
        return _ranked(everywhere, context)
    first = set().union(*(streets for streets, _ in per_word[rare[0]]))
    scored = _ranked(first, context)
    if len(rare) > 1 and (not scored or scored[0].text < GOOD_TEXT):
        # The rarest word may be noise (a name that is not the street's): widen to the next one.
        scored = _ranked(first.union(*(streets for streets, _ in per_word[rare[1]])), context)
    return scored


def _ranked(candidates: set[int], context) -> list[_Candidate]:
    index, per_word, quality, query_total, postcode = context
    scored = []
    for position in candidates:
        street = index.streets[position]
        covered = sum(index.weight[w] * quality.get(w, 0.0) for w in street.words)
        if not covered:
            continue  # only the city matched: not this street
        explained = sum(next((value for streets, value in pairs if position in streets), 0.0) for pairs in per_word)
        text_score = W_STREET_COVERED * covered / street.weight + W_QUERY_EXPLAINED * explained / query_total
        score = text_score + W_IMPORTANCE * street.importance
        if postcode:
            score += W_POSTCODE if street.postcode == postcode else -W_POSTCODE
        else:
            score += W_POSTCODE / 2
        scored.append(_Candidate(street, score, text_score))
    scored.sort(key=lambda c: (-c.score, c.street.id))
    return scored


_HOUSENUMBERS = text(f"""
    SELECT a.external_id, a.housenumber, a.citycode, coalesce(a.postcode, '') AS postcode, a.street_key,
           ST_X(ST_Transform(a.geom, {WEB_SRID})) AS lon, ST_Y(ST_Transform(a.geom, {WEB_SRID})) AS lat,
           ST_X(a.geom) AS x, ST_Y(a.geom) AS y
    FROM addresses a
    WHERE a.citycode = ANY(:citycodes) AND a.street_key = ANY(:keys) AND a.housenumber_key = ANY(:numbers)
    ORDER BY a.id""").bindparams(bindparam("citycodes"), bindparam("keys"), bindparam("numbers"))


def _attach_housenumbers(conn: Connection, candidates: list[_Candidate], housenumber: str) -> None:
    """Set ``housenumber`` on the candidates where the number exists (exact match, bis = b)."""
    rows = conn.execute(_HOUSENUMBERS, {
        "citycodes": sorted({c.street.citycode for c in candidates}),
        "keys": sorted({c.street.street_key for c in candidates}),
        "numbers": [fold_ordinal(housenumber)]}).mappings().all()
    found = {(r["citycode"], r["postcode"], r["street_key"]): r for r in rows}
    for candidate in candidates:
        street = candidate.street
        candidate.housenumber = found.get((street.citycode, street.postcode, street.street_key))


def search(conn: Connection, q: str | None, *, limit: int = DEFAULT_LIMIT, lat: float | None = None,
           lon: float | None = None, citycode: str | None = None, postcode: str | None = None,
           type: str | None = None, recheck: float = RECHECK_SECONDS) -> dict:
    """Addresses matching ``q``: a BAN API FeatureCollection, best first (see module docstring).

    Parameters
    ----------
    limit : number of results (1 to :data:`MAX_LIMIT`).
    lat, lon : favour results near this point (WGS 84).
    citycode, postcode : keep only results in this commune (INSEE code) or postcode.
    type : ``housenumber`` or ``street`` to keep only that kind of result.
    recheck : seconds after which the street index is checked against the database again.
    """
    q = (q or "").strip()
    if len(q) < 3 or not any(c.isalnum() for c in q):
        raise InvalidInput("q must contain at least 3 characters and a letter or digit")
    _check_limit(limit)
    if type is not None and type not in TYPES + OTHER_BAN_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(TYPES + OTHER_BAN_TYPES)}")
    parsed = run(config.steps(config.QUERY_STEPS), q)
    index = street_index(conn, recheck=recheck)
    candidates = [] if type in OTHER_BAN_TYPES else _score_streets(index, parsed.words, parsed.postcode or postcode)
    if citycode:
        candidates = [c for c in candidates if c.street.citycode == citycode]
    if postcode:
        candidates = [c for c in candidates if c.street.postcode == postcode]
    near = lat is not None and lon is not None
    if near:
        for c in candidates:
            c.score = c.score * (1 - W_PROXIMITY) + W_PROXIMITY * _closeness(c.street.lat, c.street.lon, lat, lon)
        candidates.sort(key=lambda c: (-c.score, c.street.id))
    best = candidates[:max(HOUSENUMBER_CANDIDATES, limit)]
    features = []
    if parsed.housenumber and best and type != "street":
        _attach_housenumbers(conn, best, parsed.housenumber)
        for c in best:
            # Found: the number confirms the street; missing: the street alone, scored lower.
            c.score += W_HOUSENUMBER if c.housenumber else -W_HOUSENUMBER / 2
        best.sort(key=lambda c: (-c.score, c.street.id))
    elif not parsed.housenumber:
        for c in best:
            c.score += W_HOUSENUMBER / 2
    for c in best:
        if type == "housenumber" and not c.housenumber:
            continue
        features.append(_feature(c, lat, lon) if near else _feature(c))
        if len(features) == limit:
            break
    return {"type": "FeatureCollection", "version": "draft", "features": features,
            "attribution": ATTRIBUTION, "licence": LICENCE, "query": q, "limit": limit,
            "filters": {k: v for k, v in (("citycode", citycode), ("postcode", postcode), ("type", type)) if v},
            **({"center": [lon, lat]} if near else {})}


def _closeness(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    return math.exp(-((_km(a_lat, a_lon, b_lat, b_lon) / PROXIMITY_KM) ** 2))


def _km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Haversine distance in km."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lon - a_lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _feature(c: _Candidate, lat: float | None = None, lon: float | None = None) -> dict:
    street = c.street
    props = {"street": street.name, "postcode": street.postcode or None, "citycode": street.citycode,
             **_city(street.city), "context": street.citycode[:2], "importance": round(street.importance, 5)}
    if c.housenumber:
        h = c.housenumber
        name = f"{h['housenumber']} {street.name}"
        props.update(id=h["external_id"], housenumber=h["housenumber"], type="housenumber", name=name,
                     x=round(h["x"], 2), y=round(h["y"], 2))
        point = (h["lon"], h["lat"])
    else:
        name = street.name
        props.update(id=f"{street.citycode}_{street.id}", type="street", name=name)
        point = (street.lon, street.lat)
    props["label"] = " ".join(p for p in (name, street.postcode, props["city"]) if p)
    props["score"] = round(max(0.0, min(1.0, c.score)), 4)
    if lat is not None and lon is not None:
        props["distance"] = round(_km(point[1], point[0], lat, lon) * 1000)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(point[0], 6), round(point[1], 6)]},
            "properties": {k: v for k, v in props.items() if v is not None}}


_ARRONDISSEMENT = re.compile(r"^(?P<city>.+?) \d{1,2}(?:er|e) Arrondissement$")


def _city(name: str) -> dict:
    """``city`` and, for Paris, Lyon and Marseille, ``district`` as the BAN API gives them
    (the BAN files name the arrondissement: ``Paris 4e Arrondissement`` → city ``Paris``)."""
    match = _ARRONDISSEMENT.match(name or "")
    return {"city": match.group("city"), "district": name} if match else {"city": name}


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")


# --- reverse search ---------------------------------------------------------------------------

_REVERSE = {
    "housenumber": f"""
        WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), {WEB_SRID}), CAST(:srid AS integer)) AS g)
        SELECT a.external_id AS id, a.housenumber, a.street, a.postcode, a.citycode, a.city,
               ST_X(ST_Transform(a.geom, {WEB_SRID})) AS lon, ST_Y(ST_Transform(a.geom, {WEB_SRID})) AS lat,
               ST_X(a.geom) AS x, ST_Y(a.geom) AS y, ST_Distance(a.geom, p.g) AS distance
        FROM p, LATERAL (SELECT * FROM addresses a ORDER BY a.geom <-> p.g LIMIT :limit) a
        ORDER BY distance, a.id""",
    "street": f"""
        WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), {WEB_SRID}), CAST(:srid AS integer)) AS g)
        SELECT s.citycode || '_' || s.id AS id, NULL AS housenumber, s.street, nullif(s.postcode, '') AS postcode,
               s.citycode, s.city, ST_X(ST_Transform(s.geom, {WEB_SRID})) AS lon,
               ST_Y(ST_Transform(s.geom, {WEB_SRID})) AS lat, ST_X(s.geom) AS x, ST_Y(s.geom) AS y,
               ST_Distance(s.geom, p.g) AS distance
        FROM p, LATERAL (SELECT * FROM address_streets s ORDER BY s.geom <-> p.g LIMIT :limit) s
        ORDER BY distance, s.id""",
}
#: Distance (m) at which a reverse result's score falls to 1/e.
REVERSE_SCALE_M = 200.0


def reverse(conn: Connection, lon: float, lat: float, *, limit: int = 1, type: str | None = None) -> dict:
    """The addresses nearest to ``lon``/``lat`` (WGS 84), nearest first, with their ``distance`` (m)."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("lon must be in [-180, 180] and lat in [-90, 90]")
    _check_limit(limit)
    if type is not None and type not in TYPES:
        raise InvalidInput(f"type must be one of {', '.join(TYPES)}")
    rows = conn.execute(text(_REVERSE[type or "housenumber"]),
                        {"lon": lon, "lat": lat, "limit": limit, "srid": storage_srid()}).mappings()
    features = []
    for r in rows:
        name = f"{r['housenumber']} {r['street']}" if r["housenumber"] else r["street"]
        city = _city(r["city"])
        props = {"label": " ".join(p for p in (name, r["postcode"], city["city"]) if p),
                 "score": round(math.exp(-r["distance"] / REVERSE_SCALE_M), 4),
                 "housenumber": r["housenumber"], "id": r["id"], "type": "housenumber" if r["housenumber"] else "street",
                 "name": name, "postcode": r["postcode"], "citycode": r["citycode"], "x": round(r["x"], 2),
                 "y": round(r["y"], 2), **city, "context": r["citycode"][:2], "street": r["street"],
                 "distance": round(r["distance"])}
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [round(r["lon"], 6), round(r["lat"], 6)]},
                         "properties": {k: v for k, v in props.items() if v is not None}})
    return {"type": "FeatureCollection", "version": "draft", "features": features, "attribution": ATTRIBUTION,
            "licence": LICENCE, "limit": limit,
            **({"filters": {"type": type}} if type else {}), "center": [lon, lat]}


# --- helpers of the report form ---------------------------------------------------------------

#: Score a typed address must reach to place a report without a click on the map.
PLACE_MIN_SCORE = 0.7
#: A click farther than this (m) from every address gets no address.
NEAREST_MAX_M = 150.0


def locate(conn: Connection, q: str | None, *, min_score: float = PLACE_MIN_SCORE) -> dict | None:
    """The house number ``q`` designates, when the best answer is one and scores ``min_score``
    (a street alone is too vague to place a report on): a GeoJSON Feature, else None."""
    if not q or len(q.strip()) < 3:
        return None
    try:
        found = search(conn, q, limit=1)["features"]
    except InvalidInput:
        return None
    if found and found[0]["properties"]["type"] == "housenumber" and found[0]["properties"]["score"] >= min_score:
        return found[0]
    return None


def nearest(conn: Connection, lon: float, lat: float, *, within_m: float = NEAREST_MAX_M) -> dict | None:
    """The address nearest to ``lon``/``lat`` when it is within ``within_m`` metres, else None."""
    found = reverse(conn, lon, lat, limit=1)["features"]
    if found and found[0]["properties"]["distance"] <= within_m:
        return found[0]
    return None
