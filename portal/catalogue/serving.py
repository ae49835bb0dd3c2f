"""Serving connections for the hot read-only paths (OGC items, tiles).

Deliberate options: autocommit and read-only (no BEGIN/ROLLBACK round trips, nothing can be
written); connections kept open from one request to the next, as a minimal psycopg app keeps its
own (no pool checkout and reset per request; one lost with the server is replaced after a
failure, and the idle ones are dropped with it: a restart kills them all); JIT and parallel
workers off as everywhere (see ova.db.SERVER_OPTIONS); and custom plans only:
psycopg prepares a statement after a few executions, and PostgreSQL's generic plan for a bbox page
(parameters unknown) sorts every match of the bbox, where the plan for the actual bbox walks the
primary key and stops after the page (450 ms against 1 ms measured on 1 000 000 incidents).
Planning each time costs a fraction of a millisecond. Single items (``kind="item"``) are the
exception: a lookup by key has the same best plan whatever the id, and planning it with the
layer's row on each request was a third of its database time (~0.08 of 0.24 ms); their
connections leave the choice to PostgreSQL (a generic plan after five executions, when it costs
no more than the custom ones).
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, g
from sqlalchemy.engine import Engine

from ova.db import make_engine
from portal.database import SERVING_OPTIONS, replica_for_read


#: Session options of the single-item connections: PostgreSQL's own plan cache mode (see above).
ITEM_OPTIONS = SERVING_OPTIONS.replace(" -c plan_cache_mode=force_custom_plan", "")
#: Connection kinds: (engine key, idle list key, session options).
_KINDS = {"page": ("ova_serving_engine", "ova_serving_idle", SERVING_OPTIONS),
          "item": ("ova_serving_item_engine", "ova_serving_item_idle", ITEM_OPTIONS)}


def _engine(app: Flask, kind: str = "page") -> Engine:
    key, _, options = _KINDS[kind]
    engine = app.extensions.get(key)
    if engine is None:
        engine = make_engine(app.config["DATABASE_URL"], application_name="portail-ova-serving",
                             pool_pre_ping=False, pool_recycle=600, isolation_level="AUTOCOMMIT",
                             connect_args={"options": options})
        app.extensions[key] = engine
    return engine


#: Idle serving connections kept open between requests, per app (beyond it, they are closed).
IDLE_MAX = 8


def checkout(app: Flask, replica: Engine | None = None, kind: str = "page"):
    """A read-only serving connection of ``app`` and whether it is ours to give back with
    :func:`checkin` (the tests' connection, when the app is bound to one, is not): on ``replica``
    when given (a standby chosen by :func:`portal.database.replica_for_read`), else the primary,
    with the session options of ``kind`` ("page", or "item" for single items)."""
    bind = app.extensions["ova_bind"]
    if not isinstance(bind, Engine):
        return bind, False
    if replica is not None:
        return replica.connect(), "replica"
    idle = app.extensions.setdefault(_KINDS[kind][1], [])
    try:
        return idle.pop(), kind  # atomic: safe across threads
    except IndexError:
        return _engine(app, kind).connect(), kind


def checkin(app: Flask, conn, owned: bool) -> None:
    """Give back a connection from :func:`checkout`: kept idle for the next request, or closed."""
    if not owned:
        return
    if owned == "replica":           # back to the standby's own pool
        conn.close()
        return
    if conn.invalidated:  # lost with the server (a restart): the idle ones are lost too
        conn.close()
        close_idle(app)
        return
    # Ends SQLAlchemy's logical transaction (autocommit: nothing to undo in the database), so that
    # the next request starts from the state of a fresh connection.
    conn.rollback()
    idle = app.extensions.setdefault(_KINDS[owned if owned in _KINDS else "page"][1], [])
    if len(idle) < IDLE_MAX:
        idle.append(conn)
    else:
        conn.close()


def serving_connection():
    """The request's read-only connection (the tests' connection when the app is bound to one)."""
    if "ova_serving" not in g:
        g.ova_serving = checkout(current_app, replica_for_read(current_app))
    return g.ova_serving[0]


def _close(exc: BaseException | None) -> None:
    conn, owned = g.pop("ova_serving", (None, False))
    if conn is not None:
        checkin(current_app, conn, owned)


def close_idle(app: Flask) -> None:
    """Close the idle serving connections of ``app`` (when it stops serving)."""
    for _, key, _ in _KINDS.values():
        idle = app.extensions.get(key, [])
        while idle:
            idle.pop().close()


def init_blueprint(bp: Blueprint) -> None:
    """Close the serving connection at the end of every request of the app ``bp`` is registered on."""
    def register(state) -> None:
        if _close not in state.app.teardown_appcontext_funcs:  # once per app, whatever the blueprints
            state.app.teardown_appcontext(_close)

    bp.record_once(register)
