"""The spatial core on La Réunion (EPSG:2975, Indian/Reunion) and Leipzig (EPSG:25833, Europe/Berlin).

Loaders, placement of reports, deadlines and compliance months in the territory's time zone, OGC
API items with a world bbox, vector tiles at zoom 0, areas and distances in the territory's CRS.
"""
from __future__ import annotations

import datetime as dt
import json

import mapbox_vector_tile
import pyproj
import pytest
from sqlalchemy import text

from etl.targets import load
from ova.errors import DataFileError, InvalidInput
from ova.territory import TerritoryMismatch
from tests.builders import add_graffiti_norm
from tests.territories.conftest import TERRITORIES

WORLD = "-180,-90,180,90"


def test_the_database_records_its_territory(place):
    row = place.conn.execute(text("SELECT srid, timezone FROM territory")).one()
    assert tuple(row) == (place.place.srid, place.place.timezone)
    srids = set(place.conn.scalars(text("SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema = 'public' "
                                        "AND f_table_name NOT IN ('basemap_features', 'csw_records')")))
    assert srids == {place.place.srid}


def test_quartiers_load_in_the_territory_crs_with_their_real_area(place, loaded):
    assert (loaded.read, loaded.inserted) == (place.place.count, place.place.count)
    srid, area = place.conn.execute(text("SELECT min(ST_SRID(geom)), sum(ST_Area(geom)) / 1e6 FROM quartiers")).one()
    assert srid == place.place.srid
    assert area == pytest.approx(place.place.area_km2, rel=0.01)


def test_reloading_changes_nothing(place, loaded):
    again = load(place.conn, "quartiers", TERRITORIES / place.place.quartiers, preset=place.place.preset)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, place.place.count)


def test_a_quartier_outside_the_territory_is_refused_naming_it(place, tmp_path):
    data = json.loads((TERRITORIES / place.place.quartiers).read_text())
    paris = json.loads(json.dumps(data["features"][0]))
    paris["geometry"] = {"type": "Polygon", "coordinates": [[[2.33, 48.84], [2.37, 48.84], [2.37, 48.87],
                                                             [2.33, 48.84]]]}
    data["features"].append(paris)
    path = tmp_path / "with_paris.geojson"
    path.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match=rf"outside the territory \({place.place.name}, extent lon "):
        load(place.conn, "quartiers", path, preset=place.place.preset)


def test_swapped_coordinates_are_told_in_any_hemisphere(place, tmp_path):
    data = json.loads((TERRITORIES / place.place.quartiers).read_text())
    feature = data["features"][0]
    polygon = feature["geometry"]["coordinates"] if feature["geometry"]["type"] == "Polygon" \
        else feature["geometry"]["coordinates"][0]
    feature["geometry"] = {"type": "Polygon", "coordinates": [[[lat, lon] for lon, lat in ring] for ring in polygon]}
    path = tmp_path / "swapped.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(DataFileError, match="longitude and latitude look swapped"):
        load(place.conn, "quartiers", path, preset=place.place.preset)


def _report(place, lon, lat, reported_at=None):
    from incidents.reports import NewReport, create_report
    from ova.db import make_sessionmaker

    with make_sessionmaker(place.conn)() as session:
        created = create_report(session, NewReport(category="graffiti", lat=lat, lon=lon, description="Tag",
                                                   reported_at=reported_at))
        session.commit()  # the savepoint: the test's transaction is still rolled back
        return created.incident.id


def test_reports_are_placed_in_their_quartier(place, loaded):
    code, lon, lat = place.place.inside
    incident = _report(place, lon, lat)
    row = place.conn.execute(text(
        "SELECT q.code, ST_SRID(i.geom), ST_X(ST_Transform(i.geom, 4326)), ST_Y(ST_Transform(i.geom, 4326)) "
        "FROM incidents i JOIN quartiers q ON q.id = i.quartier_id WHERE i.id = :i"), {"i": incident}).one()
    assert row[:2] == (code, place.place.srid)
    assert (row[2], row[3]) == pytest.approx((lon, lat), abs=1e-7)
    with pytest.raises(InvalidInput, match="en dehors des quartiers"):
        _report(place, 2.35, 48.85)  # Paris


def test_deadline_and_compliance_month_in_the_territory_time_zone(place, loaded):
    from norms.engine import compute_all

    add_graffiti_norm(place.conn)
    code, lon, lat = place.place.inside
    # 20:30 UTC on 31 January: 00:30 on 1 February in La Réunion (UTC+4), 21:30 on 31 January in Leipzig.
    at = dt.datetime(2024, 1, 31, 20, 30, tzinfo=dt.timezone.utc)
    incident = _report(place, lon, lat, reported_at=at)
    expected = place.conn.scalar(text("SELECT expected_at FROM incidents WHERE id = :i"), {"i": incident})
    assert expected == at + dt.timedelta(hours=72)
    compute_all(place.conn, as_of=dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc))
    months = set(place.conn.scalars(text("SELECT month FROM compliance_results WHERE incidents > 0")))
    assert months == {dt.date(2024, 2, 1) if place.place.key == "reunion" else dt.date(2024, 1, 1)}


def test_ogc_items_of_the_whole_world(place, loaded, place_app):
    from layers.catalogue import seed_layers

    seed_layers(place.conn)
    client = place_app.test_client()
    response = client.get(f"/ogc/collections/quartiers/items?bbox={WORLD}&limit=1000")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert len(response.get_json()["features"]) == place.place.count
    collection = client.get("/ogc/collections/quartiers").get_json()
    storage = f"http://www.opengis.net/def/crs/EPSG/0/{place.place.srid}"
    assert collection["storageCrs"] == storage and storage in collection["crs"]
    # In the storage CRS: coordinates in metres, a bbox in metres too.
    metres = client.get(f"/ogc/collections/quartiers/items?limit=1&crs={storage}").get_json()
    x, y = metres["features"][0]["geometry"]["coordinates"][0][0][0]
    assert abs(x) > 1000 and abs(y) > 1000
    huge = client.get(f"/ogc/collections/quartiers/items?bbox=-1e8,-1e8,1e8,1e8&bbox-crs={storage}&limit=1000")
    assert huge.status_code == 200 and len(huge.get_json()["features"]) == place.place.count
    assert client.get("/ogc/collections/quartiers/items?bbox=2.2,48.8,2.4,48.9").get_json()["features"] == []


def test_z0_tile_and_a_city_tile(place, loaded, place_app):
    from layers.catalogue import seed_layers

    seed_layers(place.conn)
    client = place_app.test_client()
    z0 = client.get("/tiles/quartiers/0/0/0.pbf")
    assert z0.status_code == 200
    assert len(mapbox_vector_tile.decode(z0.data)["quartiers"]["features"]) == place.place.count
    import morecantile

    _, lon, lat = place.place.inside
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 12)
    city = client.get(f"/tiles/quartiers/12/{tile.x}/{tile.y}.pbf")
    assert city.status_code == 200 and mapbox_vector_tile.decode(city.data)["quartiers"]["features"]


def test_distances_in_metres_of_the_territory_crs(place):
    _, lon, lat = place.place.inside
    far_lon, far_lat = lon + 0.1, lat + 0.05
    metres = place.conn.scalar(text(
        "SELECT ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(:a, :b), 4326), :s), "
        "ST_Transform(ST_SetSRID(ST_MakePoint(:c, :d), 4326), :s))"),
        {"a": lon, "b": lat, "c": far_lon, "d": far_lat, "s": place.place.srid})
    geodesic = pyproj.Geod(ellps="GRS80").inv(lon, lat, far_lon, far_lat)[2]
    assert metres == pytest.approx(geodesic, rel=1e-3)  # UTM's scale error stays under 0.1 %


def test_the_portal_refuses_the_database_with_another_crs(place, monkeypatch):
    from portal import create_app

    monkeypatch.delenv("OVA_STORAGE_CRS")
    with pytest.raises(TerritoryMismatch, match=rf"EPSG:{place.place.srid} .* but OVA_STORAGE_CRS is EPSG:2154"):
        create_app({"TESTING": True, "DATABASE_URL": place.url, "SECRET_KEY": "x"})


def test_a_file_in_the_territory_crs_without_crs_is_diagnosed(place, tmp_path):
    import geopandas as gpd

    frame = gpd.read_file(TERRITORIES / place.place.quartiers).to_crs(place.place.srid)
    path = tmp_path / "no_crs.geojson"
    data = json.loads(frame.to_json())
    data.pop("crs", None)
    path.write_text(json.dumps(data))  # metres without a crs member: read as WGS 84 by GDAL
    with pytest.raises(DataFileError, match=rf"they fit EPSG:{place.place.srid} .*; pass --crs EPSG:{place.place.srid}"):
        load(place.conn, "quartiers", path, preset=place.place.preset)
    summary = load(place.conn, "quartiers", path, preset=place.place.preset, crs=f"EPSG:{place.place.srid}")
    assert summary.inserted == place.place.count


def test_pages_of_the_territory(place, loaded, place_app):
    from layers.catalogue import seed_layers

    seed_layers(place.conn)
    client = place_app.test_client()
    code, lon, lat = place.place.inside
    _report(place, lon, lat)
    home = client.get("/")
    assert home.status_code == 200
    page = client.get(f"/quartiers/{code}")
    assert page.status_code == 200
    feed = client.get(f"/api/quartiers/{code}/incidents.geojson?bbox={WORLD}").get_json()
    assert len(feed["features"]) == 1
    achats = client.get("/achats").get_data(as_text=True)
    assert ('id="join-rate"' in achats) == (place.place.country == "FR")  # no SIRENE outside France


def test_loaded_local_times_are_the_territory_s(place, loaded, tmp_path):
    """A date without an offset is local time of OVA_TIMEZONE; the load places and months it there."""
    _, lon, lat = place.place.inside
    path = tmp_path / "reports.csv"
    path.write_text(f"id,categorie,date,lon,lat\nR1,graffiti,2024-01-31 23:30,{lon},{lat}\n")
    mapping = tmp_path / "reports.yml"
    mapping.write_text("target: incidents\nsource: city\nread: {x: lon, y: lat, crs: EPSG:4326}\n"
                       "fields:\n  external_id: id\n  category: categorie\n  reported_at: date\n")
    assert load(place.conn, "incidents", path, mapping=str(mapping)).inserted == 1
    reported, code = place.conn.execute(text(
        "SELECT i.reported_at, q.code FROM incidents i JOIN quartiers q ON q.id = i.quartier_id "
        "WHERE i.external_id = 'R1'")).one()
    hours = {"reunion": 4, "leipzig": 1}[place.place.key]  # UTC+4, UTC+1 in winter
    assert reported == dt.datetime(2024, 1, 31, 23 - hours, 30, tzinfo=dt.timezone.utc)
    assert code == place.place.inside[0]
