"""Projected coordinates without (or with the wrong) CRS: the error says which CRS they fit, for every format."""
import json
import warnings

import pytest
from sqlalchemy import text

from etl.targets import load
from ova.errors import DataFileError
from tests.etl.conftest import DANSMARUE_CSV, PARIS_QUARTIERS, count, gdal, read_rows, write_csv


def _geojson_without_crs(tmp_path, epsg):
    """The Paris quartiers in EPSG:``epsg``, written by GDAL, with the ``crs`` member removed (the usual mistake)."""
    path = gdal(PARIS_QUARTIERS, tmp_path / f"quartiers_{epsg}.geojson", "-f", "GeoJSON", "-lco", "RFC7946=NO",
                "-t_srs", f"EPSG:{epsg}")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document.pop("crs", None) is not None
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("epsg,name", [(2154, "Lambert-93"), (3949, "CC49"), (27572, "Lambert zone II")])
def test_projected_geojson_without_crs_names_the_crs_to_pass(connection, tmp_path, capfd, epsg, name):
    path = _geojson_without_crs(tmp_path, epsg)
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataFileError, match=rf"look projected \(metres\), not EPSG:4326.*they fit EPSG:{epsg} "
                                                rf"\(.*{name}\); pass --crs EPSG:{epsg}"):
            load(connection, "quartiers", path, preset="paris-quartiers")
    assert caught == [] and capfd.readouterr() == ("", ""), "no library warning may reach the user"
    assert count(connection, "quartiers") == 0
    summary = load(connection, "quartiers", path, preset="paris-quartiers", crs=f"EPSG:{epsg}")
    assert (summary.inserted, summary.rejected) == (80, 0)
    assert "file-crs=EPSG:4326 ignored" in summary.detected


def test_shapefile_without_prj_and_gpkg_declaring_the_wrong_crs(connection, tmp_path):
    shp = gdal(PARIS_QUARTIERS, tmp_path / "quartiers.shp", "-f", "ESRI Shapefile", "-t_srs", "EPSG:2154",
               "-select", "c_quinsee,l_qu")
    (tmp_path / "quartiers.prj").unlink()
    with pytest.raises(DataFileError, match=r"no CRS in the file; .*they fit EPSG:2154 .*pass --crs EPSG:2154"):
        load(connection, "quartiers", shp, preset="paris-quartiers")
    # Degrees in a file that declares Lambert-93 (a wrong .prj): said the other way round.
    wrong = gdal(PARIS_QUARTIERS, tmp_path / "wrong.gpkg", "-f", "GPKG", "-a_srs", "EPSG:2154")
    with pytest.raises(DataFileError, match=r"look longitude/latitude, not EPSG:2154 .*pass --crs EPSG:4326"):
        load(connection, "quartiers", wrong, preset="paris-quartiers")


def test_csv_of_lambert93_points_with_a_wgs84_mapping(connection, tmp_path):
    """DansMaRue rows re-projected to Lambert-93 by GDAL, loaded with the lon/lat preset."""
    header, rows = read_rows(DANSMARUE_CSV, 100)
    source = write_csv(tmp_path / "dmr.csv", header, rows)
    l93 = gdal(source, tmp_path / "dmr_l93.csv", "-f", "CSV", "-oo", "X_POSSIBLE_NAMES=lon",
               "-oo", "Y_POSSIBLE_NAMES=lat", "-s_srs", "EPSG:4326", "-t_srs", "EPSG:2154",
               "-lco", "GEOMETRY=AS_XY", "-select", "id_dmr,type,soustype,adresse,date_declaration")
    text_ = l93.read_text(encoding="utf-8").replace('"X","Y"', "lon,lat").replace("X,Y,", "lon,lat,")
    l93.write_text(text_, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"not EPSG:4326 \(the mapping's read.crs\): they fit EPSG:2154"):
        load(connection, "incidents", l93, preset="dansmarue")
    summary = load(connection, "incidents", l93, preset="dansmarue", crs="EPSG:2154")
    assert (summary.inserted, summary.rejected) == (100, 0)


def test_a_few_rows_in_another_crs_are_rejected_with_the_diagnosis(connection, tmp_path):
    """Most rows right, two in Lambert-93 in a lon/lat file: those rows are rejected, saying what they fit."""
    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    header, rows = read_rows(DANSMARUE_CSV, 50)
    rows[3][header.index("lon")], rows[3][header.index("lat")] = "652469.0", "6862035.0"
    rows[7][header.index("lon")], rows[7][header.index("lat")] = "651300.5", "6861010.2"
    path = write_csv(tmp_path / "dmr.csv", header, rows)
    summary = load(connection, "incidents", path, preset="dansmarue", max_reject_rate=0.1,
                   reject_file=tmp_path / "r.csv")
    assert (summary.inserted, summary.rejected) == (48, 2)
    reasons = set(summary.rejects["reason"])
    assert len(reasons) == 1 and "they fit EPSG:2154" in reasons.pop()
    assert sorted(summary.rejects["row"]) == [5, 9]


def test_points_geojson_in_web_mercator_told_apart_from_lambert93(connection, tmp_path):
    """With the Paris quartiers loaded, Web Mercator coordinates (which Lambert-93 could also hold,
    in the sea off Biarritz) are recognised as such."""
    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    header, rows = read_rows(DANSMARUE_CSV, 100)
    source = write_csv(tmp_path / "dmr.csv", header, rows)
    path = gdal(source, tmp_path / "dmr.geojson", "-f", "GeoJSON", "-lco", "RFC7946=NO", "-oo", "X_POSSIBLE_NAMES=lon",
                "-oo", "Y_POSSIBLE_NAMES=lat", "-s_srs", "EPSG:4326", "-t_srs", "EPSG:3857")
    document = json.loads(path.read_text(encoding="utf-8"))
    document.pop("crs")
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"they fit EPSG:3857 \(WGS 84 / Pseudo-Mercator\); pass --crs EPSG:3857"):
        load(connection, "incidents", path, preset="dansmarue-geojson")
    assert connection.scalar(text("SELECT count(*) FROM incidents")) == 0
