"""Foundation quartier loader on the real Paris and Nantes files."""
import json

import pytest
from sqlalchemy import text

from etl.targets import load
from ova.errors import DataFileError
from tests.builders import GEODATA

PARIS = GEODATA / "paris" / "paris_quartiers_administratifs.geojson"
NANTES = GEODATA / "nantes" / "nantes_metropole_quartiers.geojson"


def test_paris_quartiers_load_in_lambert93(connection):
    summary = load(connection, "quartiers", PARIS, preset="paris-quartiers")
    assert (summary.read, summary.inserted, summary.updated) == (80, 80, 0)
    row = connection.execute(text(
        "SELECT name, commune_insee, ST_SRID(geom), GeometryType(geom), ST_Area(geom) "
        "FROM quartiers WHERE code = '7510302'")).one()
    assert row[:4] == ("Enfants-Rouges", "75056", 2154, "MULTIPOLYGON")
    # The source gives the area in m² (computed in a local projection): within 0.5 %.
    source = next(f for f in json.loads(PARIS.read_text())["features"]
                  if f["properties"]["c_quinsee"] == 7510302 or f["properties"]["c_quinsee"] == "7510302")
    assert row[4] == pytest.approx(source["properties"]["surface"], rel=5e-3)


def test_reloading_the_same_file_changes_nothing(connection):
    load(connection, "quartiers", NANTES, preset="nantes-quartiers")
    before = connection.execute(text("SELECT code, loaded_at FROM quartiers ORDER BY code")).all()
    again = load(connection, "quartiers", NANTES, preset="nantes-quartiers")
    assert (again.read, again.inserted, again.updated, again.unchanged) == (48, 0, 0, 48)
    assert connection.execute(text("SELECT code, loaded_at FROM quartiers ORDER BY code")).all() == before


def test_missing_column_is_refused_and_names_file_and_field(connection, tmp_path):
    data = json.loads(PARIS.read_text())
    for feature in data["features"]:
        feature["properties"].pop("l_qu")
    bad = tmp_path / "no_name.geojson"
    bad.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match=r"no_name\.geojson: required column missing.*|no_name\.geojson, field 'l_qu'"):
        load(connection, "quartiers", bad, preset="paris-quartiers")
    assert connection.scalar(text("SELECT count(*) FROM quartiers")) == 0


def test_shapefile_without_prj_needs_a_crs(connection, tmp_path):
    import pyogrio

    frame = pyogrio.read_dataframe(PARIS).to_crs(2154)
    shp = tmp_path / "quartiers.shp"
    pyogrio.write_dataframe(frame, shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(DataFileError, match=r"quartiers\.shp, field .geometry.: no CRS in the file; "
                                            r".*they fit EPSG:2154 .*pass --crs EPSG:2154"):
        load(connection, "quartiers", shp, preset="paris-quartiers")
    summary = load(connection, "quartiers", shp, preset="paris-quartiers", crs="EPSG:2154")
    assert summary.inserted == 80


def test_empty_geometry_is_refused_with_row_number(connection, tmp_path):
    data = json.loads(PARIS.read_text())
    data["features"][4]["geometry"] = None
    bad = tmp_path / "empty_geom.geojson"
    bad.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match=r"empty_geom\.geojson, row 5, field 'geometry'"):
        load(connection, "quartiers", bad, preset="paris-quartiers")
    assert connection.scalar(text("SELECT count(*) FROM quartiers")) == 0
