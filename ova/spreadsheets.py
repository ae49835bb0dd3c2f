"""Spreadsheets (XLSX, ODS) read as typed cells, with the header row found where it is.

City services keep lists in spreadsheets: a title and a blank line above the column names are
common, numbers and dates are typed cells. :func:`open_sheet` finds the header row (the first row
of at least two text cells as wide as the table, within the first :data:`HEADER_SCAN_ROWS` rows),
then streams the rows below it as Python values: ``str``, ``int`` (an integral number), ``float``,
``bool``, ``datetime.date`` (a date cell with no time), ``datetime.datetime``, ``datetime.time``
or None. Row numbers are the spreadsheet's own (1-based, as shown in the application).

XLSX is read with openpyxl (read-only, streamed); ODS by streaming ``content.xml`` (a few
elements of OpenDocument: value types, repeated rows and columns).
"""
from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from xml.etree import ElementTree

from ova.errors import DataFileError

#: How many rows from the top may hold titles and notes before the header row.
HEADER_SCAN_ROWS = 30
SUFFIXES = (".xlsx", ".xlsm", ".ods")

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODS_DURATION = re.compile(r"^-?PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
#: A run of repeated empty rows or cells longer than this ends the sheet (ODS pads to 1 048 576).
_MAX_REPEAT = 10_000


@dataclass
class Sheet:
    """A sheet opened for reading: its header and an iterator over the rows below it."""

    path: Path
    name: str
    sheet_names: list[str]
    header_row: int
    columns: list[str]
    rows: Iterator[tuple[int, list]]
    #: Warnings of the reading library (counted by the caller, never printed).
    library_warnings: list[str] = field(default_factory=list)


def is_spreadsheet(path: Path) -> bool:
    """Whether ``path`` names an XLSX or ODS file."""
    return path.suffix.lower() in SUFFIXES


def open_sheet(path: str | Path, sheet: str | None = None) -> Sheet:
    """Open ``sheet`` (default: the first) of an XLSX/ODS file, header found; DataFileError if unreadable."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".ods":
            name, names, rows, caught = _ods_rows(path, sheet)
        else:
            name, names, rows, caught = _xlsx_rows(path, sheet)
    except DataFileError:
        raise
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError, ValueError) as err:
        raise DataFileError(path, f"not a readable spreadsheet ({str(err)[:200] or type(err).__name__})") from err
    head = []
    for number, values in rows:
        head.append((number, _trim(values)))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    found = _header_index(head)
    if found is None:
        if not any(values for _, values in head):
            raise DataFileError(path, f"the sheet '{name}' is empty", field="sheet")
        raise DataFileError(path, f"no header row in the first {HEADER_SCAN_ROWS} rows of sheet '{name}' "
                                  "(a row of column names is needed)", field="sheet")
    header_row, header = head[found]
    width = max(len(values) for _, values in head[found:])
    columns = unique_names([_column_name(header[i] if i < len(header) else None, i) for i in range(width)])
    after = ((n, v) for n, v in chain(head[found + 1:], rows))
    return Sheet(path, name, names, header_row, columns, _data_rows(after, width), caught)


def _trim(values: list) -> list:
    """Cells with blank strings as None and trailing empty cells dropped."""
    values = [None if (isinstance(v, str) and not v.strip()) else v for v in values]
    while values and values[-1] is None:
        values.pop()
    return values


def _header_index(head: list[tuple[int, list]]) -> int | None:
    """Index in ``head`` of the header row: the first row whose non-empty cells are all text and
    as many as half the widest row's (at least two when the table has two columns or more)."""
    widths = [sum(v is not None for v in values) for _, values in head]
    widest = max(widths, default=0)
    if widest == 0:
        return None
    needed = max(min(2, widest), (widest + 1) // 2)
    for index, ((_, values), width) in enumerate(zip(head, widths)):
        if width >= needed and all(isinstance(v, str) for v in values if v is not None):
            return index
    return None


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_name(value, index: int) -> str:
    name = str(value).strip() if value is not None else ""
    return name or f"column_{_column_letter(index)}"


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique as pandas does (``a``, ``a.1``, ``a.2``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _data_rows(rows, width: int) -> Iterator[tuple[int, list]]:
    """Rows below the header, padded to ``width``; empty rows skipped."""
    for number, values in rows:
        values = _trim(values)
        if not values:
            continue
        yield number, (values + [None] * (width - len(values)))[:width]


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2 ** 53 else value


def _round_ms(value: dt.datetime) -> dt.datetime:
    """Spreadsheet date-times are day fractions: 14:05 may come back as 14:04:59.999999."""
    micro = round(value.microsecond, -3)
    return value.replace(microsecond=0) + dt.timedelta(microseconds=micro)


# --- XLSX -------------------------------------------------------------------

def _xlsx_rows(path: Path, sheet: str | None):
    import openpyxl

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    names = list(book.sheetnames)
    if sheet is not None and sheet not in names:
        raise DataFileError(path, f"no sheet '{sheet}' (sheets: {', '.join(names)})", field="sheet")
    worksheet = book[sheet] if sheet is not None else book.worksheets[0]
    if getattr(worksheet, "max_row", None) is None or worksheet.max_row <= 1 and worksheet.max_column <= 1:
        worksheet.reset_dimensions()  # some writers omit or misstate the sheet's dimension
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]

    def rows():
        try:
            for number, cells in enumerate(worksheet.iter_rows(), start=1):
                yield number, [_xlsx_value(cell) for cell in cells]
        finally:
            book.close()

    return worksheet.title, names, rows(), messages


def _xlsx_value(cell):
    value = getattr(cell, "value", None)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dt.datetime):
        value = _round_ms(value)
        fmt = (getattr(cell, "number_format", "") or "").lower()
        if value.time() == dt.time(0) and not any(mark in fmt for mark in ("h", "s", "am/pm")):
            return value.date()
        return value
    return value


# --- ODS --------------------------------------------------------------------

def _ods_rows(path: Path, sheet: str | None):
    archive = zipfile.ZipFile(path)
    stream = archive.open("content.xml")
    events = ElementTree.iterparse(stream, events=("start", "end"))
    names: list[str] = []
    chosen = None
    for event, element in events:
        if event == "start" and element.tag == f"{{{_TABLE}}}table":
            name = element.get(f"{{{_TABLE}}}name", "")
            names.append(name)
            if sheet is None or name == sheet:
                chosen = name
                break
        elif event == "end" and element.tag == f"{{{_TABLE}}}table-row":
            element.clear()  # a row of a sheet not chosen
    if chosen is None:
        for event, element in events:  # list every sheet for the message
            if event == "start" and element.tag == f"{{{_TABLE}}}table":
                names.append(element.get(f"{{{_TABLE}}}name", ""))
        archive.close()
        if sheet is None:
            raise DataFileError(path, "the spreadsheet has no sheet", field="sheet")
        raise DataFileError(path, f"no sheet '{sheet}' (sheets: {', '.join(names)})", field="sheet")
    return chosen, names, _ods_table_rows(archive, events), []


def _ods_table_rows(archive: zipfile.ZipFile, events) -> Iterator[tuple[int, list]]:
    """Rows of the table whose start tag was just read, streamed (elements freed as they end)."""
    number = 0
    depth = 0
    try:
        for event, element in events:
            tag = element.tag
            if tag == f"{{{_TABLE}}}table":
                if event == "start":
                    depth += 1  # a sub-table
                    continue
                if depth == 0:
                    return
                depth -= 1
                continue
            if event != "end" or tag != f"{{{_TABLE}}}table-row":
                continue
            repeat = int(element.get(f"{{{_TABLE}}}number-rows-repeated", "1"))
            values = _ods_cells(element)
            element.clear()
            if not values:
                if repeat > _MAX_REPEAT:
                    return  # the padding to the sheet's last row
                number += repeat
                continue
            for _ in range(min(repeat, _MAX_REPEAT)):
                number += 1
                yield number, list(values)
    finally:
        archive.close()


def _ods_cells(row) -> list:
    values: list = []
    for cell in row:
        if cell.tag not in (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"):
            continue
        repeat = int(cell.get(f"{{{_TABLE}}}number-columns-repeated", "1"))
        value = _ods_value(cell)
        if value is None and repeat > _MAX_REPEAT:
            break
        values.extend([value] * min(repeat, _MAX_REPEAT))
    return _trim(values)


def _ods_value(cell):
    kind = cell.get(f"{{{_OFFICE}}}value-type")
    if kind in ("float", "percentage", "currency"):
        return _number(float(cell.get(f"{{{_OFFICE}}}value")))
    if kind == "date":
        raw = cell.get(f"{{{_OFFICE}}}date-value", "")
        if "T" in raw:
            return _round_ms(dt.datetime.fromisoformat(raw[:26]))
        return dt.date.fromisoformat(raw[:10])
    if kind == "time":
        match = _ODS_DURATION.match(cell.get(f"{{{_OFFICE}}}time-value", ""))
        if match:
            h, m, s = (float(g) if g else 0.0 for g in match.groups())
            seconds = round(h * 3600 + m * 60 + s)
            if seconds < 86400:
                return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)
        return None
    if kind == "boolean":
        return cell.get(f"{{{_OFFICE}}}boolean-value") == "true"
    paragraphs = [_ods_text(p) for p in cell if p.tag == f"{{{_TEXT}}}p"]
    text = "\n".join(paragraphs)
    return text if text.strip() else None


def _ods_text(paragraph) -> str:
    """Text of a ``text:p``, with ``text:s`` (spaces), tabs and line breaks."""
    parts = [paragraph.text or ""]
    for child in paragraph:
        if child.tag == f"{{{_TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{_TEXT}}}c", "1")))
        elif child.tag == f"{{{_TEXT}}}tab":
            parts.append("\t")
        elif child.tag == f"{{{_TEXT}}}line-break":
            parts.append("\n")
        else:
            parts.append(_ods_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def text_value(value) -> str | None:
    """A typed cell as the text the loaders' normalisers read (ISO 8601 dates, ``12`` not ``12.0``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)
