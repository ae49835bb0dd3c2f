"""Benchmark of ``ova load incidents`` against ogr2ogr (PG_USE_COPY) and geopandas ``to_postgis``.

Run on demand (not part of the tests)::

    source var/test.env && .venv/bin/python bench/etl.py [--rows 1000000] [--data DIR]

It generates, with a fixed seed, N incident points in the Paris extent as a GeoPackage and as a
French CSV (``;`` separator, decimal comma, CP1252) — or reuses them from ``--data DIR`` —,
creates its own database ``<test database>_bench`` (migrated, seeded with the OVA grid and the
quality norms, Paris quartiers loaded), then times each tool in its own process and prints
rows/s, peak memory (max RSS of the process) and ratios against ogr2ogr.

``ova load`` does all its validation (types, dates in Europe/Paris, France extent, swapped
coordinates, duplicates, categories), merges into the live ``incidents`` table (its indexes and
foreign keys) while placing the points in quartiers/zones and setting deadlines, then recomputes
compliance; its phases are printed apart (read+validate+COPY / merge / after+commit). A second
load of the same file shows the idempotent reload. ogr2ogr and geopandas only copy rows into a
new table; the "floor" line is a bare INSERT…SELECT of the already-typed rows into ``incidents``
(rolled back): what the live table's indexes and foreign keys cost before any validation.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ova.settings import storage_srid  # noqa: E402
PARIS_EXTENT = (2.2242, 48.8156, 2.4699, 48.9022)
CATEGORIES = ["proprete", "graffiti", "encombrants", "depot-sauvage", "voirie", "eclairage"]
MAPPING = """target: incidents
source: bench
read: {x: lon, y: lat, crs: EPSG:4326}
fields:
  external_id: id
  category: categorie
  description: libelle
  reported_at: date_signalement
"""


def generate(rows: int, folder: Path, seed: int = 42) -> tuple[Path, Path]:
    """Write the seeded points as GPKG and as a French CSV; return both paths."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    rng = np.random.default_rng(seed)
    west, south, east, north = PARIS_EXTENT
    lon = rng.uniform(west, east, rows).round(6)
    lat = rng.uniform(south, north, rows).round(6)
    start = np.datetime64("2023-01-01T00:00")
    minutes = rng.integers(0, 2 * 365 * 24 * 60, rows)
    frame = pd.DataFrame({
        "id": [f"B{i:07d}" for i in range(rows)],
        "categorie": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)],
        "libelle": np.array(["Dépôt près de l'école", "Tag sur façade", "Lampadaire éteint"])[rng.integers(0, 3, rows)],
        "date_signalement": (start + minutes.astype("timedelta64[m]")).astype(str),
    })
    csv_path = folder / "incidents_bench.csv"
    french = frame.assign(lon=[f"{v:.6f}".replace(".", ",") for v in lon],
                          lat=[f"{v:.6f}".replace(".", ",") for v in lat])
    french["date_signalement"] = french["date_signalement"].str.replace("T", " ")
    french.to_csv(csv_path, sep=";", index=False, encoding="cp1252")
    gpkg_path = folder / "incidents_bench.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326),
                            gpkg_path, layer="incidents", use_arrow=True)
    return gpkg_path, csv_path


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run ``command``; return (seconds, peak RSS in MiB, output tail)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    output = process.stdout.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command[0]} failed ({process.returncode}):\n{output[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, output.strip().splitlines()[-8:]


def setup_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    from etl.targets import load
    from ova.db import normalise_url
    from ova.migrate import upgrade
    from norms.seeding import seed_norms
    from ova.seed import seed_all

    upgrade(url)
    engine = create_engine(normalise_url(url))
    seed_all(engine)
    seed_norms(engine)
    load(engine, "quartiers", ROOT / "geodata/paris/paris_quartiers_administratifs.geojson", preset="paris-quartiers")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = 'bench'"))
        conn.execute(text("DROP TABLE IF EXISTS bench_ogr, bench_gpd"))
    engine.dispose()


PHASES = {"read+validate+COPY": ("read", "validate", "copy", "duplicates"),
          "merge": ("merge: prepare", "merge: update", "merge: insert", "merge: rebuild indexes"),
          "after+commit": ("after merge", "commit")}

FLOOR_SQL = """
BEGIN;
INSERT INTO incidents (source, external_id, category, description, reported_at, geom, producer_id,
                       quartier_id, zone_id, norm_id, expected_at)
SELECT 'bench-floor', external_id, category, description, reported_at, geom, producer_id,
       quartier_id, zone_id, norm_id, expected_at FROM incidents WHERE source = 'bench' ORDER BY id;
ROLLBACK;
"""


def phases(output: list[str]) -> dict[str, float]:
    """The ``seconds:`` line of ``ova load`` grouped as in :data:`PHASES`."""
    line = next((line for line in output if line.strip().startswith("seconds:")), "")
    values = {}
    for part in line.split(":", 1)[1].split("(total")[0].split(",") if line else []:
        name, _, seconds = part.strip().rpartition(" ")
        values[name] = float(seconds)
    return {group: sum(values.get(name, 0.0) for name in names) for group, names in PHASES.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, help="folder of generated files, reused when present (kept)")
    parser.add_argument("--units", action="store_true",
                        help="then the GPKG load with every response-delay norm in hours, working days, working hours")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --units (best of each kept)")
    args = parser.parse_args()
    from sqlalchemy.engine import make_url  # light imports only in this parent process

    from ova.settings import test_database_url

    base = make_url(test_database_url())
    url = base.set(database=f"{base.database}_bench").render_as_string(hide_password=False)
    name = make_url(url).database
    subprocess.run(["runuser", "-u", "postgres", "--", "createdb", "-O", base.username, name], capture_output=True)
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-q", "-d", name, "-c",
                    "CREATE EXTENSION IF NOT EXISTS postgis"], capture_output=True, check=True)
    folder = args.data or Path(tempfile.mkdtemp(prefix="ova-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    gpkg, csv_path = folder / "incidents_bench.gpkg", folder / "incidents_bench.csv"
    # Setup and generation run in child processes: this parent stays small, so the peak RSS of
    # each timed child (which starts as a fork of this process) measures the tool alone.
    started = time.perf_counter()
    generate_rows = 0 if gpkg.exists() and csv_path.exists() else args.rows
    subprocess.run([sys.executable, __file__, "--_prepare", url, str(folder), str(generate_rows)], check=True)
    rows = int(subprocess.run(["ogrinfo", "-so", str(gpkg), "incidents"], capture_output=True, text=True,
                              check=True).stdout.split("Feature Count:")[1].split()[0])
    print(f"{'generated' if generate_rows else 'reused'} {rows:,} points in {time.perf_counter() - started:.1f} s: "
          f"{gpkg.stat().st_size / 2**20:.0f} MiB GPKG, {csv_path.stat().st_size / 2**20:.0f} MiB CSV")
    mapping = folder / "bench.yml"
    mapping.write_text(MAPPING, encoding="utf-8")

    env = dict(os.environ, DATABASE_URL=url, CI="true")
    ova = str(Path(sys.executable).parent / "ova")
    load = [ova, "load", "incidents"]
    options = ["--mapping", str(mapping), "--reject-file", str(folder / "rejects.csv")]
    results = {}
    for label, path in (("ova load incidents (CSV)", csv_path), ("ova load incidents (GPKG)", gpkg)):
        _sql(url, "DELETE FROM incidents WHERE source = 'bench'")
        _sql(url, "VACUUM ANALYZE incidents")
        results[label] = timed(load + [str(path)] + options, env)
    results["ova load incidents (GPKG), reload"] = timed(load + [str(gpkg)] + options, env)
    results["floor: INSERT of the typed rows into incidents"] = timed(["psql", "-X", "-q", url, "-c", FLOOR_SQL])
    pg = make_url(url)
    dsn = f"PG:host={pg.host} port={pg.port or 5432} dbname={pg.database} user={pg.username} password={pg.password}"
    reference_label = "ogr2ogr -f PostgreSQL (PG_USE_COPY=YES)"
    results[reference_label] = timed(
        ["ogr2ogr", "-f", "PostgreSQL", dsn, str(gpkg), "incidents", "-nln", "bench_ogr", "-overwrite",
         "-t_srs", f"EPSG:{storage_srid()}", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST"],
        dict(os.environ, PG_USE_COPY="YES"))
    results["geopandas to_postgis"] = timed([sys.executable, "-c", (
        "import geopandas as gpd, sqlalchemy\n"
        f"frame = gpd.read_file({str(gpkg)!r}, layer='incidents', use_arrow=True).to_crs({storage_srid()})\n"
        f"engine = sqlalchemy.create_engine({url.replace('postgresql://', 'postgresql+psycopg://')!r})\n"
        "frame.to_postgis('bench_gpd', engine, if_exists='replace', index=False, chunksize=100000)\n")])

    reference = results[reference_label][0]
    print(f"\n{'tool':50} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9} {'vs ogr2ogr':>10}")
    for label, (seconds, rss, _) in results.items():
        print(f"{label:50} {seconds:8.1f} {rows / seconds:10,.0f} {rss:9.0f} {seconds / reference:9.2f}x")
    print(f"\nova load phases (seconds, and ratio to ogr2ogr's {reference:.1f} s):")
    for label, (seconds, _, tail) in results.items():
        if label.startswith("ova"):
            split = phases(tail)
            print(f"  {label:40} " + " | ".join(f"{group} {value:.1f} ({value / reference:.2f}x)"
                                              for group, value in split.items()))
    for label, (_, _, tail) in results.items():
        if label.startswith("ova"):
            print(f"\n{label}:\n  " + "\n  ".join(tail))
    if args.units:
        by_unit = {}
        for _ in range(args.rounds):  # units interleaved: a drifting load favours none of them
            for unit, assignment in UNITS.items():
                _sql(url, f"UPDATE norms SET {assignment} WHERE metric = 'response_delay'")
                _sql(url, "DELETE FROM incidents WHERE source = 'bench'")
                _sql(url, "VACUUM ANALYZE incidents")
                seconds = timed(load + [str(gpkg)] + options, env)[0]
                print(f"  load with every delay in {unit}: {seconds:.1f} s", flush=True)
                by_unit[unit] = min(by_unit.get(unit, seconds), seconds)
        # The next run seeds the norms again (an upsert), in their own units.
        print("\nova load incidents (GPKG) by delay unit, best of "
              f"{args.rounds}: " + ", ".join(f"{u} {t:.1f} s ({t / by_unit['hours']:.2f}x)" for u, t in by_unit.items())
              + " (target: working units within 1.10x of hours)")
    if not args.data:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


#: The same norms with every response delay in each unit (as bench/compliance.py sets them).
UNITS = {"hours": "delay_unit = 'hours', delay_value = coalesce(delay_value, 48)",
         "working_days": "delay_unit = 'working_days', delay_value = greatest(1, coalesce(delay_value, 48) / 24)",
         "working_hours": "delay_unit = 'working_hours', delay_value = coalesce(delay_value, 48), "
                          "calendar_id = (SELECT id FROM calendars WHERE code = 'ouvres-8h-18h')"}


def _sql(url: str, statement: str) -> None:
    subprocess.run(["psql", "-X", "-q", url, "-c", statement], check=True, capture_output=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--_prepare":
        setup_database(sys.argv[2])
        if int(sys.argv[4]):
            generate(int(sys.argv[4]), Path(sys.argv[3]))
    else:
        main()
