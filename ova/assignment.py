"""Place points in quartiers and priority zones, in one set-based statement per table.

A point gets the quartier containing it (the lowest id when several do), and the priority-zone
version that contains it and was approved and valid on the day the point is dated (incidents:
the day reported, in the territory's calendar (``OVA_TIMEZONE``); establishments: today). Re-run it for a table after
loading points, and for incidents when a zone version changes: past incidents keep the version
valid when they were reported. The loader places new and changed rows while it merges them, with
the same expressions (:func:`placement_sql`), so rows are written once.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ova.settings import sql_timezone, storage_srid

#: Table → SQL expression (over a row aliased ``{r}``) of the calendar day zone membership is judged on.
POINT_TABLES = {
    "incidents": "({r}.reported_at AT TIME ZONE {tz})::date",
    "establishments": "current_date",
}

_QUARTIER = "(SELECT q.id FROM quartiers q WHERE ST_Intersects(q.geom, {r}.geom) ORDER BY q.id LIMIT 1)"
_ZONE = """(SELECT z.id FROM priority_zones z
            WHERE z.status = 'approved' AND ST_Intersects(z.geom, {r}.geom)
              AND z.valid_from <= {day} AND (z.valid_to IS NULL OR {day} < z.valid_to)
            ORDER BY z.valid_from DESC, z.id LIMIT 1)"""

#: ``placed`` is MATERIALIZED: inlined, the planner evaluated the two lookups twice per row and
#: joined back to the table with a sequential scan, even for a thousand ids.
_ASSIGN = """
    WITH placed AS MATERIALIZED (
        SELECT t.id, {quartier} AS quartier_id, {zone} AS zone_id
        FROM {table} t
        WHERE t.geom IS NOT NULL AND {where}
    )
    UPDATE {table} t SET quartier_id = p.quartier_id, zone_id = p.zone_id
    FROM placed p
    WHERE t.id = p.id AND (t.quartier_id, t.zone_id) IS DISTINCT FROM (p.quartier_id, p.zone_id)
"""


#: Side in metres of the grid cells of :func:`build_quartier_cells`.
CELL_METRES = 50
#: Above this many grid cells per point to place, the grid is not built: a cell costs one polygon
#: test, as a point's probe does (a 1-row load into La Réunion's quartiers spent 15.6 s on its grid).
CELLS_PER_POINT = 2

_CELLS = """
    CREATE TEMP TABLE {name} AS
    WITH boxes AS (
        SELECT q.id, q.geom, floor(ST_XMin(q.geom) / :cell)::int AS i0, floor(ST_XMax(q.geom) / :cell)::int AS i1,
               floor(ST_YMin(q.geom) / :cell)::int AS j0, floor(ST_YMax(q.geom) / :cell)::int AS j1
        FROM quartiers q),
    pairs AS (
        SELECT b.id, i, j, ST_Covers(b.geom, ST_MakeEnvelope(i * :cell, j * :cell, (i + 1) * :cell, (j + 1) * :cell,
                                                            ST_SRID(b.geom))) AS covers
        FROM boxes b, generate_series(b.i0, b.i1) i, generate_series(b.j0, b.j1) j
        WHERE ST_Intersects(b.geom, ST_MakeEnvelope(i * :cell, j * :cell, (i + 1) * :cell, (j + 1) * :cell,
                                                    ST_SRID(b.geom))))
    SELECT i, j, CASE WHEN count(*) = 1 AND bool_and(covers) THEN min(id) END AS quartier_id
    FROM pairs GROUP BY i, j
"""


def build_quartier_cells(conn: Connection, name: str = "etl_quartier_cells", *, points: int | None = None) -> str | None:
    """A temporary grid of the cells (``CELL_METRES``) that touch a quartier; returns its name.

    ``quartier_id`` is set when the closed cell lies inside exactly one quartier and touches no
    other: every point of that cell is in that quartier only. A point whose cell is absent touches
    no quartier. Only points in the other (boundary) cells need a point-in-polygon test, so
    placing a million points costs a hash join instead of a million index probes.

    Building the grid tests every cell of every quartier's box: with ``points`` (how many are to
    be placed), no grid is built (None) when it would have more than :data:`CELLS_PER_POINT`
    cells per point, and the points are placed by probing the polygons.
    """
    if points is not None:
        cells = conn.scalar(text(
            "SELECT coalesce(sum((ST_XMax(geom) - ST_XMin(geom)) * (ST_YMax(geom) - ST_YMin(geom))), 0) "
            "/ (CAST(:cell AS float8) ^ 2) FROM quartiers"), {"cell": CELL_METRES})
        if cells > CELLS_PER_POINT * points:
            return None
    conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    conn.execute(text(_CELLS.format(name=name)), {"cell": CELL_METRES})
    conn.execute(text(f"ANALYZE {name}"))
    return name


def placement_sql(table: str, alias: str, cells: str | None = None) -> dict[str, str]:
    """SQL of ``quartier_id`` and ``zone_id`` for a row of ``table`` aliased ``alias``.

    The row needs ``geom`` (Lambert-93 point) and, for incidents, ``reported_at``. With ``cells``
    (from :func:`build_quartier_cells`), the row must be joined to it as ``{alias}_cell`` with
    the ``join`` clause returned; the result is the same as without, faster.
    """
    if table not in POINT_TABLES:
        raise ValueError(f"unknown point table {table!r} (known: {', '.join(POINT_TABLES)})")
    day = POINT_TABLES[table].format(r=alias, tz=sql_timezone())
    quartier = _QUARTIER.format(r=alias)
    # Zones are few and small: rows outside the box of every approved zone skip the index probe.
    zone = (f"CASE WHEN {alias}.geom && (SELECT ST_SetSRID(ST_Extent(z.geom)::geometry, {storage_srid()}) "
            f"FROM priority_zones z WHERE z.status = 'approved') THEN {_ZONE.format(r=alias, day=day)} END")
    sql = {"quartier_id": quartier, "zone_id": zone, "join": ""}
    if cells:
        cell = f"{alias}_cell"
        sql["join"] = (f"LEFT JOIN {cells} {cell} ON {cell}.i = floor(ST_X({alias}.geom) / {CELL_METRES})::int "
                       f"AND {cell}.j = floor(ST_Y({alias}.geom) / {CELL_METRES})::int")
        sql["quartier_id"] = (f"CASE WHEN {cell}.i IS NULL THEN NULL WHEN {cell}.quartier_id IS NOT NULL "
                              f"THEN {cell}.quartier_id ELSE {quartier} END")
    return sql


def assign_points(conn: Connection, table: str, ids: Sequence[int] | None = None) -> dict[str, int]:
    """Set quartier_id/zone_id of ``table`` rows (all, or ``ids``); return changed and outside counts."""
    placement = placement_sql(table, "t")
    where, params = ("true", {}) if ids is None else ("t.id = ANY (:ids)", {"ids": list(ids)})
    sql = _ASSIGN.format(table=table, where=where, quartier=placement["quartier_id"], zone=placement["zone_id"])
    changed = conn.execute(text(sql), params).rowcount
    outside = conn.scalar(text(
        f"SELECT count(*) FROM {table} t WHERE t.geom IS NOT NULL AND t.quartier_id IS NULL AND {where}"), params)
    return {"changed": changed, "outside": outside}
