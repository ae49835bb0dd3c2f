"""A month's compliance results as a file (CSV or GeoJSON), for people who analyse them elsewhere.

One row per norm × quartier (whole scope) and per norm × quartier × zone version: the norm (code,
label, delay in words), the quartier and zone, the judged and compliant cases, the rate, the
target and the status, and whether resolution times are simulated. CSV is comma-separated UTF-8
with a header (what spreadsheets and pandas read without options; decimals with a point);
GeoJSON carries the quartier (or zone) outline in WGS 84, written feature by feature.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Connection

from norms.calendars import delay_words
from ova.settings import WEB_SRID

COLUMNS = ("month", "norm_code", "norm_label", "delay", "quartier_code", "quartier_name", "commune",
           "zone_code", "zone_name", "incidents", "judged", "compliant", "rate", "target_rate", "status",
           "median_delay_hours", "p90_delay_hours", "open_overdue", "simulated")

_ROWS = """
    SELECT r.month, n.code AS norm_code, n.label_fr AS norm_label, n.delay_value, n.delay_unit, n.metric,
           q.code AS quartier_code, q.name AS quartier_name, q.commune_name AS commune,
           z.code AS zone_code, z.name AS zone_name, r.incidents, r.cases AS judged, r.compliant, r.rate,
           n.target_rate, r.status, r.median_delay_hours, r.p90_delay_hours, r.open_overdue,
           r.simulated > 0 AS simulated,
           CASE WHEN :geometry THEN ST_AsGeoJSON(ST_Transform(coalesce(z.geom, q.geom), :web), 6) END AS geometry
    FROM compliance_results r
    JOIN norms n ON n.id = r.norm_id
    JOIN quartiers q ON q.id = r.quartier_id
    LEFT JOIN priority_zones z ON z.id = r.zone_id
    WHERE r.month = :month
    ORDER BY q.commune_name, q.code, n.code, r.zone_id NULLS FIRST
"""


def _records(conn: Connection, month: dt.date, geometry: bool) -> Iterator[dict]:
    # A month holds norms × quartiers (× zone versions) rows: a few thousand, fetched at once.
    result = conn.execute(text(_ROWS), {"month": month, "geometry": geometry, "web": WEB_SRID})
    for row in result.mappings():
        record = {c: row[c] for c in COLUMNS if c in row}
        record["month"] = row["month"].strftime("%Y-%m")
        record["delay"] = delay_words(row["delay_value"], row["delay_unit"]) if row["metric"] == "response_delay" else ""
        for key in ("rate", "target_rate", "median_delay_hours", "p90_delay_hours"):
            record[key] = None if row[key] is None else float(row[key])
        yield record if not geometry else {**record, "_geometry": row["geometry"]}


def count_results(conn: Connection, month: dt.date) -> int:
    """Number of results of ``month`` (0: nothing computed for that month)."""
    return conn.scalar(text("SELECT count(*) FROM compliance_results WHERE month = :m"), {"m": month})


def iter_csv(conn: Connection, month: dt.date) -> Iterator[str]:
    """The results of ``month`` as CSV text chunks (header first)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for n, record in enumerate(_records(conn, month, geometry=False), start=1):
        writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def iter_geojson(conn: Connection, month: dt.date) -> Iterator[str]:
    """The results of ``month`` as a GeoJSON FeatureCollection (WGS 84), in text chunks."""
    yield '{"type": "FeatureCollection", "features": ['
    for n, record in enumerate(_records(conn, month, geometry=True)):
        geometry = record.pop("_geometry")
        feature = {"type": "Feature", "geometry": json.loads(geometry) if geometry else None, "properties": record}
        yield ("," if n else "") + "\n" + json.dumps(feature, ensure_ascii=False)
    yield "\n]}\n"


WRITERS = {"csv": iter_csv, "geojson": iter_geojson}
