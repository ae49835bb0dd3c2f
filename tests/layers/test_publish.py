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

#: The metadata a new layer needs (keywords, theme, contact).
META = {"keywords": ["test"], "theme": "Environnement", "contact": "sig@ville.example"}


def _points(n=3, crs="EPSG:4326"):
    return gpd.GeoDataFrame({"nom": [f"Arbre {i} « ü »" for i in range(n)], "hauteur": [float(i) for i in range(n)],
                             "id": list(range(100, 100 + n))},
                            geometry=[Point(2.30 + i * 0.001, 48.83) for i in range(n)], crs=crs)


def test_publish_geojson_creates_a_served_layer(connection, client, tmp_path):
    path = tmp_path / "arbres.geojson"
    _points().to_file(path, driver="GeoJSON")
    done = publish(connection, path, producer="espaces-verts", title="Arbres remarquables", note="première", **META)
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
    publish(connection, path, producer="espaces-verts", title="Arbres", **META)
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
    publish(connection, path, producer="espaces-verts", title="Bancs", **META)
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
    assert publish(connection, archive, producer="espaces-verts", title="Parcs", **META).features == 1
    csv_path = tmp_path / "points.csv"
    csv_path.write_text("Nom,longitude,latitude\nFontaine,2.35,48.85\n", encoding="utf-8")
    assert publish(connection, csv_path, producer="proprete", title="Fontaines", **META).features == 1
    xy = tmp_path / "xy.csv"
    xy.write_text("nom,x,y\nA,650000,6860000\n")
    with pytest.raises(DataFileError, match="no CRS in the file.*fit EPSG:2154"):
        publish(connection, xy, producer="proprete", title="XY", **META)
    assert publish(connection, xy, producer="proprete", title="XY", crs="EPSG:2154", **META).features == 1


def test_validation_errors(connection, tmp_path):
    shp = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(650000, 6860000)]).to_file(shp)
    archive = tmp_path / "nocrs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in tmp_path.glob("nocrs.*"):
            if f.suffix != ".zip":
                zf.write(f, f.name)
    with pytest.raises(DataFileError, match="no CRS in the file.*fit EPSG:2154"):
        publish(connection, archive, producer="proprete", title="Sans CRS", **META)
    assert publish(connection, archive, producer="proprete", title="Sans CRS", crs="EPSG:2154", **META).features == 1
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataFileError, match="unsupported format"):
        publish(connection, tmp_path / "a.txt", producer="proprete", title="Texte")
    big = tmp_path / "big.geojson"
    _points(50).to_file(big, driver="GeoJSON")
    with pytest.raises(DataFileError, match="larger than"):
        publish(connection, big, producer="proprete", title="Big", max_bytes=100, **META)


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
            "producer": "proprete", "licence": "Licence Ouverte 2.0", "note": "import", "keywords": "dépôts, propreté",
            "theme": "Propreté", "contact": "proprete@ville.example"}
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
            "licence": "Licence Ouverte 2.0", "keywords": "x", "theme": "Transports", "contact": "x@ville.example"}
    resp = agent.post("/catalogue/publish", data=data, content_type="multipart/form-data")
    assert resp.status_code == 200  # the form again, with the error
    assert client.get("/catalogue/x").status_code == 404
    assert agent.get("/catalogue/t-areas/publish").status_code == 403


def test_cli_publish(runner, connection, tmp_path):
    path = tmp_path / "cli.geojson"
    _points().to_file(path, driver="GeoJSON")
    result = runner.invoke(args=["layers", "publish", str(path), "--producer", "voirie", "--title", "Potelets",
                                 "--keywords", "voirie, mobilier", "--theme", "Transports",
                                 "--contact", "voirie@ville.example"])
    assert result.exit_code == 0, result.output
    assert "layer potelets created: 3 features" in result.output
    result = runner.invoke(args=["layers", "publish", str(path), "--producer", "nope", "--title", "Zut"])
    assert result.exit_code != 0 and "unknown producer" in result.output


def test_new_version_with_other_columns_is_served_at_once(connection, client, tmp_path):
    first = tmp_path / "a.geojson"
    _points(2).to_file(first, driver="GeoJSON")
    publish(connection, first, producer="voirie", title="Plots", **META)
    for _ in range(2):  # the second request takes the fast path
        props = client.get("/ogc/collections/plots/items").get_json(force=True)["features"][0]["properties"]
        assert "hauteur" in props
    second = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"couleur": ["rouge"]}, geometry=[Point(2.3, 48.8)], crs="EPSG:4326").to_file(second)
    publish(connection, second, producer="voirie", slug="plots")
    doc = client.get("/ogc/collections/plots/items").get_json(force=True)
    assert doc["numberReturned"] == 1 and doc["features"][0]["properties"] == {"couleur": "rouge"}


@pytest.mark.parametrize("missing,message", [
    ("keywords", "Donnez au moins un mot-clé."), ("theme", "Choisissez un thème."),
    ("contact", "adresse e-mail de contact."),
])
def test_portal_upload_requires_harvest_metadata_and_says_why(login_as, connection, missing, message):
    c = login_as("agent")
    form = c.get("/catalogue/publish").get_data(as_text=True)
    assert "trouvent les couches par leurs mots-clés" in form and 'aria-describedby="theme-why"' in form
    buf = io.BytesIO()
    _points().to_file(buf, driver="GeoJSON")
    data = {"file": (io.BytesIO(buf.getvalue()), "d.geojson"), "title": "Sans métadonnées", "producer": "proprete",
            "licence": "ODbL 1.0", "keywords": "a", "theme": "Propreté", "contact": "p@ville.example"}
    data[missing] = ""
    resp = c.post("/catalogue/publish", data=data, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in body, body[body.find("<form"):body.find("</form>")]
    assert connection.scalar(text("SELECT count(*) FROM layers WHERE slug = 'sans-metadonnees'")) == 0


def test_new_version_keeps_the_metadata(login_as, connection, tmp_path):
    path = tmp_path / "v1.geojson"
    _points().to_file(path, driver="GeoJSON")
    publish(connection, path, producer="proprete", title="Corbeilles", keywords="corbeille, propreté",
            theme="Propreté", contact="proprete@ville.example")
    buf = io.BytesIO()
    _points(4).to_file(buf, driver="GeoJSON")
    c = login_as("agent")
    resp = c.post("/catalogue/corbeilles/publish", data={"file": (io.BytesIO(buf.getvalue()), "v2.geojson"),
                                                          "producer": "proprete", "note": "v2"},
                  content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    row = connection.execute(text("SELECT keywords, theme, contact, data_version FROM layers "
                                  "WHERE slug = 'corbeilles'")).one()
    assert tuple(row) == (["corbeille", "propreté"], "Propreté", "proprete@ville.example", 2)


@pytest.mark.parametrize("kwargs,match", [
    ({"theme": "Propreté", "contact": "a@b.fr"}, "keywords"),
    ({"keywords": "x", "contact": "a@b.fr"}, "theme"),
    ({"keywords": "x", "theme": "Folklore", "contact": "a@b.fr"}, "theme"),
    ({"keywords": "x", "theme": "Propreté", "contact": "pas une adresse"}, "contact"),
])
def test_publish_refuses_a_new_layer_without_harvest_metadata(connection, tmp_path, kwargs, match):
    from ova.errors import InvalidInput

    path = tmp_path / "m.geojson"
    _points().to_file(path, driver="GeoJSON")
    with pytest.raises(InvalidInput, match=match):
        publish(connection, path, producer="proprete", title="Incomplète", **kwargs)
# --- the files cities really send, converted from the shipped data by GDAL -------------------------

def _dansmarue_sheet(tmp_path, driver="XLSX", suffix="xlsx", n=120):
    from tests.etl.conftest import DANSMARUE_CSV, gdal, read_rows, write_csv

    header, rows = read_rows(DANSMARUE_CSV, n)
    source = write_csv(tmp_path / "dmr.csv", header, rows)
    return gdal(source, tmp_path / f"signalements.{suffix}", "-f", driver, "-oo", "AUTODETECT_TYPE=YES",
                "-nln", "Signalements")


def test_publish_kmz_folders_gml_and_flatgeobuf(connection, tmp_path):
    from tests.etl.conftest import PARIS_QUARTIERS, gdal

    kmz = gdal(PARIS_QUARTIERS, tmp_path / "quartiers.kmz", "-f", "LIBKML", "-select", "c_quinsee,l_qu")
    done = publish(connection, kmz, producer="proprete", title="Quartiers KMZ", **META)
    assert done.features == 80
    assert connection.scalar(text("SELECT l_qu FROM published.quartiers_kmz WHERE c_quinsee = '7510302'")) == \
        "Enfants-Rouges"
    assert connection.scalar(text("SELECT bool_and(ST_NDims(geom) = 2 AND ST_SRID(geom) = 2154) "
                                  "FROM published.quartiers_kmz"))
    gml = gdal(PARIS_QUARTIERS, tmp_path / "quartiers.gml", "-f", "GML", "-t_srs", "EPSG:27572")
    assert publish(connection, gml, producer="proprete", title="Quartiers GML", **META).features == 80
    assert not list(tmp_path.glob("*.gfs"))
    fgb = gdal(PARIS_QUARTIERS, tmp_path / "quartiers.fgb", "-f", "FlatGeobuf", "-select", "c_quinsee,l_qu")
    assert publish(connection, fgb, producer="proprete", title="Quartiers FGB", **META).features == 80


def test_publish_spreadsheet_keeps_cell_types(connection, tmp_path):
    path = _dansmarue_sheet(tmp_path)
    done = publish(connection, path, producer="proprete", title="Signalements tableur", **META)
    assert done.features == 120
    types = dict(connection.execute(text(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'published' "
        "AND table_name = 'signalements_tableur'")).all())
    assert (types["date_declaration"], types["numero"], types["type"]) == ("date", "bigint", "text")
    assert connection.scalar(text("SELECT date_declaration::text FROM published.signalements_tableur "
                                  "WHERE id_dmr = 'A2023G041622'")) == "2023-07-17"
    with pytest.raises(DataFileError, match=r"no sheet 'Feuil2' \(sheets: Signalements\)"):
        publish(connection, path, producer="proprete", title="Autre", **META, source_layer="Feuil2")


def test_publish_projected_geojson_without_crs_says_which(connection, tmp_path):
    import json

    from tests.etl.conftest import PARIS_QUARTIERS, gdal

    path = gdal(PARIS_QUARTIERS, tmp_path / "l93.geojson", "-f", "GeoJSON", "-lco", "RFC7946=NO", "-t_srs", "EPSG:2154")
    document = json.loads(path.read_text(encoding="utf-8"))
    document.pop("crs")
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"look projected .*they fit EPSG:2154 .*EPSG:2154"):
        publish(connection, path, producer="proprete", title="L93", **META)
    assert publish(connection, path, producer="proprete", title="L93", **META, crs="EPSG:2154").features == 80


def test_portal_upload_of_an_ods_sheet_and_cli_sheet_option(login_as, runner, connection, tmp_path):
    path = _dansmarue_sheet(tmp_path, "ODS", "ods", 30)
    c = login_as("agent")
    data = {"file": (io.BytesIO(path.read_bytes()), "signalements.ods"), "title": "Signalements ODS",
            "producer": "proprete", "licence": "Licence Ouverte 2.0", "source_layer": "Signalements",
            "keywords": "signalements", "theme": "Propreté", "contact": "proprete@ville.example"}
    resp = c.post("/catalogue/publish", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert connection.scalar(text("SELECT count(*) FROM published.signalements_ods")) == 30
    result = runner.invoke(args=["layers", "publish", str(path), "--producer", "proprete", "--title", "Feuille",
                                 "--sheet", "Nope", "--keywords", "a", "--theme", "Environnement",
                                 "--contact", "a@ville.example"])
    assert result.exit_code != 0 and "no sheet 'Nope'" in result.output and "Traceback" not in result.output


def test_free_text_columns_are_masked_before_publication(connection, client, tmp_path, runner):
    frame = gpd.GeoDataFrame({"nom": ["Banc 1", "Banc 2"],
                              "observation": ["Cassé, signalé par M. Lefèvre au 06 12 34 56 78", "Peinture écaillée"]},
                             geometry=[Point(2.30, 48.83), Point(2.301, 48.83)], crs="EPSG:4326")
    path = tmp_path / "bancs.geojson"
    frame.to_file(path, driver="GeoJSON")
    with pytest.raises(DataFileError, match="free-text column 'remarque' is not in the file"):
        publish(connection, path, producer="voirie", title="Bancs", free_text="remarque", **META)
    done = publish(connection, path, producer="voirie", title="Bancs", free_text="observation", **META)
    assert done.masked == 1
    doc = client.get("/ogc/collections/bancs/items").get_json(force=True)
    assert sorted(f["properties"]["observation"] for f in doc["features"]) == [
        "Cassé, signalé par M. [nom] au [téléphone]", "Peinture écaillée"]
    assert frame["observation"][0].startswith("Cassé, signalé par M. Lefèvre")  # the caller's frame untouched
    result = runner.invoke(args=["layers", "publish", str(path), "--producer", "voirie", "--slug", "bancs",
                                 "--free-text", "observation"])
    assert result.exit_code == 0 and "personal data masked in 1 free-text values" in result.output, result.output
