"""Producers publish files as layers: validation, atomic replacement, versions, portal and CLI."""
from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import mapbox_vector_tile
import pytest
from shapely.geometry import Point, Polygon
from sqlalchemy import text

from layers.publish import publish
from ova.errors import Conflict, DataFileError


def _points(n=3, crs="EPSG:4326"):
    return gpd.GeoDataFrame({"nom": [f"Arbre {i} « ü »" for i in range(n)], "hauteur": [float(i) for i in range(n)],
                             "id": list(range(100, 100 + n))},
                            geometry=[Point(2.30 + i * 0.001, 48.83) for i in range(n)], crs=crs)


def test_publish_geojson_creates_a_served_layer(connection, client, tmp_path):
    path = tmp_path / "arbres.geojson"
    _points().to_file(path, driver="GeoJSON")
    done = publish(connection, path, producer="espaces-verts", title="Arbres remarquables", note="première")
    assert (done.slug, done.table, done.features, done.version, done.created) == (
        "arbres-remarquables", "published.arbres_remarquables", 3, 1, True)
    srid, n = connection.execute(text("SELECT ST_SRID(geom), count(*) FROM published.arbres_remarquables GROUP BY 1")).one()
    assert (srid, n) == (2154, 3)
    doc = client.get("/ogc/collections/arbres-remarquables/items").get_json(force=True)
    assert sorted(f["properties"]["nom"] for f in doc["features"]) == [f"Arbre {i} « ü »" for i in range(3)]
    assert doc["features"][0]["properties"]["id_source"] == 100
    assert doc["features"][0]["geometry"]["coordinates"] == pytest.approx([2.30, 48.83], abs=1e-6)


def test_new_version_replaces_data_and_invalidates_tiles(connection, client, tmp_path):
    path = tmp_path / "v1.gpkg"
    _points(3).to_file(path, driver="GPKG")
    publish(connection, path, producer="espaces-verts", title="Arbres")
    tile_url = "/tiles/arbres/14/8296/5638.pbf"
    first = client.get(tile_url)
    assert len(mapbox_vector_tile.decode(first.data)["arbres"]["features"]) == 3
    path2 = tmp_path / "v2.gpkg"
    _points(5).to_file(path2, driver="GPKG")
    done = publish(connection, path2, producer="espaces-verts", slug="arbres", note="ajout de deux arbres")
    assert (done.version, done.features, done.created) == (2, 5, False)
    second = client.get(tile_url, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert len(mapbox_vector_tile.decode(second.data)["arbres"]["features"]) == 5
    versions = connection.execute(text(
        "SELECT v.version, v.feature_count, v.note FROM layer_versions v JOIN layers l ON l.id = v.layer_id "
        "WHERE l.slug = 'arbres' ORDER BY v.version")).all()
    assert [tuple(v) for v in versions] == [(1, 3, None), (2, 5, "ajout de deux arbres")]


def test_failed_version_leaves_previous_data(connection, tmp_path):
    path = tmp_path / "ok.geojson"
    _points(2).to_file(path, driver="GeoJSON")
    publish(connection, path, producer="espaces-verts", title="Bancs")
    bad = tmp_path / "bad.csv"
    bad.write_text("nom,lon,lat\na,2.3,48.8\nb,abc,48.8\n")
    with pytest.raises(DataFileError, match="row 3"):
        publish(connection, bad, producer="espaces-verts", slug="bancs")
    assert connection.execute(text("SELECT count(*) FROM published.bancs")).scalar_one() == 2


def test_zipped_shapefile_and_csv(connection, tmp_path):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gpd.GeoDataFrame({"nom": ["Parc"]}, geometry=[Polygon([(650000, 6860000), (650100, 6860000),
                                                           (650100, 6860100), (650000, 6860000)])],
                     crs="EPSG:2154").to_file(shp_dir / "parcs.shp")
    archive = tmp_path / "parcs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    assert publish(connection, archive, producer="espaces-verts", title="Parcs").features == 1
    csv_path = tmp_path / "points.csv"
    csv_path.write_text("Nom,longitude,latitude\nFontaine,2.35,48.85\n", encoding="utf-8")
    assert publish(connection, csv_path, producer="proprete", title="Fontaines").features == 1
    xy = tmp_path / "xy.csv"
    xy.write_text("nom,x,y\nA,650000,6860000\n")
    with pytest.raises(DataFileError, match="need a CRS"):
        publish(connection, xy, producer="proprete", title="XY")
    assert publish(connection, xy, producer="proprete", title="XY", crs="EPSG:2154").features == 1


def test_validation_errors(connection, tmp_path):
    shp = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(650000, 6860000)]).to_file(shp)
    archive = tmp_path / "nocrs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in tmp_path.glob("nocrs.*"):
            if f.suffix != ".zip":
                zf.write(f, f.name)
    with pytest.raises(DataFileError, match="declares no CRS"):
        publish(connection, archive, producer="proprete", title="Sans CRS")
    assert publish(connection, archive, producer="proprete", title="Sans CRS", crs="EPSG:2154").features == 1
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataFileError, match="unsupported format"):
        publish(connection, tmp_path / "a.txt", producer="proprete", title="Texte")
    big = tmp_path / "big.geojson"
    _points(50).to_file(big, driver="GeoJSON")
    with pytest.raises(DataFileError, match="larger than"):
        publish(connection, big, producer="proprete", title="Big", max_bytes=100)


def test_cannot_overwrite_core_or_others_layers(connection, tmp_path):
    path = tmp_path / "p.geojson"
    _points().to_file(path, driver="GeoJSON")
    with pytest.raises(Conflict, match="another producer"):
        publish(connection, path, producer="proprete", slug="t-places")
    with pytest.raises(Conflict, match="not a published file"):
        publish(connection, path, producer="sig", slug="t-places")


def test_portal_upload_by_agent(login_as, connection, tmp_path):
    c = login_as("agent")  # agent of propreté
    buf = io.BytesIO()
    _points().to_file(buf, driver="GeoJSON")
    data = {"file": (io.BytesIO(buf.getvalue()), "depots.geojson"), "title": "Dépôts sauvages",
            "producer": "proprete", "licence": "Licence Ouverte 2.0", "note": "import"}
    resp = c.post("/catalogue/publish", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.headers["Location"].endswith("/catalogue/depots-sauvages")
    assert c.get("/catalogue/depots-sauvages").status_code == 200
    # a new version from the layer's page
    data = {"file": (io.BytesIO(buf.getvalue()), "depots.geojson"), "producer": "proprete", "note": "v2",
            "licence": "Licence Ouverte 2.0"}
    assert c.post("/catalogue/depots-sauvages/publish", data=data, content_type="multipart/form-data").status_code == 302
    assert connection.execute(text("SELECT data_version FROM layers WHERE slug = 'depots-sauvages'")).scalar_one() == 2


def test_portal_upload_refusals(login_as, client):
    assert login_as("citizen").get("/catalogue/publish").status_code == 403
    assert client.get("/catalogue/publish").status_code == 302
    agent = login_as("agent")
    # an agent publishes only for its own producer (the choice is not offered, and refused)
    data = {"file": (io.BytesIO(b"{}"), "x.geojson"), "title": "X", "producer": "voirie",
            "licence": "Licence Ouverte 2.0"}
    resp = agent.post("/catalogue/publish", data=data, content_type="multipart/form-data")
    assert resp.status_code == 200  # the form again, with the error
    assert client.get("/catalogue/x").status_code == 404
    assert agent.get("/catalogue/t-areas/publish").status_code == 403


def test_cli_publish(runner, connection, tmp_path):
    path = tmp_path / "cli.geojson"
    _points().to_file(path, driver="GeoJSON")
    result = runner.invoke(args=["layers", "publish", str(path), "--producer", "voirie", "--title", "Potelets"])
    assert result.exit_code == 0, result.output
    assert "layer potelets created: 3 features" in result.output
    result = runner.invoke(args=["layers", "publish", str(path), "--producer", "nope", "--title", "Zut"])
    assert result.exit_code != 0 and "unknown producer" in result.output


def test_new_version_with_other_columns_is_served_at_once(connection, client, tmp_path):
    first = tmp_path / "a.geojson"
    _points(2).to_file(first, driver="GeoJSON")
    publish(connection, first, producer="voirie", title="Plots")
    for _ in range(2):  # the second request takes the fast path
        props = client.get("/ogc/collections/plots/items").get_json(force=True)["features"][0]["properties"]
        assert "hauteur" in props
    second = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"couleur": ["rouge"]}, geometry=[Point(2.3, 48.8)], crs="EPSG:4326").to_file(second)
    publish(connection, second, producer="voirie", slug="plots")
    doc = client.get("/ogc/collections/plots/items").get_json(force=True)
    assert doc["numberReturned"] == 1 and doc["features"][0]["properties"] == {"couleur": "rouge"}
