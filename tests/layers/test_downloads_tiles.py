"""Downloads re-read with pyogrio; vector tiles decoded; cache invalidated by a data change."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import mapbox_vector_tile
import pyogrio
import pytest
from sqlalchemy import text

from ova.dataversion import touch
from layers.tiles import tile_bounds


def _db_places(connection):
    return connection.execute(text("SELECT id, name, kind, value FROM layertest.places ORDER BY id")).all()


def test_geojson_download(client, connection, tmp_path):
    resp = client.get("/catalogue/t-places/download.geojson")
    assert resp.status_code == 200 and resp.is_streamed
    assert 'attachment; filename="t-places.geojson"' == resp.headers["Content-Disposition"]
    doc = json.loads(resp.data)
    assert doc["licence"] == "ODbL 1.0" and doc["attribution"] == "Ville de test"
    path = tmp_path / "p.geojson"
    path.write_bytes(resp.data)
    df = pyogrio.read_dataframe(path)
    assert sorted(zip(df["value"], df["name"])) == sorted((r.value, r.name) for r in _db_places(connection))


@pytest.mark.parametrize("query, geo_cols", [("", ["lon", "lat"]), ("?geometry=wkt", ["wkt"])])
def test_csv_download(client, connection, query, geo_cols):
    resp = client.get(f"/catalogue/t-places/download.csv{query}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "opendatacommons.org" in resp.headers["Link"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert list(rows[0].keys())[-len(geo_cols):] == geo_cols
    assert [(int(r["id"]), r["name"]) for r in rows] == [(r.id, r.name) for r in _db_places(connection)]
    if geo_cols == ["lon", "lat"]:
        assert float(rows[0]["lon"]) == pytest.approx(2.304) and float(rows[0]["lat"]) == pytest.approx(48.83)


def test_csv_of_polygons_uses_wkt(client):
    text_ = client.get("/catalogue/t-areas/download.csv").get_data(as_text=True)
    assert text_.splitlines()[0] == "id,name,wkt" and "MULTIPOLYGON" in text_


def test_gpkg_download_keeps_licence(client, connection, tmp_path):
    resp = client.get("/catalogue/t-places/download.gpkg")
    assert resp.status_code == 200
    path = tmp_path / "p.gpkg"
    path.write_bytes(resp.data)
    df = pyogrio.read_dataframe(path)
    assert len(df) == 250 and sorted(df["name"]) == sorted(r.name for r in _db_places(connection))
    assert df.crs.to_epsg() == 4326
    info = pyogrio.read_info(path)
    assert info["layer_metadata"]["LICENCE"] == "ODbL 1.0"
    assert info["layer_metadata"]["ATTRIBUTION"] == "Ville de test"


def test_zipped_shapefile_download(client, connection, tmp_path):
    resp = client.get("/catalogue/t-areas/download.shp")
    assert resp.mimetype == "application/zip"
    path = tmp_path / "a.zip"
    path.write_bytes(resp.data)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "LICENCE.txt" in names and "t-areas.shp" in names
        assert "ODbL 1.0" in zf.read("LICENCE.txt").decode()
    df = pyogrio.read_dataframe(f"/vsizip/{path}/t-areas.shp")
    n = connection.execute(text("SELECT count(*) FROM layertest.areas")).scalar_one()
    assert len(df) == n and set(df["id"]) == set(connection.execute(text("SELECT id FROM layertest.areas")).scalars())


def test_filtered_layer_download_only_has_its_rows(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/catalogue/t-bancs/download.csv").get_data(as_text=True))))
    assert rows and {r["kind"] for r in rows} == {"banc"}


def test_unknown_format(client):
    assert client.get("/catalogue/t-places/download.xls").status_code == 404


# --- tiles -----------------------------------------------------------------------------------------

Z, X, Y = 14, 8296, 5638  # contains 2.304E 48.83N


def test_tile_bounds_checked():
    with pytest.raises(Exception, match="no tile"):
        tile_bounds(3, 8, 0)


def test_tile_decodes_to_the_database_features(client, connection):
    resp = client.get(f"/tiles/t-places/{Z}/{X}/{Y}.pbf")
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    assert resp.headers["ETag"] and "max-age" in resp.headers["Cache-Control"]
    tile = mapbox_vector_tile.decode(resp.data)
    features = tile["t-places"]["features"]
    x0, y0, x1, y1 = tile_bounds(Z, X, Y)
    expected = connection.execute(text(
        "SELECT id FROM layertest.places WHERE ST_Intersects(ST_Transform(geom, 3857), "
        "ST_MakeEnvelope(:a, :b, :c, :d, 3857))"), {"a": x0, "b": y0, "c": x1, "d": y1}).scalars().all()
    assert expected and {f["id"] for f in features} >= set(expected)
    one = next(f for f in features if f["id"] == expected[0])
    assert one["properties"]["name"].startswith("Lieu n°")
    empty = client.get("/tiles/t-places/14/0/0.pbf")
    assert empty.status_code == 204


def test_tile_etag_and_invalidation(client, connection):
    first = client.get(f"/tiles/t-places/{Z}/{X}/{Y}.pbf")
    again = client.get(f"/tiles/t-places/{Z}/{X}/{Y}.pbf", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    before = {f["id"] for f in mapbox_vector_tile.decode(first.data)["t-places"]["features"]}
    assert 1 in before
    # the data change and touch() happen together, as the ETL does
    connection.execute(text("DELETE FROM layertest.places WHERE id IN (1, 2)"))
    touch(connection, "layertest.places")
    after = client.get(f"/tiles/t-places/{Z}/{X}/{Y}.pbf", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    ids = {f["id"] for f in mapbox_vector_tile.decode(after.data)["t-places"]["features"]}
    assert ids == before - {1, 2}


def test_tilejson(client):
    doc = client.get("/tiles/t-places.json").get_json()
    assert doc["tilejson"] == "3.0.0" and doc["vector_layers"][0]["id"] == "t-places"
    assert doc["tiles"][0].startswith("http://localhost/tiles/t-places/{z}/{x}/{y}.pbf?v=")
    assert doc["vector_layers"][0]["fields"]["value"] == "Number"


def test_text_id_layer_tile(client):
    resp = client.get("/tiles/t-areas/12/2074/1409.pbf")
    assert resp.status_code == 200
    feats = mapbox_vector_tile.decode(resp.data)["t-areas"]["features"]
    assert feats and all(isinstance(f["properties"]["id"], str) for f in feats)


@pytest.mark.parametrize("writer", ["geojson", "csv"])
def test_downloads_stream_chunks_from_a_server_side_cursor(connection, monkeypatch, writer):
    """A download never holds the layer: rows come from a server-side cursor, CHUNK at a time, and
    each chunk is sent before the next is read (so 1 000 000 features stream in bounded memory)."""
    from layers import downloads
    from layers.sources import describe

    monkeypatch.setattr(downloads, "CHUNK", 40)
    meta = downloads.Meta(slug="t-places", title="Lieux", licence="ODbL 1.0", attribution=None, producer="SIG")
    parts = downloads.TEXT_WRITERS[writer](connection, describe(connection, "layertest.places"), meta)
    head = next(parts)
    first = next(parts)
    # the first chunk is out while the cursor is still open on the server with the rest of the rows
    assert connection.execute(text("SELECT count(*) FROM pg_cursors WHERE NOT is_holdable")).scalar_one() >= 1
    chunks = [first, *parts]
    marker = '"type" : "Feature"' if writer == "geojson" else "\n"
    counts = [c.count(marker) for c in chunks if c.count(marker)]
    assert max(counts) <= 40 and sum(counts) == 250 and len(counts) >= 250 // 40
    assert connection.execute(text("SELECT count(*) FROM pg_cursors WHERE NOT is_holdable")).scalar_one() == 0
    if writer == "geojson":
        doc = json.loads(head + "".join(chunks))
        assert [f["id"] for f in doc["features"]] == list(range(1, 251))


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_built_downloads_are_cached_per_data_version(app, client, connection, tmp_path, fmt):
    """GeoPackage and Shapefile are built once per data version, served with an ETag (304 when
    unchanged) and rebuilt, the old file removed, after a data change."""
    cache = tmp_path / "downloads"
    url = f"/catalogue/t-places/download.{fmt}"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "attachment" in first.headers["Content-Disposition"]
    files = sorted(cache.iterdir())
    assert len(files) == 1
    built_at = files[0].stat().st_mtime_ns
    again = client.get(url)
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert sorted(cache.iterdir()) == files and files[0].stat().st_mtime_ns == built_at   # not rebuilt
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    connection.execute(text("DELETE FROM layertest.places WHERE id IN (1, 2)"))
    touch(connection, "layertest.places")
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert [f.name for f in cache.iterdir()] != [f.name for f in files] and len(list(cache.iterdir())) == 1
    path = tmp_path / f"after.{'gpkg' if fmt == 'gpkg' else 'zip'}"
    path.write_bytes(changed.data)
    assert len(pyogrio.read_dataframe(path)) == 248
