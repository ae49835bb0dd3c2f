"""ova.spreadsheets: header row found below titles, typed cells, ODS repeated rows and cells."""
import datetime as dt

import openpyxl
import pytest

from ova.errors import DataFileError
from ova.spreadsheets import _header_index, open_sheet, text_value


def test_header_index_skips_titles_and_blank_rows():
    head = [(1, ["Liste des contrats 2024"]), (2, []), (3, ["Mis à jour le", dt.date(2024, 3, 1)]),
            (4, ["numéro", "objet", "montant", "date"]), (5, ["A1", "Nettoyage", 1234.5, dt.date(2024, 1, 2)])]
    assert _header_index(head) == 3
    assert _header_index([(1, [1, 2, 3])]) is None


def test_xlsx_typed_cells(tmp_path):
    path = tmp_path / "contrats.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "2024"
    sheet.append(["Contrats de la ville"])
    sheet.append([])
    sheet.append(["numéro", "montant", "notifié le", "heure", "actif", None])
    sheet.append(["A1", 1234.5, dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 2, 14, 4, 59, 999999), True, "x"])
    sheet.append(["A2", 75002.0, dt.datetime(2024, 7, 3), None, False, None])
    sheet["C4"].number_format = sheet["C5"].number_format = "dd/mm/yyyy"
    sheet["D4"].number_format = "dd/mm/yyyy hh:mm"
    book.save(path)
    opened = open_sheet(path)
    assert (opened.name, opened.header_row, opened.columns) == (
        "2024", 3, ["numéro", "montant", "notifié le", "heure", "actif", "column_F"])
    rows = list(opened.rows)
    assert rows[0] == (4, ["A1", 1234.5, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 14, 5), True, "x"])
    assert [text_value(v) for v in rows[1][1]] == ["A2", "75002", "2024-07-03", None, "false", None]
    with pytest.raises(DataFileError, match=r"no sheet 'X' \(sheets: 2024\)"):
        open_sheet(path, "X")


def test_not_a_spreadsheet(tmp_path):
    path = tmp_path / "faux.xlsx"
    path.write_text("nom;x;y\n")
    with pytest.raises(DataFileError, match="not a readable spreadsheet"):
        open_sheet(path)
