"""Committed test layers (the live server and GDAL/OWSLib clients see them), removed at the end.

They live in their own schema ``layertest`` so that no other package's tests see them.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import text

GEODATA = Path(__file__).resolve().parents[2] / "geodata"

N_PLACES = 250
KINDS = ("banc", "fontaine", "poubelle")


def _create(conn) -> None:
    conn.execute(text("DROP SCHEMA IF EXISTS layertest CASCADE"))
    conn.execute(text("CREATE SCHEMA layertest"))
    conn.execute(text(
        "CREATE TABLE layertest.places (id integer PRIMARY KEY, name text, kind text, value integer, "
        "reported_at timestamptz, geom geometry(Point, 2154) NOT NULL)"))
    conn.execute(text("CREATE INDEX ON layertest.places USING gist (geom)"))
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    rows = [{"id": i, "name": f"Lieu n°{i} « é »", "kind": KINDS[i % 3], "value": i * 10,
             "t": base + dt.timedelta(days=i), "lon": 2.30 + (i % 25) * 0.004, "lat": 48.83 + (i // 25) * 0.004}
            for i in range(1, N_PLACES + 1)]
    conn.execute(text(
        "INSERT INTO layertest.places VALUES (:id, :name, :kind, :value, :t, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2154))"), rows)
    df = pyogrio.read_dataframe(GEODATA / "paris" / "paris_quartiers_administratifs.geojson").to_crs(2154)
    conn.execute(text(
        "CREATE TABLE layertest.areas (id text PRIMARY KEY, name text, geom geometry(MultiPolygon, 2154))"))
    code_col = "c_quinsee"
    name_col = "l_qu"
    conn.execute(text(
        "INSERT INTO layertest.areas VALUES (:id, :name, ST_Multi(ST_GeomFromWKB(:wkb, 2154)))"),
        [{"id": str(r[code_col]).removesuffix(".0"), "name": r[name_col], "wkb": r.geometry.wkb} for _, r in df.iterrows()])
    conn.execute(text(
        "CREATE VIEW layertest.fountains AS SELECT id, name, value, geom FROM layertest.places "
        "WHERE kind = 'fontaine'"))
    producer = conn.execute(text("SELECT id FROM producers WHERE slug = 'sig'")).scalar_one()
    for slug, title, table, restricted, filt in (
        ("t-places", "Lieux de test", "layertest.places", [], {}),
        ("t-areas", "Quartiers de test", "layertest.areas", [], {}),
        ("t-bancs", "Bancs (filtre)", "layertest.places", [], {"kind": "banc"}),
        ("t-secret", "Couche réservée", "layertest.fountains", ["banque"], {}),
    ):
        conn.execute(text(
            "INSERT INTO layers (slug, title, abstract, producer_id, source_table, source_filter, restricted_to, "
            "licence, attribution, keywords, theme) VALUES (:s, :t, :a, :p, :tbl, CAST(:f AS jsonb), :r, "
            "'ODbL 1.0', 'Ville de test', ARRAY['test'], 'Tests')"),
            {"s": slug, "t": title, "a": f"Résumé de {title}", "p": producer, "tbl": table,
             "f": json.dumps(filt), "r": restricted})


def _drop(conn) -> None:
    conn.execute(text("DELETE FROM layers WHERE slug LIKE 't-%'"))
    conn.execute(text("DROP SCHEMA IF EXISTS layertest CASCADE"))


@pytest.fixture(scope="session")
def test_layers(engine):
    """Commit the test tables and layers once; remove them after the session."""
    with engine.begin() as conn:
        _drop(conn)
        _create(conn)
    yield
    with engine.begin() as conn:
        _drop(conn)


@pytest.fixture(autouse=True)
def _layers_committed(test_layers):
    """Every test of this package sees the committed test layers."""
