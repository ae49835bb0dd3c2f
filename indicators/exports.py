"""CSV and XLSX writers for indicator and procurement tables (no Flask)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter


def _cell(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


def to_csv(rows: list[dict], columns: list[str]) -> str:
    """``rows`` as CSV text (comma-separated, header of column keys, empty cells for None)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _safe_text(_cell(row.get(c))) for c in columns])
    return out.getvalue()


def _safe_text(value):
    # A cell starting with = + - @ would be read as a formula by spreadsheet software.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_xlsx(sheets: list[tuple[str, list[str], list[str], list[dict]]]) -> bytes:
    """An XLSX workbook of ``sheets`` = [(title, column keys, header labels, rows)], as bytes."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, columns, headers, rows in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append(headers)
        for row in rows:
            ws.append([_safe_text(_cell(row.get(c))) for c in columns])
        for i, header in enumerate(headers, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(max(len(str(header)) + 2, 10), 40)
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def stamp() -> str:
    """Today's date for export file names."""
    return dt.date.today().isoformat()
