"""End to end: a published month is a catalogue layer in every download format and in the OGC API."""
import csv
import datetime as dt
import io
import json
import zipfile

import pyogrio
import pytest
from sqlalchemy import text

from norms.engine import compute_all
from norms.publication import publish_month

UTC = dt.timezone.utc


@pytest.fixture
def published(connection, fx):
    """March 2024 published: two quartiers, two norms, rates 0.5 / 1.0 / 0.0 / 0.75 (Q2 encombrants)."""
    q1 = fx.quartier("Q1")
    q2 = fx.quartier("Q2", x0=652000)
    fx.norm("g48", hours=48, min_sample=1)
    fx.norm("e72", hours=72, categories=("encombrants",), min_sample=1)
    t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
    h = dt.timedelta(hours=1)
    # Q1 graffiti: one on time, one late → 0.5; Q1 encombrants: on time → 1.0.
    fx.incident(t0, t0 + h, quartier_id=q1)
    fx.incident(t0, t0 + 100 * h, quartier_id=q1)
    fx.incident(t0, t0 + 72 * h, category="encombrants", quartier_id=q1)
    # Q2 graffiti: still open and overdue → 0.0; Q2 encombrants: 3 of 4 on time → 0.75.
    fx.incident(t0, None, quartier_id=q2, xy=(652100, 6860100))
    for hours in (1, 2, 3, 80):
        fx.incident(t0, t0 + hours * h, category="encombrants", quartier_id=q2, xy=(652100, 6860100))
    compute_all(connection, as_of=dt.datetime(2024, 4, 2, tzinfo=UTC))
    pub = publish_month(connection, dt.date(2024, 3, 1), published_by="test")
    frozen = {(r.quartier_code, r.norm_code): float(r.rate) for r in connection.execute(text(
        "SELECT quartier_code, norm_code, rate FROM published_results "
        "WHERE publication_id = :p AND zone_code IS NULL"), {"p": pub.id})}
    assert frozen == {("Q1", "g48"): 0.5, ("Q1", "e72"): 1.0, ("Q2", "g48"): 0.0, ("Q2", "e72"): 0.75}
    return pub, frozen


def _rates(records) -> dict:
    return {(r["quartier_code"], r["norm_code"]): float(r["rate"]) for r in records}


def _download(client, pub, ext: str, folder):
    """GET the publication layer's ``ext`` download (200) and write it to a file; (response, path)."""
    resp = client.get(f"/catalogue/{pub.layer_slug}/download.{ext}")
    assert resp.status_code == 200
    path = folder / f"p.{'zip' if ext == 'shp' else ext}"
    path.write_bytes(resp.data)
    return resp, path


def test_geojson_download_has_the_frozen_rates(client, published, tmp_path):
    pub, frozen = published
    resp, path = _download(client, pub, "geojson", tmp_path)
    df = pyogrio.read_dataframe(path)
    assert _rates(df.to_dict("records")) == frozen
    assert set(df.geometry.geom_type) == {"MultiPolygon"} and df.crs.to_epsg() == 4326
    assert json.loads(resp.data)["licence"] == "Licence Ouverte 2.0"


def test_csv_download_has_the_frozen_rates(client, published):
    pub, frozen = published
    resp = client.get(f"/catalogue/{pub.layer_slug}/download.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert _rates(rows) == frozen
    assert all(r["wkt"].startswith("MULTIPOLYGON") and r["month"] == "2024-03-01" for r in rows)


def test_gpkg_download_has_the_frozen_rates(client, published, tmp_path):
    pub, frozen = published
    _, path = _download(client, pub, "gpkg", tmp_path)
    df = pyogrio.read_dataframe(path)
    assert _rates(df.to_dict("records")) == frozen and df.crs.to_epsg() == 4326
    assert pyogrio.read_info(path)["layer_metadata"]["LICENCE"] == "Licence Ouverte 2.0"


def test_zipped_shapefile_download_has_the_frozen_rates(client, published, tmp_path):
    pub, frozen = published
    resp, path = _download(client, pub, "shp", tmp_path)
    assert resp.mimetype == "application/zip"
    with zipfile.ZipFile(path) as zf:
        assert f"{pub.layer_slug}.shp" in zf.namelist() and "LICENCE.txt" in zf.namelist()
    df = pyogrio.read_dataframe(f"/vsizip/{path}/{pub.layer_slug}.shp")
    # Shapefile field names are at most 10 characters.
    assert {(r["quartier_c"], r["norm_code"]): float(r["rate"]) for r in df.to_dict("records")} == frozen
    # A Shapefile does not tell single polygons from multipolygons: one-part quartiers read back as Polygon.
    assert set(df.geometry.geom_type) <= {"Polygon", "MultiPolygon"} and df.crs.to_epsg() == 4326


def test_ogc_api_items_have_the_frozen_rates(client, published):
    pub, frozen = published
    coll = client.get(f"/ogc/collections/{pub.layer_slug}?f=json")
    assert coll.status_code == 200 and coll.get_json()["id"] == pub.layer_slug
    resp = client.get(f"/ogc/collections/{pub.layer_slug}/items?f=json&limit=100")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    doc = resp.get_json()
    assert doc["numberMatched"] == len(frozen)
    assert _rates(f["properties"] for f in doc["features"]) == frozen
    assert {f["geometry"]["type"] for f in doc["features"]} == {"MultiPolygon"}


def test_catalogue_page_and_ogc_html_list_the_published_layer(client, published):
    pub, _ = published
    page = client.get(f"/catalogue/{pub.layer_slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for fmt in ("geojson", "csv", "gpkg", "shp"):
        assert f"/catalogue/{pub.layer_slug}/download.{fmt}" in html
    assert pub.layer_slug in client.get("/catalogue/feed.atom").get_data(as_text=True)
    items = client.get(f"/ogc/collections/{pub.layer_slug}/items?f=html")
    assert items.status_code == 200 and "Q2" in items.get_data(as_text=True)
