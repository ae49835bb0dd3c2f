"""KML/KMZ, XLSX/ODS, FlatGeobuf and GML: the shipped real data converted by GDAL, loaded by ``ova load``."""
import zipfile
from xml.sax.saxutils import escape

import openpyxl
import pytest
from sqlalchemy import text

from etl.readers import open_reader
from etl.targets import load
from tests.etl.conftest import DANSMARUE_CSV, PARIS_QUARTIERS, count, gdal, read_rows, write_csv


def _dansmarue_csv(tmp_path, n=200):
    """The first ``n`` DansMaRue rows, and 20 later ones reported on a day ≤ 12 (day/month ambiguous)."""
    header, rows = read_rows(DANSMARUE_CSV)
    day = header.index("date_declaration")
    rows = rows[:n] + [r for r in rows[n:] if int(r[day][8:10]) <= 12][:20]
    return write_csv(tmp_path / "dmr.csv", header, rows), header, rows


def test_kmz_quartiers_read_from_extended_data(connection, tmp_path):
    kmz = gdal(PARIS_QUARTIERS, tmp_path / "quartiers.kmz", "-f", "LIBKML", "-select", "c_quinsee,l_qu,c_ar")
    summary = load(connection, "quartiers", kmz, preset="paris-quartiers")
    assert (summary.read, summary.inserted, summary.rejected) == (80, 80, 0)
    assert "format=kmz" in summary.detected
    name, dims, srid = connection.execute(text(
        "SELECT name, ST_NDims(geom), ST_SRID(geom) FROM quartiers WHERE code = '7510302'")).one()
    assert (name, dims, srid) == ("Enfants-Rouges", 2, 2154)


def test_kml_folders_are_layers(connection, tmp_path):
    """Each folder of a KML is a layer: all are read (their name in ``folder``), or one with --layer."""
    source, header, rows = _dansmarue_csv(tmp_path)
    types = [r[header.index("type")] for r in rows]
    graffiti = types.count("Graffitis, tags, affiches et autocollants")
    assert 0 < graffiti < len(rows)
    gpkg = tmp_path / "dmr.gpkg"
    points = ("-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat", "-a_srs", "EPSG:4326")
    gdal(source, gpkg, "-f", "GPKG", *points, "-nln", "Graffitis",
         "-where", "type = 'Graffitis, tags, affiches et autocollants'")
    gdal(source, gpkg, "-f", "GPKG", "-update", *points, "-nln", "Autres",
         "-where", "type <> 'Graffitis, tags, affiches et autocollants'")
    kml = gdal(gpkg, tmp_path / "signalements.kml", "-f", "LIBKML")
    reader = open_reader(kml)
    frames = list(reader.chunks())
    assert sum(len(f) for f in frames) == len(rows)
    assert {v for f in frames for v in f["folder"]} == {"Graffitis", "Autres"}
    assert f"Graffitis:{graffiti}" in reader.detected.describe()
    summary = load(connection, "incidents", kml, preset="dansmarue", layer="Graffitis")
    assert (summary.read, summary.inserted, summary.rejected) == (graffiti, graffiti, 0)
    assert connection.scalar(text("SELECT count(DISTINCT source_category) FROM incidents")) == 1
    summary = load(connection, "incidents", kml, preset="dansmarue")
    assert (summary.inserted, summary.unchanged) == (len(rows) - graffiti, graffiti)


def test_my_maps_kml_with_data_elements(connection, tmp_path):
    """Google My Maps writes ``<Data name=…><value>…`` ExtendedData: read as columns too."""
    header, rows = read_rows(DANSMARUE_CSV, 20)
    placemarks = "".join(
        "<Placemark><name>{}</name><ExtendedData>{}</ExtendedData><Point><coordinates>{},{},0</coordinates></Point>"
        "</Placemark>".format(escape(r[0]), "".join(f'<Data name="{h}"><value>{escape(v)}</value></Data>'
                                                     for h, v in zip(header, r)),
                              r[header.index("lon")], r[header.index("lat")]) for r in rows)
    kml = tmp_path / "mymaps.kml"
    kml.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                   f"<name>Signalements</name><Folder><name>Couche sans titre</name>{placemarks}</Folder>"
                   "</Document></kml>", encoding="utf-8")
    summary = load(connection, "incidents", kml, preset="dansmarue")
    assert (summary.read, summary.inserted, summary.rejected) == (20, 20, 0)
    assert connection.scalar(text("SELECT address FROM incidents WHERE external_id = :i"), {"i": rows[0][0]}) == rows[0][4]


def _title_rows_xlsx(path):
    book = openpyxl.load_workbook(path)
    sheet = book.active
    sheet.insert_rows(1, 3)
    sheet["A1"] = "Signalements DansMaRue (extrait)"
    sheet["A2"] = "Source : Ville de Paris, ODbL"
    book.save(path)


def _title_rows_ods(path):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    content = members["content.xml"].decode("utf-8")
    title = ('<table:table-row><table:table-cell office:value-type="string"><text:p>Signalements DansMaRue (extrait)'
             '</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="2">'
             '<table:table-cell/></table:table-row>')
    position = content.index("<table:table-row")
    members["content.xml"] = (content[:position] + title + content[position:]).encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), members.pop("mimetype"))
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)


@pytest.mark.parametrize("driver,suffix,add_title", [("XLSX", "xlsx", _title_rows_xlsx), ("ODS", "ods", _title_rows_ods)])
def test_spreadsheet_with_title_rows_and_typed_cells(connection, tmp_path, driver, suffix, add_title):
    source, header, rows = _dansmarue_csv(tmp_path)
    sheet = gdal(source, tmp_path / f"signalements.{suffix}", "-f", driver, "-oo", "AUTODETECT_TYPE=YES",
                 "-nln", "Signalements")
    add_title(sheet)
    reader = open_reader(sheet)
    first = next(reader.chunks())
    assert "header=row 4" in reader.detected.describe() and reader.detected.layer == "Signalements"
    # Spreadsheet row numbers (what the user sees), typed cells as text: ISO dates, integers without ".0".
    assert first["_row"].iloc[0] == 5
    assert (first["date_declaration"].iloc[0], first["code_postal"].iloc[0]) == ("2023-07-17", "75002")
    summary = load(connection, "incidents", sheet, preset="dansmarue")
    assert (summary.read, summary.inserted, summary.rejected) == (len(rows), len(rows), 0)
    # A date cell is a date: 2023-07-03 stays the 3rd of July (never read day-first as 7 March).
    early = next(r for r in rows if int(r[header.index("date_declaration")][8:10]) <= 12)
    day = connection.scalar(text("SELECT (reported_at AT TIME ZONE 'Europe/Paris')::date::text FROM incidents "
                                 "WHERE external_id = :i"), {"i": early[0]})
    assert day == early[header.index("date_declaration")]
    again = load(connection, "incidents", sheet, preset="dansmarue")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(rows))


def test_spreadsheet_sheet_choice_and_errors(connection, tmp_path):
    source, header, rows = _dansmarue_csv(tmp_path, 30)
    xlsx = gdal(source, tmp_path / "s.xlsx", "-f", "XLSX", "-nln", "Feuille1")
    book = openpyxl.load_workbook(xlsx)
    book.create_sheet("Vide")
    book.save(xlsx)
    with pytest.raises(Exception, match=r"no sheet 'Nope' \(sheets: Feuille1, Vide\)"):
        load(connection, "incidents", xlsx, preset="dansmarue", layer="Nope")
    with pytest.raises(Exception, match="the sheet 'Vide' is empty"):
        load(connection, "incidents", xlsx, preset="dansmarue", layer="Vide")
    assert load(connection, "incidents", xlsx, preset="dansmarue", layer="Feuille1").inserted == len(rows)
    assert count(connection, "incidents") == len(rows)


def test_flatgeobuf_and_gml_quartiers(connection, tmp_path):
    fgb = gdal(PARIS_QUARTIERS, tmp_path / "quartiers.fgb", "-f", "FlatGeobuf", "-select", "c_quinsee,l_qu")
    summary = load(connection, "quartiers", fgb, preset="paris-quartiers")
    assert (summary.read, summary.inserted, summary.rejected) == (80, 80, 0)
    assert "format=flatgeobuf crs=EPSG:4326" in summary.detected
    gml = gdal(PARIS_QUARTIERS, tmp_path / "quartiers.gml", "-f", "GML", "-t_srs", "EPSG:2154",
               "-select", "c_quinsee,l_qu")
    summary = load(connection, "quartiers", gml, preset="paris-quartiers")
    assert (summary.read, summary.rejected) == (80, 0) and "crs=EPSG:2154" in summary.detected
    assert not list(tmp_path.glob("*.gfs")), "reading a GML must not write a .gfs beside it"


def test_library_warnings_are_counted_never_printed(connection, tmp_path, capfd, recwarn):
    """GDAL warns for each value it cannot parse: counted in the summary, nothing on the terminal."""
    kml = gdal(PARIS_QUARTIERS, tmp_path / "q.kml", "-f", "LIBKML")  # geom_x_y lists written as text
    capfd.readouterr()
    summary = load(connection, "quartiers", kml, preset="paris-quartiers")
    assert summary.inserted == 80
    assert summary.warnings >= 80
    assert "parsed incompletely" in summary.extra["warnings from the file's libraries"]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert len(recwarn) == 0

