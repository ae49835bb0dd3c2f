"""GDAL's OAPIF driver and OWSLib's Features client read our API like the database."""
from __future__ import annotations

import json
import subprocess

from owslib.ogcapi.features import Features
from sqlalchemy import text


def _ogr(*args: str) -> str:
    result = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120,
                            env={"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gdal_lists_and_counts_collections(live_server, engine):
    out = _ogr("OAPIF:" + live_server + "/ogc")
    assert "t-places" in out and "t-areas" in out and "t-secret" not in out
    summary = _ogr("-so", "OAPIF:" + live_server + "/ogc", "t-places")
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM layertest.places")).scalar_one()
    assert f"Feature Count: {n}" in summary
    for field in ("name: String", "kind: String", "value: Integer", "reported_at: DateTime"):
        assert field in summary


def test_gdal_reads_every_feature_with_paging(live_server, engine):
    result = subprocess.run(
        ["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", "OAPIF:" + live_server + "/ogc", "t-places",
         "-oo", "PAGE_SIZE=60"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    features = json.loads(result.stdout)["features"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name, value FROM layertest.places ORDER BY id")).all()
    got = sorted((f["properties"]["value"], f["properties"]["name"]) for f in features)
    assert got == sorted((r.value, r.name) for r in rows)


def test_gdal_polygons_and_text_ids(live_server, engine):
    summary = _ogr("-so", "OAPIF:" + live_server + "/ogc", "t-areas")
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM layertest.areas")).scalar_one()
    assert f"Feature Count: {n}" in summary
    assert "Multi Polygon" in summary or "Polygon" in summary


def test_owslib_features_round_trip(live_server, engine):
    api = Features(live_server + "/ogc")
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"t-places", "t-areas"} <= ids and "t-secret" not in ids
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    page = api.collection_items("t-places", limit=1000, kind="fontaine")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name FROM layertest.places WHERE kind = 'fontaine' ORDER BY id")).all()
    assert page["numberMatched"] == len(rows)
    assert [(f["id"], f["properties"]["name"]) for f in page["features"]] == [tuple(r) for r in rows]
    one = api.collection_item("t-places", "3")
    assert one["properties"]["kind"] == "banc"
