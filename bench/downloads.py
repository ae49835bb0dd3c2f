"""Download and large-page benchmark (on demand): memory stays bounded whatever the layer's size.

On the serving benchmark's database (``bench/serve.py``: the ``incidents`` table of N rows, 1 000 000
by default, layer ``signalements``), one gunicorn sync worker serves, one after the other:

  - the layer's downloads: GeoJSON, CSV, GeoPackage, zipped Shapefile (/catalogue/…/download.*);
  - one OGC API items page of ``limit=10000`` (the largest page the API serves).

For each, the worker's peak resident memory is reset before the request (``/proc/PID/clear_refs``)
and read after it (``VmHWM``), and the response is read in 1 MiB blocks and checked: features
counted in the stream (GeoJSON, CSV) or in the file with pyogrio (GeoPackage, Shapefile). It prints
size, time to first byte, total time, features, and the worker's peak memory against the file's
size: a streamed download holds a bounded part of the file, never the whole of it. Usage::

    python bench/downloads.py [--rows 1000000] [--formats geojson,csv,gpkg,shp]

Environment: ``BENCH_DATABASE_URL`` as for ``bench/serve.py``. Linux only (reads /proc).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serve import DEFAULT_URL, BBOX, Server, ensure_database, prepare, wait_http  # noqa: E402

MIB = 1024 * 1024


def worker_pid(master: int) -> int:
    """The pid of the (only) worker of a gunicorn master."""
    for _ in range(100):
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def status_kib(pid: int, field: str) -> int:
    """A memory field of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


FEATURE = b'"type" : "Feature"'  # how PostgreSQL's json_build_object writes a Feature's start


def fetch(url: str, pid: int, keep: Path | None = None, marker: bytes = FEATURE) -> dict:
    """GET ``url`` in 1 MiB reads, counting ``marker`` (or keeping the file in ``keep``); return
    sizes, times and the worker's peak RSS meanwhile."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM, the peak resident size
    before = status_kib(pid, "VmRSS")
    start = time.perf_counter()
    size = features = 0
    first = None
    tail = b""
    out = open(keep, "wb") if keep else None
    try:
        with urllib.request.urlopen(url, timeout=3600) as resp:
            while block := resp.read(MIB):
                if first is None:
                    first = time.perf_counter() - start
                size += len(block)
                if out:
                    out.write(block)
                else:
                    window = tail + block  # count across block boundaries
                    features += window.count(marker)
                    tail = window[-(len(marker) - 1):] if len(marker) > 1 else b""
    finally:
        if out:
            out.close()
    return {"seconds": time.perf_counter() - start, "first": first or 0.0, "size": size, "features": features,
            "rss_before": before / 1024, "peak": status_kib(pid, "VmHWM") / 1024}


def count_file(path: Path, fmt: str) -> int:
    """Features of a downloaded GeoPackage or zipped Shapefile, read back with pyogrio."""
    import pyogrio

    target = f"/vsizip/{path}" if fmt == "shp" else str(path)
    return pyogrio.read_info(target, force_feature_count=True)["features"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="geojson,csv,gpkg,shp")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    prepare(url, args.rows)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ova-bench-dl-") as tmp:
        tmpdir = Path(tmp)
        env = {"DATABASE_URL": url, "OVA_INSTANCE_PATH": str(tmpdir / "instance"), "SECRET_KEY": "bench",
               # one client address sends everything: the per-client API limit would refuse it
               "OVA_API_REQUESTS_PER_MINUTE": "0",
               # a sync worker streaming 1 000 000 features is busy for minutes: not a hung worker
               "GUNICORN_CMD_ARGS": "--timeout 3600"}
        with Server(gunicorn, "portal:create_app()", 1, env, cwd=str(ROOT)) as srv:
            base = f"http://127.0.0.1:{srv.port}"
            wait_http(f"{base}/ogc/collections/signalements")
            pid = worker_pid(srv.proc.pid)
            for fmt in args.formats.split(","):
                print(f"{fmt} …", flush=True)
                keep = tmpdir / f"download.{'zip' if fmt == 'shp' else fmt}" if fmt in ("gpkg", "shp") else None
                r = fetch(f"{base}/catalogue/signalements/download.{fmt}", pid, keep,
                          b"\n" if fmt == "csv" else FEATURE)
                if fmt == "csv":
                    r["features"] -= 1  # the header line
                if keep:
                    r["features"] = count_file(keep, fmt)
                    keep.unlink()
                results[fmt] = r
                print(f"    {r}", flush=True)
            bbox = ",".join(str(v) for v in (2.25, 48.815, 2.42, 48.905))
            results["items limit=10000"] = fetch(
                f"{base}/ogc/collections/signalements/items?bbox={bbox}&limit=10000", pid)
    print()
    print(f"{args.rows} incidents; one gunicorn sync worker; peak = the worker's VmHWM during the request")
    print(f"{'response':<20} {'MiB':>8} {'1st byte s':>10} {'total s':>8} {'features':>9} {'RSS MiB':>8} "
          f"{'peak MiB':>9} {'peak-RSS':>9} {'% of size':>9}")
    for name, r in results.items():
        growth = r["peak"] - r["rss_before"]
        print(f"{name:<20} {r['size'] / MIB:>8.1f} {r['first']:>10.2f} {r['seconds']:>8.1f} {r['features']:>9} "
              f"{r['rss_before']:>8.0f} {r['peak']:>9.0f} {growth:>9.0f} {100 * growth * MIB / max(r['size'], 1):>8.1f}%")
    print(f"(bbox of the items page: the whole extent of the table, {BBOX} being the serving benchmark's)")


if __name__ == "__main__":
    main()
