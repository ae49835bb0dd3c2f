"""Place points in quartiers and priority zones, in one set-based statement per table.

A point gets the quartier containing it, and the priority-zone version that contains it and was
approved and valid on the day the point is dated (incidents: the day reported, Europe/Paris
calendar; establishments: today). Re-run it for a table after loading points, and for incidents
when a zone version changes: past incidents keep the version valid when they were reported.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: Table → SQL expression of the calendar day a row's zone membership is judged on.
POINT_TABLES = {
    "incidents": "(t.reported_at AT TIME ZONE 'Europe/Paris')::date",
    "establishments": "current_date",
}

#: ``placed`` is MATERIALIZED: inlined, the planner evaluated the two lookups twice per row and
#: joined back to the table with a sequential scan, even for a thousand ids.
_ASSIGN = """
    WITH placed AS MATERIALIZED (
        SELECT t.id,
               (SELECT q.id FROM quartiers q WHERE ST_Intersects(q.geom, t.geom)
                ORDER BY q.id LIMIT 1) AS quartier_id,
               (SELECT z.id FROM priority_zones z
                 WHERE z.status = 'approved' AND ST_Intersects(z.geom, t.geom)
                   AND z.valid_from <= {day} AND (z.valid_to IS NULL OR {day} < z.valid_to)
                 ORDER BY z.valid_from DESC, z.id LIMIT 1) AS zone_id
        FROM {table} t
        WHERE t.geom IS NOT NULL AND {where}
    )
    UPDATE {table} t SET quartier_id = p.quartier_id, zone_id = p.zone_id
    FROM placed p
    WHERE t.id = p.id AND (t.quartier_id, t.zone_id) IS DISTINCT FROM (p.quartier_id, p.zone_id)
"""


def assign_points(conn: Connection, table: str, ids: Sequence[int] | None = None) -> dict[str, int]:
    """Set quartier_id/zone_id of ``table`` rows (all, or ``ids``); return changed and outside counts."""
    if table not in POINT_TABLES:
        raise ValueError(f"unknown point table {table!r} (known: {', '.join(POINT_TABLES)})")
    where, params = ("true", {}) if ids is None else ("t.id = ANY (:ids)", {"ids": list(ids)})
    sql = _ASSIGN.format(table=table, day=POINT_TABLES[table], where=where)
    changed = conn.execute(text(sql), params).rowcount
    outside = conn.scalar(text(
        f"SELECT count(*) FROM {table} t WHERE t.geom IS NOT NULL AND t.quartier_id IS NULL AND {where}"), params)
    return {"changed": changed, "outside": outside}
