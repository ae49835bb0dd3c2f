"""Staging and merge of a load: COPY into a temporary staging table, duplicate keys, then the
set-based merge into the target table (update rows that differ, insert new keys), with the bulk
path for large loads (``etl.bulk``) and the transaction's settings.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import text
from sqlalchemy.engine import Connection

from etl import bulk as etl_bulk
from etl.mapping import Mapping
from etl.target import MergeResult, PhaseClock, Target
from etl.transform import LoadContext
from ova.settings import storage_srid


def stage_columns(target: Target, mapping: Mapping) -> list[str]:
    columns = list(dict.fromkeys(list(mapping.fields) + list(target.derived_fields())))
    if target.source_column and target.source_column not in columns:
        columns.append(target.source_column)
    return columns


def create_stage(conn: Connection, target: Target, columns: list[str]) -> str:
    stage = f"etl_stage_{target.name}"
    defs = ["_row bigint"] + [f'"{c}" text' for c in columns]
    if target.geometry == "point":
        defs += ["x double precision", "y double precision"]
    elif target.geometry:  # multipolygon, or a target's own kind: hex EWKB
        defs += ["wkb text"]
    conn.execute(text(f"DROP TABLE IF EXISTS {stage}"))
    conn.execute(text(f"CREATE TEMP TABLE {stage} ({', '.join(defs)})"))
    return stage


def copy_chunk(conn: Connection, stage: str, frame: pd.DataFrame) -> None:
    """Stream a chunk with COPY (CSV written by Arrow: strings quoted, NULLs as empty unquoted fields)."""
    if frame.empty:
        return
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer,
                    pacsv.WriteOptions(include_header=False, batch_size=65536))
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {stage} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(memoryview(buffer.getvalue()))


def reject_duplicates(conn: Connection, ctx: LoadContext, stage: str) -> None:
    key = ", ".join(f'"{k}"' for k in ctx.target.key)
    # A hash aggregate finds whether there is any duplicate; the window pass runs only then.
    if not conn.scalar(text(f"SELECT EXISTS (SELECT FROM {stage} GROUP BY {key} HAVING count(*) > 1)")):
        return
    duplicates = conn.execute(text(
        f"""DELETE FROM {stage} s USING (
                SELECT _row, row_number() OVER w AS n, first_value(_row) OVER w AS first
                FROM {stage} WINDOW w AS (PARTITION BY {key} ORDER BY _row)) d
            WHERE s._row = d._row AND d.n > 1
            RETURNING s._row, concat_ws(' / ', {', '.join(f's."{k}"' for k in ctx.target.key)}), d.first""")).all()
    for row, value, first in duplicates:
        ctx.reject([row], "/".join(ctx.target.key), [value], f"duplicate id (first seen on row {first})")


def _geometry_sql(target: Target) -> str | None:
    if target.geometry == "point":
        return f"CASE WHEN s.x IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(s.x, s.y), {storage_srid()}) END"
    if target.geometry:
        return "s.wkb::geometry"
    return None


#: Precision of geometry comparison, in storage CRS units (metres): geometries equal on a grid of
#: 1 cm are the same, so reloading a file from another CRS (reprojection noise at the millimetre)
#: changes nothing.
GEOMETRY_GRID = 0.01


def same_geometry(a: str, b: str, grid: float = GEOMETRY_GRID) -> str:
    """SQL: geometries ``a`` and ``b`` are equal on ``grid`` (both NULL counts as equal).

    Bytes equal (a reload of the same file), or equal once snapped to the grid; and since two
    vertices a hair apart can snap to neighbouring grid nodes, also equal when they have the same
    type and vertex count and no vertex is farther than ``grid`` from the other geometry
    (Hausdorff distance; for points, the distance).
    """
    return (f"(({a} IS NULL AND {b} IS NULL) OR ({a} IS NOT NULL AND {b} IS NOT NULL AND ("
            f"ST_AsEWKB({a}) = ST_AsEWKB({b})"
            f" OR ST_AsEWKB(ST_SnapToGrid({a}, {grid})) = ST_AsEWKB(ST_SnapToGrid({b}, {grid}))"
            f" OR (GeometryType({a}) = GeometryType({b}) AND ST_NPoints({a}) = ST_NPoints({b})"
            f" AND ST_HausdorffDistance({a}, {b}) <= {grid}))))")


def _distinct(left: str, right: str, columns: list[str]) -> str:
    """``(l.a, …) IS DISTINCT FROM (r.a, …)``, geometries compared on :data:`GEOMETRY_GRID`."""
    plain = [c for c in columns if c != "geom"]
    parts = []
    if plain:
        def side(alias: str) -> str:
            return ", ".join(f'{alias}."{c}"' for c in plain)
        parts.append(f"({side(left)}, NULL) IS DISTINCT FROM ({side(right)}, NULL)")
    if "geom" in columns:
        parts.append(f"NOT {same_geometry(f'{left}.geom', f'{right}.geom')}")
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def merge_rows(conn: Connection, target: Target, stage: str, columns: list[str], params: dict,
           clock: PhaseClock, *, bulk: bool | None = None) -> MergeResult:
    """Merge the staged rows into the target table: update rows that differ, insert new keys.

    The typed rows (with the target's merge-time columns: placement, deadlines) are built once,
    set-based, into a temporary table; then one UPDATE touches only existing rows whose values
    differ, and one INSERT writes the rows whose key is absent. Each statement returns only the
    target's ``scope`` groups (e.g. quartier × month), never one id per row. Large loads (or
    ``bulk=True``) drop the table's secondary indexes and foreign keys first and rebuild them
    after (``etl.bulk``); loads small against the table find their keys by index probes
    (``etl.bulk.probe_keys``), never by a pass over the whole table.
    """
    exprs = {c: f's."{c}"::{target.sql_type(c)}' for c in columns}
    geometry = _geometry_sql(target)
    if geometry:
        exprs["geom"] = geometry
    exprs.update(target.computed)
    selected = ", ".join(f'{e} AS "{c}"' for c, e in exprs.items())
    base = f"SELECT s._row, {selected} FROM {stage} s {target.joins}"
    merged = f"{stage}_merge"
    # Loads into one table merge one after the other: a second load waits here for the first to
    # commit, then sees its rows (the UPDATE and the NOT EXISTS run on fresh snapshots), as
    # INSERT … ON CONFLICT DO UPDATE would have let it, without that statement's per-row cost.
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:lock))"), {"lock": f"ova-etl-merge:{target.table}"})
    conn.execute(text(f"DROP TABLE IF EXISTS {merged}"))
    source = target.merge_source(conn, base, conn.scalar(text(f"SELECT count(*) FROM {stage}")))
    clock.start("préparation des lignes (placement dans les quartiers et zones, échéances)")
    previous = apply_settings(conn, PREPARE_SETTINGS)
    staged = conn.execute(text(f"CREATE TEMP TABLE {merged} AS {source}"), params).rowcount
    apply_settings(conn, previous)
    conn.execute(text(f"ANALYZE {merged}"))
    clock.lap("merge: prepare")
    written = [*exprs, *target.merge_columns]
    names = ", ".join(f'"{c}"' for c in written)
    keyset = set(target.key)
    compared = [c for c in written if c not in keyset]
    key_match = " AND ".join(f'o."{k}" = m."{k}"' for k in target.key)
    scope_cols = list(target.scope_columns)
    result = MergeResult(rows=merged)
    saved = _prepare_bulk(conn, target.table, merged, key_match, bulk, result)
    # A load small against the table (a month into ten years) probes the unique index per row.
    result.probed = saved is None and etl_bulk.probe_keys(conn, target.table, staged)
    planner = apply_settings(conn, etl_bulk.PROBE_SETTINGS) if result.probed else {}

    sets = [f'"{c}" = x."{c}"' for c in compared] + [f'"{c}" = {e}' for c, e in target.touched.items()]
    sets += [f'"{c}" = {e}' for col, exprs in target.on_change.items() if col in compared for c, e in exprs.items()]
    old = "".join(f', o."{c}" AS "_old_{c}"' for c in scope_cols)
    returning = ", ".join([f't."{c}"' for c in scope_cols] + [f'x."_old_{c}"' for c in scope_cols]) or "1"
    update = f"""
        UPDATE {target.table} t SET {', '.join(sets)}
        FROM (SELECT o.id AS _id{old}, m.* FROM {target.table} o JOIN {merged} m ON {key_match}
              WHERE {_distinct('o', 'm', compared)}) x
        WHERE t.id = x._id
        RETURNING {returning}"""
    clock.start("mise à jour des lignes modifiées")
    result.updated = _write(conn, update, scope_cols, target.scope_group, params, both=True, result=result)
    clock.lap("merge: update")

    returning = ", ".join(f't."{c}"' for c in scope_cols) or "1"
    insert = f"""
        INSERT INTO {target.table} AS t ({names})
        SELECT {names} FROM {merged} m
        WHERE NOT EXISTS (SELECT FROM {target.table} o WHERE {key_match})
        ORDER BY m._row
        RETURNING {returning}"""
    clock.start("insertion des nouvelles lignes")
    result.inserted = _write(conn, insert, scope_cols, target.scope_group, params, both=False, result=result)
    clock.lap("merge: insert")
    apply_settings(conn, planner)
    if saved:
        clock.start("reconstruction des index et des clés étrangères")
        saved.rebuild(conn)
        clock.lap("merge: rebuild indexes")
    return result


def _prepare_bulk(conn: Connection, table: str, merged: str, key_match: str, bulk: bool | None,
                  result: MergeResult) -> etl_bulk.SecondaryStructures | None:
    """Drop ``table``'s secondary indexes and foreign keys when asked (``bulk=True``), or when
    ``bulk`` is None and the new rows make it worth it (``etl.bulk.worth_it``) and the table can
    be locked in time; return what rebuilds them, or None for the row-by-row path."""
    saved = None
    if bulk:
        saved = etl_bulk.drop_secondary(conn, table)
    elif bulk is None:
        staged = conn.scalar(text(f"SELECT count(*) FROM {merged}"))
        new_rows = staged if staged >= etl_bulk.MIN_ROWS else 0
        if new_rows and conn.scalar(text(f"SELECT EXISTS (SELECT FROM {table})")):
            # Not a first load: only the keys the table does not hold yet are new.
            new_rows = conn.scalar(text(
                f"SELECT count(*) FROM {merged} m WHERE NOT EXISTS (SELECT FROM {table} o WHERE {key_match})"))
        if new_rows and etl_bulk.worth_it(conn, table, new_rows):
            saved = etl_bulk.drop_secondary(conn, table, wait=etl_bulk.LOCK_TIMEOUT)
            result.bulk_refused = saved is None
    result.bulk = saved is not None
    return saved


def _write(conn: Connection, statement: str, scope_cols: list[str], group: str, params: dict, *,
           both: bool, result: MergeResult) -> int:
    """Run a writing statement; return its row count and add its scope groups to ``result``."""
    if not scope_cols:
        return conn.execute(text(f"WITH w AS ({statement}) SELECT count(*) FROM w"), params).scalar_one()
    cols = ", ".join(f'"{c}"' for c in scope_cols)
    rows = f"SELECT {cols} FROM w"
    if both:
        rows += " UNION ALL SELECT " + ", ".join(f'"_old_{c}"' for c in scope_cols) + " FROM w"
    found = conn.execute(text(
        f"WITH w AS ({statement}) SELECT (SELECT count(*) FROM w), g.* FROM "
        f"(SELECT DISTINCT {group} FROM ({rows}) r) g"), params).all()
    result.scope.update(tuple(row[1:]) for row in found)
    return found[0][0] if found else 0


#: Settings of the load's transaction. work_mem: the merge sorts and hashes a million rows
#: (deadline choice, grid join, the insert's file order); at the 4 MB default they spill to disk
#: (1M incidents: prepare 18 s → 7 s at 64 MB; at 256 MB no sort of the merge spills).
#: maintenance_work_mem: index rebuilds of bulk loads (``etl.bulk``) sort in memory.
#: jit off: the merge statements' high cost estimates trigger JIT compilation of ~100 functions
#: per statement, paid on every load, small ones included. Scoped to the transaction (SET LOCAL
#: semantics) and restored for a caller's connection.
LOAD_SETTINGS = {"work_mem": "256MB", "maintenance_work_mem": "256MB", "jit": "off"}
#: Settings of the statement that builds the merged rows: the planner, misled by the computed
#: cell keys, sorts a million points for a merge join with the quartier grid where a hash join
#: on the grid's 40 000 cells takes half the time (1M incidents: 1.5 s → 0.7 s).
PREPARE_SETTINGS = {"enable_mergejoin": "off"}


def apply_settings(conn: Connection, settings: dict[str, str]) -> dict[str, str]:
    """Set ``settings`` for the rest of the transaction; return the previous values."""
    previous = {name: conn.scalar(text("SELECT current_setting(:n)"), {"n": name}) for name in settings}
    for name, value in settings.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    return previous
