"""Bulk writes: drop a table's secondary indexes and outgoing foreign keys, write, rebuild them.

Inserting a million rows into a live table maintains every index row by row (a GiST index on
points costs ~12 s per million) and fires one foreign-key check per row and constraint (~2 s
per million each). Building the same indexes once over the whole table and validating each
foreign key with one join costs a fraction of that. PostgreSQL's DDL is transactional, so the
drop, the writes and the rebuild happen in the load's own transaction: a failed load, or a
rebuild that fails (a duplicate key, a dangling reference), rolls back to the table as it was.

The price is an ACCESS EXCLUSIVE lock on the table from the drop to the commit: readers of the
table (portal pages, tiles, the OGC API) wait for the load to finish. The loader therefore takes
this path only for large loads (see :func:`worth_it`), or when asked (``ova load --bulk``), and
when it decides alone it waits at most :data:`LOCK_TIMEOUT` for the lock (a long download or
report holding the table): past it, it writes row by row. Dry runs never take it unasked.
The primary key stays (other tables' foreign keys reference it), and so do check constraints.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

#: Below this many new rows the row-by-row path is always used.
MIN_ROWS = 100_000
#: … and when the new rows are fewer than this share of the rows already there: rebuilding
#: indexes over the whole table would cost more than maintaining them for the new rows.
MIN_SHARE = 0.25
#: How long a load that chose the bulk path waits for its exclusive lock: while it waits, new
#: readers of the table queue behind it, so it gives up early and writes row by row instead.
LOCK_TIMEOUT = "5s"
#: SQLSTATE of lock_not_available.
_LOCK_NOT_AVAILABLE = "55P03"


#: A load of fewer rows than this share of the table's finds which of its keys the table holds
#: (the UPDATE's join, the INSERT's NOT EXISTS) by one unique-index probe per row, not by a hash
#: or merge join that reads the whole table: the planner, costing random reads as uncached,
#: prefers the pass over the table even for a monthly load into ten years of reports, and that
#: pass grows with the table (``bench/scale.py``, 80 000 new rows: the update phase 2.5 s into
#: 1 000 000 rows, 14.5 s into 10 000 000). Probes cost ~8 µs a row against ~1.3 µs a table row
#: for the pass (same run, 1 000 000 rows): they win below ~15 % of the table; 10 % keeps a margin.
PROBE_SHARE = 0.1
#: Planner settings of the merge's writing statements on the probe path.
PROBE_SETTINGS = {"enable_hashjoin": "off", "enable_mergejoin": "off"}


def table_rows(conn: Connection, table: str) -> int:
    """The planner's row count of ``table`` (0 when never analysed)."""
    return conn.scalar(text("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                       {"t": table}) or 0


def worth_it(conn: Connection, table: str, new_rows: int) -> bool:
    """True when inserting ``new_rows`` into ``table`` is faster by dropping and rebuilding."""
    if new_rows < MIN_ROWS:
        return False
    return new_rows >= MIN_SHARE * table_rows(conn, table)


def probe_keys(conn: Connection, table: str, rows: int) -> bool:
    """True when a merge of ``rows`` rows into ``table`` should find their keys by index probes."""
    return rows < PROBE_SHARE * table_rows(conn, table)


@dataclass
class SecondaryStructures:
    """The statements that recreate what :func:`drop_secondary` dropped, in order."""

    table: str
    indexes: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)

    def rebuild(self, conn: Connection) -> None:
        """Recreate the indexes, then the constraints (each foreign key validated by one join)."""
        for statement in self.indexes + self.constraints:
            conn.execute(text(statement))
        conn.execute(text(f"ANALYZE {self.table}"))


_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
    ORDER BY 1"""

#: Unique constraints first (their indexes), then foreign keys.
_CONSTRAINTS = """
    SELECT c.conname, pg_get_constraintdef(c.oid), c.contype
    FROM pg_constraint c
    WHERE c.conrelid = CAST(:t AS regclass) AND c.contype IN ('u', 'f')
    ORDER BY c.contype DESC, c.conname"""


def drop_secondary(conn: Connection, table: str, *, wait: str | None = None) -> SecondaryStructures | None:
    """Lock ``table``, drop its non-primary indexes, unique constraints and foreign keys.

    Returns what rebuilds them (call :meth:`SecondaryStructures.rebuild` in the same
    transaction), or None, having changed nothing, when ``wait`` (e.g. ``'5s'``) is given and the
    lock was not granted within it.
    """
    if not _lock(conn, table, wait):
        return None
    params = {"t": table}
    saved = SecondaryStructures(table)
    indexes = conn.execute(text(_INDEXES), params).all()
    constraints = conn.execute(text(_CONSTRAINTS), params).all()
    for name, definition in indexes:
        saved.indexes.append(definition)
        conn.execute(text(f"DROP INDEX {name}"))
    for name, definition, _ in constraints:
        saved.constraints.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    return saved


def _lock(conn: Connection, table: str, wait: str | None) -> bool:
    statement = text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    if wait is None:
        conn.execute(statement)
        return True
    previous = conn.scalar(text("SELECT current_setting('lock_timeout')"))
    conn.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": wait})
    try:
        with conn.begin_nested():  # a refused lock rolls back this savepoint only
            conn.execute(statement)
    except OperationalError as err:
        if getattr(err.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        return False
    finally:
        conn.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": previous})
    return True
