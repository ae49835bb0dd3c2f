"""Benchmark: quartier page weight and time with many incidents in one quartier (not run by make test).

Usage: DATABASE_URL=postgresql://…/ova_<name> .venv/bin/python bench/quartier_page.py [N]
Needs a migrated, seeded database (its own, never a shared one). Creates a 1 km quartier
``BENCH`` and N incidents in it (default 1 000 000) in one set-based INSERT … SELECT
generate_series, commits them, then measures the HTML page, the bbox feed and the home page,
and removes everything it created.
"""
from __future__ import annotations

import os
import sys
import time

from sqlalchemy import create_engine, text

from ova.db import normalise_url
from ova.settings import STORAGE_SRID, storage_srid
from portal import create_app

SRIDS: dict[str, int] = {}
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def main() -> None:
    url = os.environ["DATABASE_URL"]
    # The bench quartier and its points are drawn in Lambert-93 metres (Paris), stored in the storage CRS.
    global SRIDS
    SRIDS = {"l93": STORAGE_SRID, "srid": storage_srid()}
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        qid = conn.execute(text("""
            INSERT INTO quartiers (code, name, commune_name, source, geom)
            VALUES ('BENCH', 'Quartier du banc d''essai', 'Paris', 'bench',
                    ST_Multi(ST_Transform(ST_MakeEnvelope(651000, 6862000, 652000, 6863000, :l93), :srid))) RETURNING id
        """), SRIDS).scalar_one()
    try:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("""
                INSERT INTO incidents (source, external_id, category, description, address, reported_at,
                                       resolved_at, expected_at, times_simulated, status, quartier_id, geom)
                SELECT 'bench', g::text,
                       (ARRAY['graffiti','proprete','eclairage','voirie','depot-sauvage','encombrants'])[1 + g % 6],
                       'Signalement de banc d''essai n° ' || g, g || ' rue du Volume',
                       now() - make_interval(secs => g * 30),
                       CASE WHEN g % 3 = 0 THEN now() - make_interval(secs => g * 30) + interval '20 hours' END,
                       now() - make_interval(secs => g * 30) + interval '48 hours', g % 2 = 0,
                       (ARRAY['new','acknowledged','in_progress','resolved'])[1 + g % 4], :q,
                       ST_Transform(ST_SetSRID(ST_MakePoint(651000 + (g::bigint * 7919) % 1000,
                                               6862000 + (g::bigint * 104729) % 1000), :l93), :srid)
                FROM generate_series(1, :n) g
            """), {"q": qid, "n": N, **SRIDS})
            conn.execute(text("ANALYZE incidents"))
        print(f"inserted {N} incidents in {time.perf_counter() - t0:.1f} s")
        with engine.connect() as conn:
            bbox = ",".join(f"{v:.6f}" for v in conn.execute(text("""
                SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Transform(
                    ST_MakeEnvelope(651000, 6862000, 651200, 6862200, :l93), 4326) AS b) s"""), SRIDS).one())
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        client = app.test_client()
        for label, path in (("quartier page", "/quartiers/BENCH"),
                            ("incidents feed (whole quartier, limit 1000)", "/api/quartiers/BENCH/incidents.geojson"),
                            ("incidents feed (bbox 200 m, limit 1000)",
                             f"/api/quartiers/BENCH/incidents.geojson?bbox={bbox}"),
                            ("home page", "/")):
            client.get(path)  # warm
            t0 = time.perf_counter()
            r = client.get(path)
            print(f"{label}: HTTP {r.status_code}, {len(r.data) / 1024:.1f} KiB, {time.perf_counter() - t0:.2f} s")
            if path.startswith("/quartiers/"):
                assert len(r.data) < 300_000, "quartier page over 300 KB"
        app.extensions["ova_engine"].dispose()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE quartier_id = :q"), {"q": qid})
            conn.execute(text("DELETE FROM quartiers WHERE id = :q"), {"q": qid})
        engine.dispose()


if __name__ == "__main__":
    main()
