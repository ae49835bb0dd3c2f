"""Serving benchmark (on demand, never run by ``make test``).

The same PostGIS ``incidents`` table of N rows (1 000 000 by default), the same number of gunicorn
sync workers, wrk on 127.0.0.1 against:

  (a) our OGC API items endpoint   /ogc/collections/signalements/items?bbox=…&limit=100
  (b) pygeoapi (from PyPI, in var/bench-venv) on the same table
  (c) a minimal psycopg WSGI endpoint running exactly the SQL of our page (layers.features.page_sql),
      on a connection with the same session options (portal.catalogue.serving.SERVING_OPTIONS)

and prints req/s, p50/p99 and the ratios ((a) and (c) alternate in ``--rounds`` short runs, so that
the load of a shared machine weighs on both alike); then z14 tile latency of /tiles/… (cold cache) against the
raw ST_AsMVT query. Usage::

    python bench/serve.py [--rows 1000000] [--duration 20] [--rounds 4] [--workers 2] [--connections 8]

Environment: ``BENCH_DATABASE_URL`` (default ``postgresql://ova:ova@127.0.0.1:5432/ova_bench_layers``;
created with PostGIS when missing). Needs ``wrk`` (apt) and, for (b), ``var/bench-venv`` with
pygeoapi (created on first run with pip).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from portal.catalogue.serving import SERVING_OPTIONS  # noqa: E402  (the same session settings for all)
from ova.settings import storage_srid  # noqa: E402

DEFAULT_URL = "postgresql://ova:ova@127.0.0.1:5432/ova_bench_layers"
BBOX = (2.33, 48.85, 2.35, 48.87)  # central Paris: tens of thousands of matching rows
PYGEOAPI_VENV = ROOT / "var" / "bench-venv"


def log(msg: str) -> None:
    print(msg, flush=True)


def ensure_database(url: str) -> None:
    """Create the benchmark database with PostGIS when missing."""
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return
        try:
            conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error:
            subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-d", dbname, "-c",
                            "CREATE EXTENSION IF NOT EXISTS postgis"], check=True)


def prepare(url: str, rows: int) -> None:
    """Schema, reference data, catalogue layers and ``rows`` incidents around Paris."""
    from ova.db import make_engine
    from ova.migrate import upgrade
    from ova.seed import seed_all
    from layers.catalogue import seed_layers

    upgrade(url)
    engine = make_engine(url)
    seed_all(engine)
    seed_layers(engine)
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM incidents WHERE source = 'bench'").fetchone()[0]
        if have != rows:
            log(f"loading {rows} incidents (once)…")
            category = conn.execute("SELECT code FROM incident_categories ORDER BY code LIMIT 1").fetchone()[0]
            conn.execute("DELETE FROM incidents WHERE source = 'bench'")
            conn.execute(
                """
                INSERT INTO incidents (source, external_id, category, description, address, reported_at,
                                       status, geom)
                SELECT 'bench', g::text, %s, 'Signalement n°' || g, g || ' rue de test',
                       timestamptz '2023-01-01' + (g %% 500) * interval '1 day' + (g %% 86400) * interval '1 second',
                       'new',
                       ST_Transform(ST_SetSRID(ST_MakePoint(2.25 + random() * 0.17, 48.815 + random() * 0.09),
                                               4326), %s)
                FROM generate_series(1, %s) g
                """,
                (category, storage_srid(), rows),
            )
            conn.execute("UPDATE layers SET data_version = data_version + 1 WHERE source_table = 'incidents'")
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE incidents")
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                resp.read()
                return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


class Server:
    """A gunicorn process started for one measurement and always stopped."""

    def __init__(self, gunicorn: str, app: str, workers: int, env: dict, cwd: str | None = None,
                 port: int | None = None):
        self.port = port or free_port()
        # An empty config file: the same settings for every server, not the portal's gunicorn.conf.py
        # (gthread workers recycled every 2 000 requests) picked up from the working directory.
        empty = Path(tempfile.gettempdir()) / "ova-bench-gunicorn.conf.py"
        empty.write_text("")
        self.proc = subprocess.Popen(
            [gunicorn, "-c", str(empty), "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "--access-logfile", "/dev/null", app],
            env={**os.environ, **env}, cwd=cwd, start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wrk(url: str, duration: int, connections: int) -> dict:
    """Run wrk with latency percentiles; return req/s, p50 and p99 in ms."""
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"), "errors": int(non2xx.group(1)) if non2xx else 0}


MINIMAL_APP = '''
import os, re
from urllib.parse import parse_qs
import psycopg

SQL = open(os.environ["BENCH_SQL_FILE"]).read()
_conn = None

def conn():
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(os.environ["BENCH_DATABASE_URL"], autocommit=True,
                                options="{options}")
    return _conn

def app(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    x0, y0, x1, y1 = (float(v) for v in q["bbox"][0].split(","))
    limit = int(q.get("limit", ["10"])[0])
    body, returned = conn().execute(SQL, {{"bx0": x0, "by0": y0, "bx1": x1, "by1": y1, "limit": limit,
                                         "offset": 0}}, binary=True).fetchone()[:2]
    body = b'{{"type": "FeatureCollection", "features": [' + body + b'], "numberReturned": %d}}' % returned
    start_response("200 OK", [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body)))])
    return [body]
'''


def our_sql(url: str) -> str:
    """The exact SQL of the page our items endpoint runs for a bbox + limit query, in psycopg's format."""
    from sqlalchemy import create_engine

    from ova.db import normalise_url
    from layers.features import ItemsQuery, page_sql
    from layers.sources import describe

    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        source = describe(conn, "incidents")
    engine.dispose()
    sql, _ = page_sql(source, ItemsQuery(bbox=BBOX, limit=100))
    return re.sub(r"(?<!:):([a-z_]\w*)", r"%(\1)s", sql)


def pygeoapi_config(url: str, port: int, directory: Path) -> tuple[Path, Path]:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    config = directory / "pygeoapi.yml"
    config.write_text(textwrap.dedent(f"""
        server:
          bind: {{host: 127.0.0.1, port: {port}}}
          url: http://127.0.0.1:{port}
          mimetype: application/json; charset=UTF-8
          encoding: utf-8
          languages: [en-US]
          limits: {{default_items: 10, max_items: 10000}}
          map: {{url: "http://127.0.0.1/{{z}}/{{x}}/{{y}}.png", attribution: none}}
        logging: {{level: ERROR}}
        metadata:
          identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                            terms_of_service: none, url: "http://127.0.0.1"}}
          license: {{name: ODbL, url: "https://opendatacommons.org/licenses/odbl/1-0/"}}
          provider: {{name: bench, url: "http://127.0.0.1"}}
          contact: {{name: bench, position: bench, address: bench, city: bench, stateorprovince: bench,
                     postalcode: "0", country: FR, phone: "0", fax: "0", email: "b@example.org",
                     url: "http://127.0.0.1", hours: none, instructions: none, role: pointOfContact}}
        resources:
          incidents:
            type: collection
            title: incidents
            description: incidents
            keywords: [incidents]
            extents:
              spatial: {{bbox: [2.2, 48.8, 2.5, 48.95], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
            providers:
              - type: feature
                name: PostgreSQL
                data: {{host: "{u.host}", port: {u.port or 5432}, dbname: "{u.database}", user: "{u.username}",
                        password: "{u.password}", search_path: [public]}}
                id_field: id
                table: incidents
                geom_field: geom
                storage_crs: "http://www.opengis.net/def/crs/EPSG/0/{storage_srid()}"
    """))
    openapi = directory / "openapi.yml"
    done = subprocess.run([str(PYGEOAPI_VENV / "bin" / "pygeoapi"), "openapi", "generate", str(config),
                           "--output-file", str(openapi)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pygeoapi openapi generate failed: {done.stderr[-2000:]}")
    return config, openapi


def tile_latency(url: str, base: str, n: int = 40) -> tuple[float, float, int]:
    """Median ms of n distinct z14 tiles: raw ST_AsMVT in PostGIS, and our HTTP endpoint (its tile
    cache cold: each tile is asked once). PostgreSQL's buffers are warmed for every tile first, and
    the two measurements of a tile alternate in order, so that neither side reads the disk for the
    other or always runs second."""
    import morecantile
    from sqlalchemy import create_engine

    from ova.db import normalise_url
    from layers.sources import describe
    from layers.tiles import render_tile

    tms = morecantile.tms.get("WebMercatorQuad")
    tiles = list(tms.tiles(2.30, 48.84, 2.40, 48.88, [14]))[:n]
    engine = create_engine(normalise_url(url), connect_args={"options": SERVING_OPTIONS})
    raw: list[float] = []
    ours: list[float] = []
    with engine.connect() as conn:
        source = describe(conn, "incidents")
        for t in tiles:
            render_tile(conn, source, "signalements", 14, t.x, t.y)

        def time_raw(t) -> None:
            start = time.perf_counter()
            render_tile(conn, source, "signalements", 14, t.x, t.y)
            raw.append((time.perf_counter() - start) * 1000)

        def time_ours(t) -> None:
            start = time.perf_counter()
            with urllib.request.urlopen(f"{base}/tiles/signalements/14/{t.x}/{t.y}.pbf") as resp:
                resp.read()
            ours.append((time.perf_counter() - start) * 1000)

        for i, t in enumerate(tiles):
            for measure in ((time_raw, time_ours) if i % 2 == 0 else (time_ours, time_raw)):
                measure(t)
    engine.dispose()
    return statistics.median(raw), statistics.median(ours), len(tiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4, help="alternate (a) and (c) in this many rounds")
    parser.add_argument("--skip-pygeoapi", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    prepare(url, args.rows)
    bbox = ",".join(str(v) for v in BBOX)
    results: dict[str, dict] = {}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with tempfile.TemporaryDirectory(prefix="ova-bench-") as tmp:
        tmpdir = Path(tmp)
        env = {"DATABASE_URL": url, "OVA_INSTANCE_PATH": str(tmpdir / "instance"), "SECRET_KEY": "bench",
               # one client address sends everything: the per-client API limit would refuse it
               "OVA_API_REQUESTS_PER_MINUTE": "0"}
        (tmpdir / "sql.txt").write_text(our_sql(url))
        (tmpdir / "minimal.py").write_text(MINIMAL_APP.format(options=SERVING_OPTIONS))
        menv = {"BENCH_DATABASE_URL": url, "BENCH_SQL_FILE": str(tmpdir / "sql.txt"), "PYTHONPATH": str(tmpdir)}
        with Server(gunicorn, "portal:create_app()", args.workers, env, cwd=str(ROOT)) as srv, \
                Server(gunicorn, "minimal:app", args.workers, menv, cwd=str(tmpdir)) as msrv:
            base = f"http://127.0.0.1:{srv.port}"
            targets = {"ours": f"{base}/ogc/collections/signalements/items?bbox={bbox}&limit=100",
                       "minimal": f"http://127.0.0.1:{msrv.port}/?bbox={bbox}&limit=100"}
            for target in targets.values():
                wait_http(target)
            # (a) and (c) alternate in short rounds (first one, then the other, going first): on a
            # shared machine the load drifts, and measuring one after the other would fold that
            # drift into the ratio.
            step = max(3, args.duration // args.rounds)
            rounds: dict[str, list[dict]] = {name: [] for name in targets}
            for i in range(args.rounds):
                for name, target in (list(targets.items()) if i % 2 == 0 else list(targets.items())[::-1]):
                    rounds[name].append(wrk(target, step, args.connections))
                ratio = rounds["ours"][-1]["rps"] / rounds["minimal"][-1]["rps"]
                log(f"round {i + 1}/{args.rounds}: ours {rounds['ours'][-1]['rps']:.1f} req/s, "
                    f"minimal {rounds['minimal'][-1]['rps']:.1f} req/s, ratio {ratio:.2f}")
            for name, runs in rounds.items():
                results[name] = {"rps": statistics.mean(r["rps"] for r in runs),
                                 "p50": statistics.median(r["p50"] for r in runs),
                                 "p99": statistics.median(r["p99"] for r in runs),
                                 "errors": sum(r["errors"] for r in runs)}
            raw_ms, ours_ms, n_tiles = tile_latency(url, base)
        if not args.skip_pygeoapi:
            if not (PYGEOAPI_VENV / "bin" / "pygeoapi").exists():
                subprocess.run([sys.executable, "-m", "venv", str(PYGEOAPI_VENV)], check=True)
                subprocess.run([str(PYGEOAPI_VENV / "bin" / "pip"), "install", "-q", "pygeoapi",
                                "psycopg2-binary", "geoalchemy2", "sqlalchemy", "gunicorn"], check=True)
            port = free_port()
            config, openapi = pygeoapi_config(url, port, tmpdir)
            penv = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
            srv = Server(str(PYGEOAPI_VENV / "bin" / "gunicorn"), "pygeoapi.flask_app:APP", args.workers, penv,
                         cwd=str(tmpdir), port=port)
            with srv:
                target = f"http://127.0.0.1:{port}/collections/incidents/items?bbox={bbox}&limit=100&f=json"
                wait_http(target, timeout=120)
                log("(b) pygeoapi …")
                results["pygeoapi"] = wrk(target, args.duration, args.connections)
            log(f"    {results['pygeoapi']}")
    log("")
    log(f"{args.rows} incidents, bbox {bbox}, limit=100, {args.workers} gunicorn workers, "
        f"wrk -c {args.connections}; ours and minimal alternate in {args.rounds} rounds of {step}s "
        f"(req/s: mean of the rounds; p50/p99: median of the rounds)")
    log(f"{'endpoint':<10} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8}")
    for name, r in results.items():
        log(f"{name:<10} {r['rps']:>9.1f} {r['p50']:>9.2f} {r['p99']:>9.2f} {r['errors']:>8}")
    ours = results["ours"]["rps"]
    log(f"ours / minimal  = {ours / results['minimal']['rps']:.2f}  (target ≥ 0.8)")
    if "pygeoapi" in results:
        log(f"ours / pygeoapi = {ours / results['pygeoapi']['rps']:.1f}  (target ≥ 10)")
    log(f"z14 tile, median of {n_tiles} tiles (tile cache cold, database buffers warm): raw ST_AsMVT "
        f"{raw_ms:.1f} ms, ours over HTTP {ours_ms:.1f} ms, ratio {ours_ms / raw_ms:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
