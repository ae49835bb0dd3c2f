"""Audit log of changes: who changed which row of which table, when, and the row before/after.

Call :func:`record` in the same transaction as the change (so a rolled-back change leaves no
entry), with :func:`snapshot` of the row before and after. Secrets (password and token hashes)
and geometries are never copied into the log.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import insert, inspect

from ova.models import AUDIT_ACTIONS, AuditEntry

#: Columns never copied into the log.
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _default(value: Any):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (uuid.UUID, dt.timedelta)):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return None  # geometries, bytes: not logged


def jsonable(values: Mapping[str, Any] | None) -> dict | None:
    """``values`` as plain JSON (dates as ISO strings), without secret columns."""
    if values is None:
        return None
    clean = {k: v for k, v in values.items() if k not in SECRET_COLUMNS}
    return json.loads(json.dumps(clean, default=_default))


def snapshot(obj) -> dict:
    """The column values of an ORM object (no relationships, secrets or geometries)."""
    from geoalchemy2.elements import _SpatialElement

    mapper = inspect(obj).mapper
    values = {}
    for attr in mapper.column_attrs:
        value = getattr(obj, attr.key)
        if isinstance(value, _SpatialElement):
            continue
        values[attr.key] = value
    return jsonable(values)


def row_values(conn, table, row_id) -> dict | None:
    """The current values of ``table``'s row ``row_id`` (a Table with an ``id`` key), as logged."""
    from geoalchemy2 import Geometry
    from sqlalchemy import select

    columns = [c for c in table.columns if not isinstance(c.type, Geometry) and c.name not in SECRET_COLUMNS]
    row = conn.execute(select(*columns).where(table.c.id == row_id)).mappings().first()
    return jsonable(dict(row)) if row is not None else None


def changed(before: Mapping | None, after: Mapping | None) -> bool:
    """True when ``before`` and ``after`` differ (an update that changes nothing is not logged)."""
    return before != after


def _entry(actor_id, table, row_id, action, before, after) -> dict:
    if not _TABLE.match(table or ""):
        raise ValueError(f"invalid table name {table!r}")
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r} (expected one of {AUDIT_ACTIONS})")
    return {"actor_id": actor_id, "table_name": table, "row_id": str(row_id), "action": action,
            "before": jsonable(before), "after": jsonable(after)}


def record(conn, actor_id: int | None, table: str, row_id, action: str,
           before: Mapping | None = None, after: Mapping | None = None) -> None:
    """Log one change of ``table``'s row ``row_id`` by ``actor_id`` (None: command line, ETL).

    ``conn`` is a Connection or a Session, in the transaction of the change.
    """
    conn.execute(insert(AuditEntry), [_entry(actor_id, table, row_id, action, before, after)])


def record_many(conn, actor_id: int | None, table: str, action: str,
                changes: Iterable[tuple[Any, Mapping | None, Mapping | None]]) -> None:
    """Log several changes ``(row_id, before, after)`` of one table in one statement."""
    rows = [_entry(actor_id, table, row_id, action, before, after) for row_id, before, after in changes]
    if rows:
        conn.execute(insert(AuditEntry), rows)


#: Tables whose changes are logged (the filter of the admin page).
AUDITED_TABLES = ("incidents", "layers", "norms", "planned_purchases", "priority_zones", "users",
                  "text_moderations", "incident_reports", "auto_publications", "privacy")
PER_PAGE = 50


def diff(before: Mapping | None, after: Mapping | None) -> list[tuple[str, Any, Any]]:
    """``(column, before, after)`` for every column whose value differs, by column name
    (JSONB keeps no key order)."""
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def display(value: Any) -> str:
    """A logged value as plain text for people: strings as they are, the rest as JSON (escape it in HTML)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def list_entries(session, *, table: str | None = None, page: int = 1,
                 per_page: int = PER_PAGE) -> tuple[list[dict], int]:
    """One page of the log, newest first, optionally for one table: ``(entries, total)``."""
    from sqlalchemy import func, select

    from ova.errors import InvalidInput
    from ova.models import User

    if table is not None and table not in AUDITED_TABLES:
        raise InvalidInput(f"unknown table {table!r} (expected one of {', '.join(AUDITED_TABLES)})")
    if page < 1:
        raise InvalidInput("page must be 1 or more")
    where = [AuditEntry.table_name == table] if table else []
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where))
    rows = session.execute(
        select(AuditEntry, User.email, User.name).outerjoin(User, User.id == AuditEntry.actor_id)
        .where(*where).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    entries = [{"id": e.id, "at": e.at, "actor_id": e.actor_id, "actor_email": email, "actor_name": name,
                "table": e.table_name, "row_id": e.row_id, "action": e.action,
                "changes": diff(e.before, e.after)} for e, email, name in rows]
    return entries, total
