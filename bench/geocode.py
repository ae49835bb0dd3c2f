"""Geocoder benchmark (on demand, never run by ``make test``): the portal's address search
against addok, the BAN's own open-source geocoder, on the same addresses and the same queries.

Both engines index the shipped BAN file (geodata/basemap/paris_ban_adresses-75.csv): the portal
through ``ova load addresses`` into PostGIS, addok (with addok-france and addok-fr, configured as
the BAN's production ``addok.conf``) into a dedicated Redis database, as one document per street
with its house numbers, as the BAN's addok export is. Then ``--queries`` addresses drawn at random
(``--seed``) become queries written the way people type them, one variant per address in turn:

* ``label``: the full label, ``12 Rue de la Paix 75002 Paris``;
* ``lower``: lower case, no accents, no postcode nor city;
* ``abbrev``: street types and titles abbreviated (``bd``, ``av``, ``r``, ``pl``, ``fg``, ``st``…);
* ``typo``: one typo (a letter dropped, doubled, swapped or replaced) in the longest word;
* ``no_stopwords``: ``de``/``la``/``du``… left out, city typed (``12 rue paix paris``);
* ``ordinal``: ``bis``/``ter`` spelt out after the number (``12 bis rue …``; Paris publishes ``b``);
* ``wrong_city``: the postcode of the neighbouring arrondissement;
* ``typing``: the last word cut as while typing (addok called with autocomplete, as its API does by
  default).

For each engine: precision@1 (the first result within 30 m of the address), the share of first
results of type housenumber, and median / p95 latency of an in-process call (the portal's
``addresses.search.search`` on one PostgreSQL connection, addok's ``addok.core.search`` on Redis),
the two calls alternating query by query so that both see the same machine load. Ratios are
portal / addok. Usage::

    python bench/geocode.py [--queries 2000] [--seed 1]

Environment: ``BENCH_DATABASE_URL`` (default ``postgresql://ova:ova@127.0.0.1:5432/ova_bench_geocode``,
created with PostGIS when missing); ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/13``): the
Redis database addok uses; it is flushed (that database only) before indexing.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serve import ensure_database  # noqa: E402  (bench/serve.py)

DEFAULT_URL = "postgresql://ova:ova@127.0.0.1:5432/ova_bench_geocode"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
BAN_FILE = ROOT / "geodata" / "basemap" / "paris_ban_adresses-75.csv"
WITHIN_M = 30.0
VARIANTS = ("label", "lower", "abbrev", "typo", "no_stopwords", "ordinal", "wrong_city", "typing")
ABBREVIATIONS = {"boulevard": "bd", "avenue": "av", "rue": "r", "place": "pl", "faubourg": "fg",
                 "saint": "st", "sainte": "ste", "impasse": "imp", "square": "sq", "passage": "pass",
                 "general": "gal", "marechal": "mal", "docteur": "dr", "quai": "qu"}
STOPWORDS = {"de", "du", "des", "la", "le", "les", "l", "d"}
REP_WORDS = {"b": "bis", "t": "ter", "q": "quater"}

#: addok as the BAN runs it (addok.conf of api-adresse.data.gouv.fr, with addok-france and addok-fr).
ADDOK_CONF = """
ATTRIBUTION = "BAN"
LICENCE = "ETALAB-2.0"
EXTRA_FIELDS = [{"key": "citycode"}]
FILTERS = ["type", "citycode", "postcode"]
QUERY_PROCESSORS_PYPATHS = [
    "addok.helpers.text.check_query_length",
    "addok_france.extract_address",
    "addok_france.clean_query",
    "addok_france.remove_leading_zeros",
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    "addok.helpers.results.match_housenumber",
    "addok_france.make_labels",
    "addok.helpers.results.score_by_importance",
    "addok.helpers.results.score_by_autocomplete_distance",
    "addok.helpers.results.score_by_ngram_distance",
    "addok.helpers.results.score_by_geo_distance",
]
PROCESSORS_PYPATHS = [
    "addok.helpers.text.tokenize",
    "addok.helpers.text.normalize",
    "addok_france.glue_ordinal",
    "addok_france.fold_ordinal",
    "addok_france.flag_housenumber",
    "addok.helpers.text.synonymize",
    "addok_fr.phonemicize",
]
BATCH_WORKERS = 1
"""


def log(msg: str) -> None:
    print(msg, flush=True)


def read_ban(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


# --- queries ---------------------------------------------------------------------------------

def _ascii(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))


def _short_city(row: dict) -> str:
    return "Paris" if row["code_insee"].startswith("751") else row["nom_commune"]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "double", "swap", "replace"))
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap":
        return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    letters = "aeiourstnl".replace(word[i], "")
    return word[:i] + rng.choice(letters) + word[i + 1:]


def make_query(row: dict, variant: str, rng: random.Random) -> tuple[str, bool]:
    """The query of ``variant`` for the address ``row``, and whether it is typed as it is typed
    (autocomplete)."""
    number = row["numero"] + row["rep"]
    street = row["nom_voie"]
    folded = _ascii(street).lower().replace("-", " ").replace("'", " ")
    if variant == "label":
        return f"{number} {street} {row['code_postal']} {_short_city(row)}", False
    if variant == "lower":
        return f"{number} {folded}", False
    if variant == "abbrev":
        words = [ABBREVIATIONS.get(w, w) for w in folded.split()]
        return f"{number} {' '.join(words)} {row['code_postal']}", False
    if variant == "typo":
        words = folded.split()
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        if len(words[longest]) >= 5:
            words[longest] = _typo(words[longest], rng)
        return f"{number} {' '.join(words)} {_short_city(row).lower()}", False
    if variant == "no_stopwords":
        kept = [w for w in folded.split() if w not in STOPWORDS]
        return f"{number} {' '.join(kept)} paris", False
    if variant == "ordinal":
        rep = REP_WORDS.get(row["rep"], row["rep"])
        return f"{row['numero']} {rep} {street}".replace("  ", " "), False
    if variant == "wrong_city":
        code = int(row["code_postal"])
        other = code + 1 if code % 100 < 20 else code - 1
        return f"{number} {street} {other:05d} Paris", False
    if variant == "typing":
        words = f"{number} {folded}".split()
        last = words[-1]
        if len(last) > 4:
            words[-1] = last[:max(3, int(len(last) * 0.6))]
        return " ".join(words), True
    raise ValueError(variant)


def sample(rows: list[dict], count: int, seed: int) -> list[tuple[dict, str, str, bool]]:
    rng = random.Random(seed)
    picked = rng.sample(rows, min(count, len(rows)))
    out = []
    for i, row in enumerate(picked):
        variant = VARIANTS[i % len(VARIANTS)]
        query, typing = make_query(row, variant, rng)
        out.append((row, variant, query, typing))
    return out


# --- the two engines -------------------------------------------------------------------------

def prepare_portal(url: str) -> None:
    """Schema and the BAN file loaded (the loader is idempotent: a second run changes nothing)."""
    ensure_database(url)
    env = dict(os.environ, DATABASE_URL=url)
    ova = str(Path(sys.executable).parent / "ova")
    subprocess.run([ova, "db", "upgrade"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    done = subprocess.run([ova, "load", "addresses", str(BAN_FILE), "--reject-file", os.devnull], check=True,
                          env=env, cwd=ROOT, capture_output=True, text=True)
    log(f"portal: ova load addresses in {time.perf_counter() - started:.1f} s: {done.stdout.splitlines()[1]}")


def addok_documents(rows: list[dict]):
    """One addok document per street (commune, postcode, name) with its house numbers."""
    streets: dict[tuple, dict] = {}
    for row in rows:
        key = (row["code_insee"], row["code_postal"], row["nom_voie"])
        doc = streets.get(key)
        if doc is None:
            doc = streets[key] = {"id": f"{row['code_insee']}_{len(streets)}", "type": "street",
                                  "name": row["nom_voie"], "postcode": row["code_postal"],
                                  "citycode": row["code_insee"], "city": row["nom_commune"],
                                  "context": "75, Paris, Île-de-France", "housenumbers": {}, "_points": []}
        doc["housenumbers"][row["numero"] + row["rep"]] = {"lat": float(row["lat"]), "lon": float(row["lon"]),
                                                           "id": row["id"]}
        doc["_points"].append((float(row["lon"]), float(row["lat"])))
    most = max(len(d["housenumbers"]) for d in streets.values())
    for doc in streets.values():
        points = doc.pop("_points")
        cx = sum(p[0] for p in points) / len(points)
        cy = sum(p[1] for p in points) / len(points)
        doc["lon"], doc["lat"] = min(points, key=lambda p: (p[0] - cx) ** 2 + (p[1] - cy) ** 2)
        # The same importance as the portal's: the street's share of addresses (log scale).
        doc["importance"] = round(math.log1p(len(doc["housenumbers"])) / math.log1p(most), 5)
        yield json.dumps(doc, ensure_ascii=False)


def prepare_addok(redis_url: str, rows: list[dict]):
    """Configure addok on ``redis_url`` (its db number only, flushed), index the streets; returns
    addok's ``search``."""
    parsed = urllib.parse.urlparse(redis_url)
    db = int(parsed.path.lstrip("/") or 0)
    conf = Path(tempfile.mkdtemp(prefix="ova-addok-")) / "addok_conf.py"
    conf.write_text(ADDOK_CONF + f"REDIS = {{'host': {parsed.hostname!r}, 'port': {parsed.port or 6379}, "
                    f"'indexes': {{'db': {db}}}, 'documents': {{'db': {db}}}}}\n", encoding="utf-8")
    os.environ["ADDOK_CONFIG_MODULE"] = str(conf)
    from addok.config import config

    config.load()
    from addok.autocomplete import create_edge_ngrams
    from addok.batch import batch
    from addok.core import search
    from addok.db import DB

    DB.flushdb()  # addok's indexes and documents share this one database
    started = time.perf_counter()
    config.INDEX_EDGE_NGRAMS = False  # as `addok batch`, then `addok ngrams`
    batch(addok_documents(rows))
    create_edge_ngrams()
    log(f"addok: indexed {DB.dbsize()} Redis keys (db {db}) in {time.perf_counter() - started:.1f} s")
    return search


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    rows = read_ban(BAN_FILE)
    log(f"{BAN_FILE.name}: {len(rows)} addresses")
    prepare_portal(url)
    addok_search = prepare_addok(redis_url, rows)

    from addresses.search import search as portal_search
    from ova.db import make_engine

    queries = sample(rows, args.queries, args.seed)
    engine = make_engine(url, application_name="bench-geocode")
    results = {"portal": defaultdict(list), "addok": defaultdict(list)}
    with engine.connect() as conn:
        portal_search(conn, "rue de rivoli")  # the street index is built once per process
        addok_search("rue de rivoli", limit=5)

        def run_portal(query: str, typing: bool):
            found = portal_search(conn, query, limit=5)["features"]
            if not found:
                return None
            lon, lat = found[0]["geometry"]["coordinates"]
            return lon, lat, found[0]["properties"]["type"]

        def run_addok(query: str, typing: bool):
            found = addok_search(query, limit=5, autocomplete=typing)
            if not found:
                return None
            return float(found[0].lon), float(found[0].lat), getattr(found[0], "type", None) or "street"

        for i, (row, variant, query, typing) in enumerate(queries):
            order = (("portal", run_portal), ("addok", run_addok))
            for name, run in (order if i % 2 == 0 else order[::-1]):
                started = time.perf_counter()
                best = run(query, typing)
                elapsed = (time.perf_counter() - started) * 1000
                hit = best is not None and _metres(best[0], best[1], float(row["lon"]), float(row["lat"])) <= WITHIN_M
                for bucket in ("all", variant):
                    results[name][bucket].append((hit, elapsed, best is not None and best[2] == "housenumber"))
        conn.rollback()
    engine.dispose()

    log(f"\n{len(queries)} queries ({len(queries) // len(VARIANTS)} per variant), precision@1 within "
        f"{WITHIN_M:.0f} m; latency of an in-process call (ms); ratio = portal / addok")
    log(f"{'variant':<13} {'portal P@1':>10} {'addok P@1':>10} {'portal p50':>10} {'addok p50':>10} "
        f"{'portal p95':>10} {'addok p95':>10} {'p50 ratio':>9}")
    for bucket in ("all", *VARIANTS):
        line = [f"{bucket:<13}"]
        stats = {}
        for name in ("portal", "addok"):
            hits = results[name][bucket]
            stats[name] = (sum(h for h, _, _ in hits) / len(hits), statistics.median(t for _, t, _ in hits),
                           percentile([t for _, t, _ in hits], 0.95))
        line.append(f"{stats['portal'][0]:>10.1%} {stats['addok'][0]:>10.1%}")
        line.append(f"{stats['portal'][1]:>10.2f} {stats['addok'][1]:>10.2f}")
        line.append(f"{stats['portal'][2]:>10.2f} {stats['addok'][2]:>10.2f}")
        line.append(f"{stats['portal'][1] / stats['addok'][1]:>9.2f}")
        log(" ".join(line))
    portal, addok = results["portal"]["all"], results["addok"]["all"]
    p_prec = sum(h for h, _, _ in portal) / len(portal)
    a_prec = sum(h for h, _, _ in addok) / len(addok)
    p_med = statistics.median(t for _, t, _ in portal)
    a_med = statistics.median(t for _, t, _ in addok)
    ok = p_prec >= a_prec and p_med <= a_med
    log(f"\ntarget (precision >= addok's, median <= addok's): {'met' if ok else 'NOT met'} "
        f"(precision {p_prec:.1%} vs {a_prec:.1%}, median {p_med:.2f} ms vs {a_med:.2f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
