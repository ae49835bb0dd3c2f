"""The bad-input corpus: each case gives a clear error naming file/row/field, database unchanged."""
import json
import zipfile

import pyogrio
import pytest
import shapely
from sqlalchemy import text

from etl.targets import load
from ova.errors import DataFileError
from tests.etl.conftest import PARIS_QUARTIERS, count, write_csv

STRICT = {"max_reject_rate": 0.0}


def _dmr(tmp_path, dansmarue_rows, name="dmr.csv", edit=None, **kwargs):
    header, rows = dansmarue_rows
    rows = [list(r) for r in rows]
    if edit:
        header, rows = edit(list(header), rows)
    return write_csv(tmp_path / name, header, rows, **kwargs)


def _col(header, name):
    return header.index(name)


def test_invalid_polygon_is_repaired_and_degenerate_one_refused(connection, tmp_path):
    data = json.loads(PARIS_QUARTIERS.read_text())
    ring = data["features"][0]["geometry"]["coordinates"][0]
    (x0, y0), (x1, y1) = ring[0], ring[len(ring) // 2]
    # a bow-tie (self-intersecting) polygon: invalid, repaired by make_valid into a MultiPolygon
    data["features"][0]["geometry"] = {"type": "Polygon",
                                       "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    bowtie = tmp_path / "bowtie.geojson"
    bowtie.write_text(json.dumps(data))
    # (the bow-tie spills over its neighbours: a real overlap, allowed here, see tests/etl/test_topology.py)
    summary = load(connection, "quartiers", bowtie, preset="paris-quartiers", allow_overlaps=True)
    assert summary.inserted == 80
    assert connection.scalar(text("SELECT bool_and(ST_IsValid(geom)) AND bool_and(GeometryType(geom) = 'MULTIPOLYGON') "
                                  "FROM quartiers"))
    # a polygon with no area cannot be repaired: refused, nothing changes
    data["features"][3]["geometry"] = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x0, y0], [x0, y0]]]}
    flat = tmp_path / "flat.geojson"
    flat.write_text(json.dumps(data))
    before = connection.execute(text("SELECT code, ST_AsEWKB(geom) FROM quartiers ORDER BY code")).all()
    with pytest.raises(DataFileError, match=r"flat\.geojson, row 4, field 'geometry': invalid geometry with no area"):
        load(connection, "quartiers", flat, preset="paris-quartiers")
    assert connection.execute(text("SELECT code, ST_AsEWKB(geom) FROM quartiers ORDER BY code")).all() == before


def test_csv_without_crs_needs_one(connection, tmp_path, dansmarue_rows):
    mapping = tmp_path / "city.yml"
    mapping.write_text("target: incidents\nsource: city\nread: {x: lon, y: lat}\n"
                       "fields: {external_id: id_dmr, category: {value: proprete}, reported_at: date_declaration}\n")
    path = _dmr(tmp_path, dansmarue_rows)
    with pytest.raises(DataFileError, match=r"dmr\.csv, field 'geometry': no CRS in the file; .*look longitude/latitude: "
                                            r"they fit EPSG:4326 \(WGS 84\); pass --crs EPSG:4326"):
        load(connection, "incidents", path, mapping=mapping)
    assert count(connection, "incidents") == 0
    assert load(connection, "incidents", path, mapping=mapping, crs="EPSG:4326").inserted == 60


def test_swapped_coordinates_are_detected(connection, tmp_path, dansmarue_rows):
    def swap(header, rows):
        x, y = _col(header, "lon"), _col(header, "lat")
        rows[6][x], rows[6][y] = rows[6][y], rows[6][x]
        return header, rows

    path = _dmr(tmp_path, dansmarue_rows, edit=swap)
    with pytest.raises(DataFileError, match=r"dmr\.csv, row 8, field 'geometry': longitude and latitude look swapped"):
        load(connection, "incidents", path, preset="dansmarue", **STRICT)
    assert count(connection, "incidents") == 0
    # under the default 5 % threshold the row is rejected, the rest loads, the reject file says why
    rejects = tmp_path / "rejects.csv"
    summary = load(connection, "incidents", path, preset="dansmarue", reject_file=rejects)
    assert (summary.inserted, summary.rejected) == (59, 1)
    assert "8,geometry," in rejects.read_text() and "swapped" in rejects.read_text()


def test_coordinates_outside_france(connection, tmp_path, dansmarue_rows):
    def far(header, rows):
        rows[0][_col(header, "lon")], rows[0][_col(header, "lat")] = "-73.98", "40.75"
        return header, rows

    path = _dmr(tmp_path, dansmarue_rows, edit=far)
    with pytest.raises(DataFileError, match=r"row 2, field 'geometry': outside the territory "
                       r"\(France métropolitaine, extent lon -5.60 … 10.00"):
        load(connection, "incidents", path, preset="dansmarue", **STRICT)
    assert count(connection, "incidents") == 0


def test_cp1252_semicolon_and_decimal_comma_are_detected(connection, tmp_path, dansmarue_rows):
    path = _dmr(tmp_path, dansmarue_rows, sep=";", encoding="cp1252", decimal_comma=True)
    summary = load(connection, "incidents", path, preset="dansmarue")
    assert "encoding=cp1252 separator=';' decimal=','" in summary.detected
    assert summary.inserted == 60
    assert connection.scalar(text("SELECT count(*) FROM incidents WHERE source_category = 'Objets abandonnés'")) > 0


def test_utf8_bom_and_tab_separator(connection, tmp_path, dansmarue_rows):
    path = _dmr(tmp_path, dansmarue_rows, name="bom.tsv", sep="\t", encoding="utf-8-sig")
    summary = load(connection, "incidents", path, preset="dansmarue")
    assert "encoding=utf-8-sig separator='\\t'" in summary.detected
    assert summary.inserted == 60  # the BOM did not mangle the first column (id_dmr)


def test_missing_required_column(connection, tmp_path, dansmarue_rows):
    def drop(header, rows):
        i = _col(header, "date_declaration")
        return header[:i] + header[i + 1:], [r[:i] + r[i + 1:] for r in rows]

    path = _dmr(tmp_path, dansmarue_rows, edit=drop)
    with pytest.raises(DataFileError, match=r"dmr\.csv, field 'date_declaration': required column missing"):
        load(connection, "incidents", path, preset="dansmarue")
    assert count(connection, "incidents") == 0


def test_duplicate_ids(connection, tmp_path, dansmarue_rows):
    path = _dmr(tmp_path, dansmarue_rows, edit=lambda h, rows: (h, rows + [rows[2]]))
    with pytest.raises(DataFileError, match=r"row 62, field 'source/external_id': duplicate id \(first seen on row 4\)"):
        load(connection, "incidents", path, preset="dansmarue", **STRICT)
    assert count(connection, "incidents") == 0


@pytest.mark.parametrize("content", [b"", b"id_dmr,type,lon,lat\n"], ids=["empty", "header-only"])
def test_empty_files(connection, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=r"empty\.csv: (the file is empty|no data rows)"):
        load(connection, "incidents", path, preset="dansmarue")
    assert count(connection, "incidents") == 0


def test_truncated_geojson(connection, tmp_path):
    raw = PARIS_QUARTIERS.read_bytes()
    path = tmp_path / "cut.geojson"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFileError, match=r"cut\.geojson.*cannot read the file"):
        load(connection, "quartiers", path, preset="paris-quartiers")
    assert count(connection, "quartiers") == 0


def test_zipped_shapefile_without_prj(connection, tmp_path):
    frame = pyogrio.read_dataframe(PARIS_QUARTIERS).to_crs(2154)
    shp = tmp_path / "q.shp"
    pyogrio.write_dataframe(frame, shp)
    archive = tmp_path / "quartiers.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for suffix in (".shp", ".shx", ".dbf"):
            zf.write(shp.with_suffix(suffix), f"q{suffix}")
    with pytest.raises(DataFileError, match=r"quartiers\.zip, field .geometry.: no CRS in the file; "
                                            r".*they fit EPSG:2154 .*pass --crs EPSG:2154"):
        load(connection, "quartiers", archive, preset="paris-quartiers")
    assert count(connection, "quartiers") == 0
    summary = load(connection, "quartiers", archive, preset="paris-quartiers", crs="EPSG:2154")
    assert summary.inserted == 80 and "format=shapefile-zip" in summary.detected
    area = connection.scalar(text("SELECT ST_Area(geom) FROM quartiers WHERE code = '7510302'"))
    assert area == pytest.approx(shapely.area(frame.loc[frame.c_quinsee == 7510302].geometry.iloc[0]), rel=1e-6)


def test_dates_in_the_future(connection, tmp_path, dansmarue_rows):
    def future(header, rows):
        rows[9][_col(header, "date_declaration")] = "2999-01-01"
        return header, rows

    path = _dmr(tmp_path, dansmarue_rows, edit=future)
    with pytest.raises(DataFileError, match=r"row 11, field 'reported_at': date in the future"):
        load(connection, "incidents", path, preset="dansmarue", **STRICT)
    assert count(connection, "incidents") == 0


def test_above_the_reject_rate_the_load_is_refused(connection, tmp_path, dansmarue_rows):
    def garble(header, rows):
        for row in rows[:10]:
            row[_col(header, "date_declaration")] = "pas une date"
        return header, rows

    path = _dmr(tmp_path, dansmarue_rows, edit=garble)
    rejects = tmp_path / "r.csv"
    with pytest.raises(DataFileError, match=r"10 of 60 rows rejected \(16\.7% > 5% allowed\): nothing loaded"):
        load(connection, "incidents", path, preset="dansmarue", reject_file=rejects)
    assert count(connection, "incidents") == 0
    assert rejects.read_text().count("not a date-time") == 10


def test_dry_run_changes_nothing(connection, tmp_path, dansmarue_rows):
    summary = load(connection, "incidents", _dmr(tmp_path, dansmarue_rows), preset="dansmarue", dry_run=True)
    assert summary.inserted == 60 and summary.dry_run
    assert count(connection, "incidents") == 0
