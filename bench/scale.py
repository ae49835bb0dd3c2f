"""Scale benchmark: ten years of a metropolis on one server (issue #19; on demand, never in ``make test``).

For each size (``--sizes``, default 1 000 000 and 10 000 000 incidents: seeded, uniform over the
Paris extent, 10 years of reports) it builds its own database ``<base>_<size>`` (migrated,
seeded, Paris quartiers, the quality norms, 40 priority zones, the catalogue layers) and times

* the first load: ``ova load incidents`` of a generated French CSV (the real loader: validation,
  placement, deadlines, merge, compliance), file generated with ``bench/etl.py``'s seeded recipe;
* a monthly load: ``ova load incidents`` of 80 000 new reports (the month after the ten years)
  into the full table;
* the full compliance recompute (``norms.engine.compute_all``) and the incremental one after
  1 000 new reports (placement + deadlines + ``recompute``, then ``recompute`` alone, median of 5;
  rolled back);
* OGC items (bbox + limit 100) and single item req/s, against a minimal psycopg WSGI endpoint
  running the same SQL (``bench/serve.py``'s machinery: gunicorn sync workers + wrk, the two
  alternating in rounds);
* the worst tile per zoom z8–z16 of ``signalements`` (bytes, ms with the tile cache cold, ms
  cached) over HTTP from a one-worker portal, so the second request hits the cache;
* the home page, the busiest quartier's page and the ``/normes`` pages (ms: median of 3 warm
  requests, bytes);
* the indicators recompute (``ova indicators compute``) and the database size;

then prints one markdown table: per size, the ratio of the largest to the smallest size, the
issue's target and met/MISSED. Results are kept as JSON next to the databases' data
(``var/bench-scale/``), so a run can be resumed: ``--keep`` reuses a database already holding the
size's rows (and its recorded first-load time) instead of rebuilding it. Progress goes to stderr.

Usage::

    nice -n 10 .venv/bin/python bench/scale.py [--sizes 1000000,10000000] [--keep]
        [--base-url postgresql://ova:ova@127.0.0.1:5432/ova_scale_bench] [--steps load,monthly,...]
        [--tag before|after] [--table-only]

A before/after pair: run ``--keep --steps monthly,tiles --tag before`` from a checkout of the
previous code (``PYTHONPATH`` and the working directory there: the loader and gunicorn then import
it), then ``--keep --tag after`` here; a tagged run reuses the first load recorded untagged.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_module(name: str):
    """``bench/<name>.py`` as a module (the folder is no package, and ``etl`` is the loader's)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_etl = _bench_module("etl")  # the same seeded points as bench/etl.py
CATEGORIES, PARIS_EXTENT = _etl.CATEGORIES, _etl.PARIS_EXTENT

DEFAULT_BASE = "postgresql://ova:ova@127.0.0.1:5432/ova_scale_bench"
RESULTS = ROOT / "var" / "bench-scale"
#: Ten years of reports ending before the monthly load's month, itself in the past.
FIRST_START = dt.datetime(2016, 10, 1)
FIRST_STOP = dt.datetime(2026, 10, 1)
MONTH_STOP = dt.datetime(2026, 11, 1)
MONTHLY_ROWS = 80_000
INCREMENTAL_ROWS = 1_000
AS_OF = dt.datetime(2026, 11, 15, tzinfo=dt.timezone.utc)
ZOOMS = range(8, 17)
CENTRE = (2.3470, 48.8590)  # Châtelet: every tile around it is full of points
#: bench/etl.py's mapping, and the resolution dates this benchmark's files carry.
MAPPING = _etl.MAPPING + "  resolved_at: date_resolution\n"
STEPS = ("load", "monthly", "compliance", "serve", "tiles", "pages", "indicators", "size")


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


# --------------------------------------------------------------------------------------------
# data: the seeded file (bench/etl.py's recipe: uniform points in the Paris extent, the bench
# categories, three descriptions), over ten years, with resolution dates, written in chunks


def generate_csv(rows: int, path: Path, *, prefix: str, start: dt.datetime, stop: dt.datetime,
                 seed: int = 42, chunk: int = 1_000_000) -> None:
    """A French CSV (``;``, decimal comma, CP1252) of ``rows`` seeded reports in [start, stop)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    west, south, east, north = PARIS_EXTENT
    span = int((stop - start).total_seconds() // 60)
    latest = np.datetime64(dt.datetime.now().replace(microsecond=0) - dt.timedelta(days=1), "m")
    labels = np.array(["Dépôt près de l'école", "Tag sur façade", "Lampadaire éteint"])
    with open(path, "w", encoding="cp1252", newline="") as out:
        for first in range(0, rows, chunk):
            n = min(chunk, rows - first)
            lon = rng.uniform(west, east, n)
            lat = rng.uniform(south, north, n)
            reported = np.datetime64(start, "m") + np.sort(rng.integers(0, span, n)).astype("timedelta64[m]")
            # resolution delays log-normal around two days; 3 % still open; none in the future
            delay = np.exp(rng.normal(np.log(40), 0.8, n)) * 60
            resolved = reported + delay.astype("int64").astype("timedelta64[m]")
            open_ = (rng.random(n) < 0.03) | (resolved > latest)
            frame = pd.DataFrame({
                "id": np.char.add(prefix, np.arange(first, first + n).astype(str)),
                "categorie": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
                "libelle": labels[rng.integers(0, 3, n)],
                "date_signalement": np.datetime_as_string(reported, unit="m"),
                "date_resolution": np.where(open_, "", np.datetime_as_string(resolved, unit="m")),
                "lon": np.char.replace(np.char.mod("%.6f", lon), ".", ","),
                "lat": np.char.replace(np.char.mod("%.6f", lat), ".", ","),
            })
            for column in ("date_signalement", "date_resolution"):
                frame[column] = frame[column].str.replace("T", " ")
            frame.to_csv(out, sep=";", index=False, header=first == 0)
            log(f"  generated {first + n:,} / {rows:,} rows of {path.name}")


# --------------------------------------------------------------------------------------------
# database


def psql(url: str, statement: str) -> str:
    return subprocess.run(["psql", "-X", "-q", "-At", url, "-c", statement], check=True,
                          capture_output=True, text=True).stdout.strip()


def create_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = ["runuser", "-u", "postgres", "--"]
    subprocess.run(admin + ["dropdb", "-h", "/var/run/postgresql", "--if-exists", u.database], check=True)
    subprocess.run(admin + ["createdb", "-h", "/var/run/postgresql", "-O", u.username, u.database], check=True)
    subprocess.run(admin + ["psql", "-q", "-h", "/var/run/postgresql", "-d", u.database, "-c",
                            "CREATE EXTENSION postgis"], check=True)


def ova(url: str, *args: str) -> tuple[float, str]:
    """Run ``ova ARGS`` on ``url``; return (seconds, output)."""
    env = dict(os.environ, DATABASE_URL=url, CI="true")
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "ova"), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"ova {' '.join(args)} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return elapsed, (done.stdout + done.stderr).strip()


_ZONES = """
    INSERT INTO priority_zones (code, name, quartier_id, valid_from, status, source, geom)
    SELECT 'BENCH-' || q.code, 'Zone ' || q.name, q.id, DATE '2016-01-01', 'approved', 'bench',
           ST_Multi(ST_Buffer(ST_PointOnSurface(q.geom), 250))
    FROM quartiers q ORDER BY q.code LIMIT 40
"""


def prepare_database(url: str) -> None:
    """Schema (``ova db upgrade``), reference data (``ova seed``), quartiers, norms, zones, layers."""
    from sqlalchemy import text

    from etl.targets import load
    from layers.catalogue import seed_layers
    from norms.seeding import seed_norms
    from ova.db import make_engine

    ova(url, "db", "upgrade")
    ova(url, "seed")
    engine = make_engine(url)
    seed_norms(engine)
    load(engine, "quartiers", ROOT / "geodata/paris/paris_quartiers_administratifs.geojson", preset="paris-quartiers")
    seed_layers(engine)
    with engine.begin() as conn:
        conn.execute(text(_ZONES))
    engine.dispose()


def bench_rows(url: str) -> int:
    try:
        return int(psql(url, "SELECT count(*) FROM incidents WHERE source = 'bench' AND external_id LIKE 'S%'"))
    except subprocess.CalledProcessError:
        return -1


def vacuum(url: str) -> None:
    psql(url, "VACUUM ANALYZE incidents")
    psql(url, "VACUUM ANALYZE compliance_results")


def load_output(output: str) -> dict:
    """The interesting lines of ``ova load``'s summary."""
    lines = [line.strip() for line in output.splitlines()]
    return {"seconds_line": next((line for line in lines if line.startswith("seconds:")), ""),
            "bulk": any("bulk write: indexes" in line for line in lines),
            "tail": lines[-12:]}


def step_load(url: str, size: int, data: Path, keep: bool, previous: dict) -> dict:
    """The first load of ``size`` reports (or, with --keep, the recorded one when still loaded)."""
    if keep and bench_rows(url) == size and "first_load_s" in previous:
        log(f"--keep: {size:,} rows already loaded, first load recorded at {previous['first_load_s']:.0f} s")
        return {k: previous[k] for k in ("first_load_s", "first_load", "first_load_loadavg") if k in previous}
    path = data / f"scale_{size}.csv"
    if not path.exists():
        log(f"generating {size:,} reports over ten years…")
        generate_csv(size, path.with_suffix(".tmp"), prefix="S", start=FIRST_START, stop=FIRST_STOP)
        path.with_suffix(".tmp").rename(path)
    log(f"creating {url.rsplit('/', 1)[1]} (migrate, seed, quartiers, norms, zones, layers)…")
    create_database(url)
    prepare_database(url)
    mapping = data / "scale.yml"
    mapping.write_text(MAPPING, encoding="utf-8")
    log(f"first load: ova load incidents of {size:,} rows (load average {loadavg()})…")
    seconds, output = ova(url, "load", "incidents", str(path), "--mapping", str(mapping),
                          "--reject-file", str(data / "rejects.csv"))
    log(f"first load done in {seconds:.0f} s")
    vacuum(url)
    loaded = bench_rows(url)
    if loaded != size:
        raise SystemExit(f"first load wrote {loaded} rows, expected {size}:\n{output[-3000:]}")
    return {"first_load_s": seconds, "first_load": load_output(output), "first_load_loadavg": loadavg()}


def step_monthly(url: str, data: Path) -> dict:
    """80 000 new reports of the following month into the full table (removed first on a re-run)."""
    path = data / f"scale_monthly_{MONTHLY_ROWS}.csv"
    if not path.exists():
        generate_csv(MONTHLY_ROWS, path, prefix="M", start=FIRST_STOP, stop=MONTH_STOP, seed=7)
    mapping = data / "scale.yml"
    mapping.write_text(MAPPING, encoding="utf-8")
    if psql(url, "SELECT count(*) FROM incidents WHERE source = 'bench' AND external_id LIKE 'M%'") != "0":
        log("removing the previous run's monthly rows…")
        psql(url, "DELETE FROM compliance_results WHERE month >= DATE '2026-10-01'")
        psql(url, "DELETE FROM incidents WHERE source = 'bench' AND external_id LIKE 'M%'")
        vacuum(url)
    log(f"monthly load: {MONTHLY_ROWS:,} rows into the full table…")
    seconds, output = ova(url, "load", "incidents", str(path), "--mapping", str(mapping),
                          "--reject-file", str(data / "rejects_monthly.csv"))
    log(f"monthly load done in {seconds:.1f} s")
    vacuum(url)
    return {"monthly_load_s": seconds, "monthly_load": load_output(output)}


# --------------------------------------------------------------------------------------------
# compliance: full and incremental (bench/compliance.py's incremental step, rolled back)

_NEW_REPORTS = """
    INSERT INTO incidents (source, external_id, category, reported_at, resolved_at, status, geom)
    SELECT 'bench', 'I' || g, (ARRAY['graffiti', 'encombrants', 'depot-sauvage', 'eclairage', 'proprete',
                                      'voirie'])[1 + (g % 6)],
           r.reported_at, r.reported_at + interval '30 hours', 'resolved',
           ST_Transform(ST_SetSRID(ST_MakePoint(:west + random() * (:east - :west),
                                                :south + random() * (:north - :south)), 4326), :srid)
    FROM generate_series(1, :n) g
    CROSS JOIN LATERAL (SELECT :start + random() * (:stop - :start) + g * interval '0' AS reported_at) r
    ORDER BY r.reported_at
    RETURNING id
"""


def step_compliance(url: str) -> dict:
    from sqlalchemy import text

    from norms.deadlines import refresh_deadlines
    from norms.engine import compute_all, recompute
    from ova.assignment import assign_points
    from ova.db import make_engine
    from ova.settings import storage_srid

    engine = make_engine(url, application_name="ova-bench-scale")
    out: dict = {}
    log("full compliance recompute…")
    with engine.begin() as conn:
        started = time.perf_counter()
        summary = compute_all(conn, as_of=AS_OF)
        out["full_recompute_s"] = time.perf_counter() - started
        out["compliance_results"] = summary.inserted
    log(f"full recompute {out['full_recompute_s']:.1f} s ({summary.inserted} results)")
    psql(url, "VACUUM ANALYZE compliance_results")
    west, south, east, north = PARIS_EXTENT
    with engine.connect() as conn:
        with conn.begin() as tx:
            ids = list(conn.scalars(text(_NEW_REPORTS), {
                "n": INCREMENTAL_ROWS, "west": west, "east": east, "south": south, "north": north,
                "srid": storage_srid(), "start": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc),
                "stop": dt.datetime(2026, 11, 14, tzinfo=dt.timezone.utc)}))
            started = time.perf_counter()
            assign_points(conn, "incidents", ids)
            refresh_deadlines(conn, ids)
            recompute(conn, incident_ids=ids, as_of=AS_OF)
            out["incremental_total_s"] = time.perf_counter() - started
            alone = []
            for _ in range(5):
                started = time.perf_counter()
                recompute(conn, incident_ids=ids, as_of=AS_OF)
                alone.append(time.perf_counter() - started)
            out["incremental_recompute_s"] = statistics.median(alone)
            tx.rollback()
    engine.dispose()
    log(f"incremental: place+deadlines+recompute {out['incremental_total_s']:.3f} s, "
        f"recompute alone {out['incremental_recompute_s']:.3f} s")
    return out


# --------------------------------------------------------------------------------------------
# serving: items and single item against the minimal endpoint (bench/serve.py's machinery)

MINIMAL_APP = '''
import os
from urllib.parse import parse_qs
import psycopg

PAGE_SQL = open(os.environ["BENCH_SQL_FILE"]).read()
ITEM_SQL = open(os.environ["BENCH_ITEM_SQL_FILE"]).read()
_conns = {{}}

def conn(options="{options}"):
    c = _conns.get(options)
    if c is None or c.closed:
        c = _conns[options] = psycopg.connect(os.environ["BENCH_DATABASE_URL"], autocommit=True, options=options)
    return c

def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/item/"):  # the session options of our single-item connections
        body = conn("{item_options}").execute(ITEM_SQL, {{"fid": int(path[6:])}}).fetchone()[0].encode()
    else:
        q = parse_qs(environ.get("QUERY_STRING", ""))
        x0, y0, x1, y1 = (float(v) for v in q["bbox"][0].split(","))
        limit = int(q.get("limit", ["10"])[0])
        body, returned = conn().execute(PAGE_SQL, {{"bx0": x0, "by0": y0, "bx1": x1, "by1": y1, "limit": limit,
                                                  "offset": 0}}, binary=True).fetchone()[:2]
        body = b'{{"type": "FeatureCollection", "features": [' + body + b'], "numberReturned": %d}}' % returned
    start_response("200 OK", [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body)))])
    return [body]
'''


def item_sql(url: str) -> str:
    """The SQL of our single-item endpoint (``layers.features.item_sql``) on the layer's own source
    (the ``public_incidents`` view of ``signalements``), in psycopg's format."""
    import re

    from sqlalchemy import create_engine, text

    from layers.features import crs_from, feature_sql
    from layers.sources import describe
    from ova.db import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        table, where = conn.execute(text("SELECT source_table, source_filter FROM layers "
                                         "WHERE slug = 'signalements'")).one()
        source = describe(conn, table, where)
    engine.dispose()
    where, params = source.where_filters()
    where.append("t.id = :fid")
    sql = f"SELECT {feature_sql(source, crs_from(None))} FROM {source.qualified} t WHERE " + " AND ".join(where)
    for name, value in params.items():  # the source's own filters, inlined as literals
        sql = sql.replace(f":{name}", "'" + str(value).replace("'", "''") + "'")
    return re.sub(r"(?<!:):([a-z_]\w*)", r"%(\1)s", sql)


def portal_env(url: str, tmp: Path) -> dict:
    return {"DATABASE_URL": url, "OVA_INSTANCE_PATH": str(tmp / "instance"), "SECRET_KEY": "bench",
            "OVA_API_REQUESTS_PER_MINUTE": "0"}


def step_serve(url: str, rounds: int, step: int, workers: int, connections: int) -> dict:
    serve = _bench_module("serve")
    from portal.catalogue import serving
    from portal.catalogue.serving import SERVING_OPTIONS

    item_options = getattr(serving, "ITEM_OPTIONS", SERVING_OPTIONS)  # the code under test's

    bbox = ",".join(str(v) for v in serve.BBOX)
    fid = int(psql(url, "SELECT id FROM incidents WHERE source = 'bench' ORDER BY id "
                        "OFFSET (SELECT count(*) / 2 FROM incidents) LIMIT 1"))
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="ova-scale-") as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "sql.txt").write_text(serve.our_sql(url))
        (tmpdir / "item.txt").write_text(item_sql(url))
        (tmpdir / "minimal.py").write_text(MINIMAL_APP.format(options=SERVING_OPTIONS, item_options=item_options))
        menv = {"BENCH_DATABASE_URL": url, "BENCH_SQL_FILE": str(tmpdir / "sql.txt"),
                "BENCH_ITEM_SQL_FILE": str(tmpdir / "item.txt"), "PYTHONPATH": str(tmpdir)}
        with serve.Server(gunicorn, "portal:create_app()", workers, portal_env(url, tmpdir), cwd=str(ROOT)) as srv, \
                serve.Server(gunicorn, "minimal:app", workers, menv, cwd=str(tmpdir)) as msrv:
            base, mbase = f"http://127.0.0.1:{srv.port}", f"http://127.0.0.1:{msrv.port}"
            pairs = {"items": (f"{base}/ogc/collections/signalements/items?bbox={bbox}&limit=100",
                               f"{mbase}/?bbox={bbox}&limit=100"),
                     "item": (f"{base}/ogc/collections/signalements/items/{fid}", f"{mbase}/item/{fid}")}
            for ours, minimal in pairs.values():
                serve.wait_http(ours)
                serve.wait_http(minimal)
            for name, (ours, minimal) in pairs.items():
                runs: dict[str, list[dict]] = {"ours": [], "minimal": []}
                for i in range(rounds):  # alternating, as bench/serve.py does
                    order = [("ours", ours), ("minimal", minimal)]
                    for who, target in (order if i % 2 == 0 else order[::-1]):
                        runs[who].append(serve.wrk(target, step, connections))
                rps = {who: statistics.mean(r["rps"] for r in rs) for who, rs in runs.items()}
                errors = sum(r["errors"] for rs in runs.values() for r in rs)
                out[name] = {"ours_rps": rps["ours"], "minimal_rps": rps["minimal"],
                             "ratio": rps["ours"] / rps["minimal"], "errors": errors}
                log(f"{name}: ours {rps['ours']:.0f} req/s, minimal {rps['minimal']:.0f} req/s, "
                    f"ratio {rps['ours'] / rps['minimal']:.2f}, non-2xx {errors}")
    return {"serve": out}


# --------------------------------------------------------------------------------------------
# tiles and pages, over HTTP from a one-worker portal (its in-process tile cache then serves the
# second request of a tile)


def fetch(url: str, timeout: float = 600) -> tuple[int, int, float]:
    """(HTTP status, bytes, ms) of one GET."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body, status = resp.read(), resp.status
    except urllib.error.HTTPError as err:
        body, status = err.read(), err.code
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException, TimeoutError):
        body, status = b"", 0  # the worker was killed past its timeout (gunicorn's default, 30 s)
    return status, len(body), (time.perf_counter() - started) * 1000


def sample_tiles(z: int, n: int = 4) -> list:
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    x, y = CENTRE
    half = 0.02 if z < 12 else 0.004
    return list(tms.tiles(x - half, y - half, x + half, y + half, [z]))[:n]


def step_tiles_pages(url: str) -> dict:
    serve = _bench_module("serve")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    busiest = psql(url, "SELECT q.code || '|' || q.id FROM quartiers q JOIN incidents i ON i.quartier_id = q.id "
                        "GROUP BY q.id ORDER BY count(*) DESC LIMIT 1").split("|")
    tiles: dict = {}
    pages: dict = {}
    with tempfile.TemporaryDirectory(prefix="ova-scale-") as tmp:
        with serve.Server(gunicorn, "portal:create_app()", 1, portal_env(url, Path(tmp)), cwd=str(ROOT)) as srv:
            base = f"http://127.0.0.1:{srv.port}"
            serve.wait_http(f"{base}/healthz")
            serve.wait_http(f"{base}/tiles/signalements.json")
            for z in ZOOMS:
                worst = {"bytes": 0, "cold_ms": 0.0, "cached_ms": 0.0, "status": 200, "tiles": 0}
                for t in sample_tiles(z):
                    tile = f"{base}/tiles/signalements/{z}/{t.x}/{t.y}.pbf"
                    status, size, cold = fetch(tile)
                    _, _, cached = fetch(tile)
                    worst = {"bytes": max(worst["bytes"], size), "cold_ms": max(worst["cold_ms"], cold),
                             "cached_ms": max(worst["cached_ms"], cached), "tiles": worst["tiles"] + 1,
                             "status": status if status != 200 else worst["status"]}
                tiles[str(z)] = worst
                log(f"tiles z{z}: worst {worst['bytes'] / 1024:.0f} KiB, cold {worst['cold_ms']:.0f} ms, "
                    f"cached {worst['cached_ms']:.1f} ms (HTTP {worst['status']}, {worst['tiles']} tiles)")
            for label, path in (("home", "/"), (f"quartier {busiest[0]}", f"/quartiers/{busiest[0]}"),
                                ("/normes", "/normes/"), ("/normes/quartier", f"/normes/quartier/{busiest[1]}"),
                                ("/normes/normes-qualite", "/normes/normes-qualite"),
                                ("/indicateurs", "/indicateurs")):
                fetch(base + path)  # warm
                runs = [fetch(base + path) for _ in range(3)]
                pages[label.split(" ")[0] if label.startswith("quartier") else label] = {
                    "ms": statistics.median(r[2] for r in runs), "bytes": runs[-1][1], "status": runs[-1][0],
                    "path": path}
                log(f"page {label}: {pages[list(pages)[-1]]['ms']:.0f} ms, {runs[-1][1] / 1024:.0f} KiB "
                    f"(HTTP {runs[-1][0]})")
    return {"tiles": tiles, "pages": pages}


def step_indicators(url: str) -> dict:
    log("indicators recompute (ova indicators compute)…")
    seconds, _ = ova(url, "indicators", "compute")
    log(f"indicators {seconds:.1f} s")
    return {"indicators_s": seconds}


def step_size(url: str) -> dict:
    return {"database_bytes": int(psql(url, "SELECT pg_database_size(current_database())")),
            "incidents_bytes": int(psql(url, "SELECT pg_total_relation_size('incidents')"))}


# --------------------------------------------------------------------------------------------
# the table

KB = 1024  # KiB, as the tile budget (layers.tiles.TileBudget: 500 * 1024)


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k" if size % 1000 == 0 else str(size)


def rows_of(result: dict) -> list[tuple[str, float | None, str, str]]:
    """(measure, value, format, target kind) of one size's results."""
    rows: list[tuple[str, float | None, str, str]] = [
        ("first load, `ova load incidents` (s)", result.get("first_load_s"), "{:.0f}", ""),
        (f"monthly load of {MONTHLY_ROWS:,} reports into the full table (s)", result.get("monthly_load_s"),
         "{:.1f}", "ratio<=2"),
        ("full compliance recompute (s)", result.get("full_recompute_s"), "{:.1f}", "ratio<=12"),
        (f"incremental after {INCREMENTAL_ROWS:,} reports: place+deadlines+recompute (s)",
         result.get("incremental_total_s"), "{:.3f}", "<0.2"),
        ("  of which recompute alone, median of 5 (s)", result.get("incremental_recompute_s"), "{:.3f}", "<0.2"),
    ]
    for name, title in (("items", "OGC items bbox+limit 100"), ("item", "OGC single item")):
        s = result.get("serve", {}).get(name, {})
        rows += [(f"{title}: ours (req/s)", s.get("ours_rps"), "{:.0f}", ""),
                 (f"{title}: minimal endpoint (req/s)", s.get("minimal_rps"), "{:.0f}", ""),
                 (f"{title}: ours / minimal", s.get("ratio"), "{:.2f}", ">=0.8")]
    for z, t in result.get("tiles", {}).items():
        rows += [(f"worst tile z{z} (KiB)", t["bytes"] / KB, "{:.0f}", "<=500"),
                 (f"worst tile z{z} cold (ms)", t["cold_ms"], "{:.0f}", "<=500"),
                 (f"worst tile z{z} cached (ms)", t["cached_ms"], "{:.1f}", "")]
        if t["status"] != 200:  # 0: no answer (the worker killed past gunicorn's 30 s timeout)
            rows.append((f"tile z{z}: HTTP status of the failing tile (0: no answer)", t["status"], "{:.0f}", "=200"))
    for name, p in result.get("pages", {}).items():
        rows += [(f"page {name} (ms)", p["ms"], "{:.0f}", "<=300"),
                 (f"page {name} (KiB)", p["bytes"] / KB, "{:.1f}", "ratio<=1.1")]
    rows += [("indicators recompute, `ova indicators compute` (s)", result.get("indicators_s"), "{:.1f}", ""),
             ("database size (GB)", result["database_bytes"] / 1e9 if "database_bytes" in result else None,
              "{:.2f}", "")]
    return rows


def verdict(kind: str, value: float | None, ratio: float | None) -> tuple[str, str]:
    if not kind:
        return "", ""
    if kind.startswith("ratio"):
        bound = float(kind.split("<=")[1])
        shown = f"≤ {bound:g}× the smallest size"
        return shown, "" if ratio is None else ("met" if ratio <= bound else "**MISSED**")
    if value is None:
        return kind, ""
    op, bound = (kind[:2], float(kind[2:])) if kind[:2] in ("<=", ">=") else (kind[:1], float(kind[1:]))
    ok = {"<=": value <= bound, ">=": value >= bound, "<": value < bound, "=": value == bound}[op]
    return {"<=": "≤ ", ">=": "≥ ", "<": "< ", "=": "= "}[op] + f"{bound:g}", "met" if ok else "**MISSED**"


def table(results: dict[int, dict]) -> str:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    per = {size: rows_of(results[size]) for size in sizes}
    ratio_head = f" {label(large)}/{label(small)} |" if len(sizes) > 1 else ""
    lines = [f"| measure | {' | '.join(label(s) for s in sizes)} |{ratio_head} target (at {label(large)}) | |",
             "|---|" + "---:|" * len(sizes) + ("---:|" if len(sizes) > 1 else "") + "---|---|"]
    for i, (name, _, fmt, kind) in enumerate(per[large]):
        values = {}
        for size in sizes:
            match = [r for r in per[size] if r[0] == name]
            values[size] = match[0][1] if match else None
        cells = [fmt.format(values[s]) if values[s] is not None else "—" for s in sizes]
        ratio = (values[large] / values[small] if len(sizes) > 1 and values[large] is not None and values[small]
                 else None)
        target, met = verdict(kind, values[large], ratio)
        ratio_cell = (f" {ratio:.2f} |" if ratio is not None else " — |") if len(sizes) > 1 else ""
        lines.append(f"| {name} | {' | '.join(cells)} |{ratio_cell} {target} | {met} |")
    return "\n".join(lines)


def database_url(base: str, size: int) -> str:
    return f"{base}_{label(size).lower()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--keep", action="store_true", help="reuse a database that already holds the size's rows")
    parser.add_argument("--base-url", default=os.environ.get("SCALE_BASE_URL", DEFAULT_BASE),
                        help="database per size: <base>_1m, <base>_10m, …")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"subset of {','.join(STEPS)}")
    parser.add_argument("--data", type=Path, default=RESULTS, help="generated files and results (kept)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--round-seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--table-only", action="store_true", help="print the table of the recorded results")
    parser.add_argument("--tag", default="", help="results kept as results_<tag>_<size>.json (a before/after pair)")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    steps = args.steps.split(",")
    args.data.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict] = {}
    for size in sizes:
        record = args.data / (f"results_{args.tag}_{size}.json" if args.tag else f"results_{size}.json")
        first = args.data / f"results_{size}.json"  # a tagged run reuses the recorded first load
        previous = json.loads((record if record.exists() else first).read_text()) if (
            record.exists() or first.exists()) else {}
        if args.table_only:
            results[size] = previous
            continue
        url = database_url(args.base_url, size)
        result = dict(previous) if args.keep else {}
        result.update(size=size, loadavg_start=loadavg())

        def save() -> None:
            result["measured_at"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            result["loadavg_end"] = loadavg()
            record.write_text(json.dumps(result, indent=1, default=str))

        log(f"=== {size:,} incidents, database {url.rsplit('/', 1)[1]} (load average {loadavg()})")
        if "load" in steps or not (args.keep and bench_rows(url) == size):
            result.update(step_load(url, size, args.data, args.keep, previous))
            save()
        if "monthly" in steps:
            result.update(step_monthly(url, args.data))
            save()
        if "compliance" in steps:
            result.update(step_compliance(url))
            save()
        if "serve" in steps:
            result.update(step_serve(url, args.rounds, args.round_seconds, args.workers, args.connections))
            save()
        if "tiles" in steps or "pages" in steps:
            result.update(step_tiles_pages(url))
            save()
        if "indicators" in steps:
            result.update(step_indicators(url))
            save()
        if "size" in steps:
            result.update(step_size(url))
            save()
        results[size] = result
    when = "; ".join(f"{label(s)} measured {r.get('measured_at', '?')} (load average {r.get('loadavg_start', '?')}"
                     f" at the start, {r.get('loadavg_end', '?')} at the end)" for s, r in results.items())
    print(f"\nScale benchmark, {os.cpu_count()} cores: {when}.\n")
    print(table(results))
    for size, r in results.items():
        if r.get("first_load"):
            print(f"\n{label(size)} first load: bulk path {r['first_load']['bulk']}; {r['first_load']['seconds_line']}")
        if r.get("monthly_load"):
            print(f"{label(size)} monthly load: bulk path {r['monthly_load']['bulk']}; "
                  f"{r['monthly_load']['seconds_line']}")


if __name__ == "__main__":
    main()
