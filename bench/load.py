"""Load test (on demand, never run by ``make test``): gunicorn serving the demo data, browsing
users and reporting citizens at the same time, bounded in time.

``--users`` (50) virtual users browse: the home map and its quartier feed, catalogue tiles, the
OGC API (collections, items in a random bbox), a quartier page, an incident page. ``--reporters``
(5) fill in the report form (GET for the CSRF token, then POST). Each virtual user sends its own
``X-Forwarded-For`` address (gunicorn runs with OVA_TRUSTED_PROXIES=1, as behind nginx), so
per-client rate limits apply as for real visitors; each report comes from a new citizen address.

Prints per request kind: count, p50/p95 (ms), 5xx, 429 and other 4xx, the p50 as a ratio of the
``/healthz`` p50 measured in the same run (the reference: the same stack with one trivial query),
then reports accepted (201) against rows stored. Exits 1 on any 5xx or a mismatch. Usage::

    python bench/load.py [--duration 30] [--users 50] [--reporters 5] [--workers 3]
    python bench/load.py --duration 600          # the real run: 10 minutes

Environment: ``BENCH_DATABASE_URL`` (default ``postgresql://ova:ova@127.0.0.1:5432/ova_bench_load``;
created with PostGIS and the demo data of scripts/load_demo.sh when empty).
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402

from serve import ensure_database, free_port, wait_http  # noqa: E402  (bench/serve.py)

DEFAULT_URL = "postgresql://ova:ova@127.0.0.1:5432/ova_bench_load"
#: Central Paris, where the demo incidents and quartiers are (WGS 84).
LON, LAT = (2.28, 2.41), (48.83, 48.89)
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
CATEGORY = re.compile(r'<option value="([a-z_]+)"')


def log(msg: str) -> None:
    print(msg, flush=True)


def prepare(url: str) -> None:
    """Migrate, seed and load the demo data once (skipped when incidents are already there)."""
    ensure_database(url)
    env = dict(os.environ, DATABASE_URL=url, VENV=str(Path(sys.executable).parent.parent))
    ova = str(Path(sys.executable).parent / "ova")
    subprocess.run([ova, "db", "upgrade"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    with psycopg.connect(url) as conn:
        loaded = conn.execute("SELECT count(*) FROM incidents WHERE source <> 'portal'").fetchone()[0]
    if not loaded:
        log("loading the demo data (scripts/load_demo.sh)…")
        subprocess.run([ova, "seed"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        subprocess.run(["scripts/load_demo.sh"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


#: Attempts of a GET whose connection the server closed before answering (POSTs: see ``request``).
RETRIES = 3


class Stats:
    """Latencies and statuses per request kind, shared by the virtual users."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ms = defaultdict(list)
        self.status = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []
        #: Keep-alive connections the server closed under a request (a worker recycled after
        #: gunicorn's max_requests), retried like a browser does; ``failed``: still failing after retries.
        self.resets = defaultdict(int)
        self.failed = defaultdict(int)

    def add(self, kind: str, ms: float, status: int, path: str) -> None:
        with self.lock:
            self.ms[kind].append(ms)
            self.status[kind][status] += 1
            if status >= 500 and len(self.errors) < 20:
                self.errors.append(f"{status} {path}")


class User(threading.Thread):
    """One virtual user on one keep-alive connection, with its own address and cookies."""

    def __init__(self, port: int, stats: Stats, deadline: float, think: float, seed: int, ctx: dict):
        super().__init__(daemon=True)
        self.port, self.stats, self.deadline, self.think, self.ctx = port, stats, deadline, think, ctx
        self.rng = random.Random(seed)
        self.address = f"10.{seed // 65536 % 256}.{seed // 256 % 256}.{seed % 256 or 1}"
        self.cookie = ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.reused = False   # the connection has answered a request before (keep-alive)

    def request(self, kind: str, path: str, method: str = "GET", body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        h = {"X-Forwarded-For": self.address, "Accept-Language": "fr"}
        if self.cookie:
            h["Cookie"] = self.cookie
        h.update(headers or {})
        started = time.perf_counter()
        attempts = RETRIES if method == "GET" else 2
        for attempt in range(1, attempts + 1):
            reused = self.reused
            try:
                self.conn.request(method, path, body=body, headers=h)
                response = self.conn.getresponse()
                data = response.read()
                self.reused = True
                break
            except (http.client.HTTPException, OSError) as err:
                self.conn.close()  # a keep-alive connection closed by the server: reconnect and retry
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                self.reused = False
                # Like a browser, a POST is resent only when a reused keep-alive connection was
                # closed before any answer (the server never read it); a duplicate would show as
                # more rows stored than reports accepted.
                unanswered = isinstance(err, (http.client.RemoteDisconnected, ConnectionResetError,
                                              BrokenPipeError))
                if method != "GET" and not (reused and unanswered):
                    attempts = attempt
                with self.stats.lock:
                    self.stats.resets[kind] += 1
                if attempt == attempts:
                    with self.stats.lock:
                        self.stats.failed[kind] += 1
                    return 0, b""
                time.sleep(0.2 * attempt)
        self.stats.add(kind, (time.perf_counter() - started) * 1000, response.status, path)
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, data

    def pause(self) -> None:
        time.sleep(self.rng.uniform(0.5, 1.5) * self.think)

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                self.step()
                self.pause()
        finally:
            self.conn.close()


class Browser(User):
    """Maps, tiles and the OGC API."""

    def step(self) -> None:
        rng, ctx = self.rng, self.ctx
        choice = rng.random()
        if choice < 0.05:
            self.request("healthz (reference)", "/healthz")
        elif choice < 0.20:
            self.request("map page", "/")
            self.request("map feed", "/api/territory.geojson")
        elif choice < 0.50:
            slug = rng.choice(ctx["layers"])
            z = rng.randint(12, 15)
            x, y = tile_xy(rng.uniform(*LON), rng.uniform(*LAT), z)
            for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):  # a map view fetches tiles in bursts
                self.request("tile", f"/tiles/{slug}/{z}/{x + dx}/{y + dy}.pbf")
        elif choice < 0.80:
            slug = rng.choice(ctx["layers"])
            lon, lat = rng.uniform(*LON), rng.uniform(*LAT)
            bbox = f"{lon:.4f},{lat:.4f},{lon + 0.01:.4f},{lat + 0.01:.4f}"
            self.request("ogc items", f"/ogc/collections/{slug}/items?bbox={bbox}&limit=100")
        elif choice < 0.88:
            self.request("ogc collections", "/ogc/collections")
        elif choice < 0.95:
            self.request("quartier page", f"/quartiers/{urllib.parse.quote(rng.choice(ctx['quartiers']))}")
        else:
            self.request("incident page", f"/incidents/{rng.choice(ctx['incidents'])}")


class Reporter(User):
    """A citizen reporting an incident through the form (a new address each time)."""

    accepted = 0
    refused = defaultdict(int)
    lock = threading.Lock()

    def step(self) -> None:
        rng = self.rng
        self.address = f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        self.cookie = ""
        status, page = self.request("report form", "/incidents/new")
        if status != 200:
            return
        text = page.decode()
        match = CSRF.search(text)
        token = match.group(1) or match.group(2)
        categories = CATEGORY.findall(text)
        form = {"csrf_token": token, "category": rng.choice(categories), "lat": f"{rng.uniform(48.85, 48.87):.6f}",
                "lon": f"{rng.uniform(2.33, 2.37):.6f}", "description": "Test de charge : dépôt sauvage",
                "address": "", "email": ""}
        status, _ = self.request("report post", "/incidents/new", "POST", urllib.parse.urlencode(form).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        with Reporter.lock:
            if status == 201:
                Reporter.accepted += 1
            else:
                Reporter.refused[status] += 1


def context(url: str) -> dict:
    """Layer slugs, quartier codes and incident ids to browse."""
    with psycopg.connect(url) as conn:
        layers = [r[0] for r in conn.execute(
            "SELECT slug FROM layers WHERE published AND cardinality(restricted_to) = 0 ORDER BY slug")]
        quartiers = [r[0] for r in conn.execute("SELECT code FROM quartiers ORDER BY random() LIMIT 200")]
        incidents = [r[0] for r in conn.execute("SELECT id FROM incidents ORDER BY random() LIMIT 500")]
    if not (layers and quartiers and incidents):
        raise SystemExit("the benchmark database has no layers, quartiers or incidents")
    return {"layers": layers, "quartiers": quartiers, "incidents": incidents}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds of load (600 for the real run)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--reporters", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between steps (s)")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    prepare(url)
    ctx = context(url)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-load", OVA_TRUSTED_PROXIES="1",
               GUNICORN_WORKERS=str(args.workers), GUNICORN_THREADS=str(args.threads), GUNICORN_ACCESSLOG="",
               GUNICORN_LOGLEVEL="warning", OVA_INSTANCE_PATH=str(ROOT / "var" / "bench-instance"))
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server_log = ROOT / "var" / "bench-load-server.log"
    server_log.parent.mkdir(exist_ok=True)
    log(f"server log: {server_log}")
    server = subprocess.Popen([gunicorn, "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
                               "portal:create_app()"], cwd=ROOT, env=env,
                              stdout=server_log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        with psycopg.connect(url) as conn:
            before = conn.execute("SELECT count(*) FROM incident_reports").fetchone()[0]
        stats = Stats()
        deadline = time.monotonic() + args.duration
        users = [Browser(port, stats, deadline, args.think, i + 1, ctx) for i in range(args.users)]
        users += [Reporter(port, stats, deadline, args.think, 1000 + i, ctx) for i in range(args.reporters)]
        log(f"{args.users} browsing users + {args.reporters} reporting for {args.duration} s against gunicorn "
            f"({args.workers} workers × {args.threads} threads), {len(ctx['layers'])} layers")
        started = time.monotonic()
        for u in users:
            u.start()
        for u in users:
            u.join(timeout=args.duration + 180)
        elapsed = time.monotonic() - started
        with psycopg.connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM incident_reports").fetchone()[0] - before
    finally:
        server.terminate()
        server.wait(timeout=60)

    ref = statistics.median(stats.ms["healthz (reference)"]) if stats.ms["healthz (reference)"] else None
    log(f"\n{'kind':<22}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'×ref':>7}{'5xx':>6}{'429':>6}{'4xx':>6}")
    total = fivexx = 0
    everything = []
    for kind in sorted(stats.ms):
        values, statuses = stats.ms[kind], stats.status[kind]
        errors = sum(n for s, n in statuses.items() if s >= 500)
        limited = statuses.get(429, 0)
        other = sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 429)
        p50 = statistics.median(values)
        total += len(values)
        fivexx += errors
        everything += values
        log(f"{kind:<22}{len(values):>7}{p50:>9.1f}{percentile(values, 95):>9.1f}"
            f"{(p50 / ref if ref else float('nan')):>7.1f}{errors:>6}{limited:>6}{other:>6}")
    log(f"{'all':<22}{total:>7}{statistics.median(everything):>9.1f}{percentile(everything, 95):>9.1f}"
        f"{'':>7}{fivexx:>6}")
    log(f"\n{total / elapsed:.1f} requests/s over {elapsed:.0f} s; 5xx: {fivexx}")
    failed = sum(stats.failed.values())
    log(f"connections closed under a request and retried: {dict(stats.resets) or 0}; "
        f"failed after {RETRIES} attempts: {dict(stats.failed) or 0}")
    log(f"reports accepted (201): {Reporter.accepted}, rows stored: {stored}, refused: {dict(Reporter.refused)}")
    for line in stats.errors:
        log(f"  5xx: {line}")
    # A report whose connection failed may have been stored without its 201 reaching us.
    unsure = stats.failed.get("report post", 0)
    ok = fivexx == 0 and failed == 0 and Reporter.accepted <= stored <= Reporter.accepted + unsure
    log("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
