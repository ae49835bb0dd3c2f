"""Serving connections for the hot read-only paths (OGC items, tiles).

Deliberate options: autocommit and read-only (no BEGIN/ROLLBACK round trips, nothing can be
written); one connection per thread kept across requests, as a minimal psycopg app would (no pool
checkout and reset per request; a connection lost with the server is replaced after one failure);
JIT and parallel workers off as everywhere (see ova.db.SERVER_OPTIONS); and custom plans only:
psycopg prepares a statement after a few executions, and PostgreSQL's generic plan for a bbox page
(parameters unknown) sorts every match of the bbox, where the plan for the actual bbox walks the
primary key and stops after the page (450 ms against 1 ms measured on 1 000 000 incidents).
Planning each time costs a fraction of a millisecond.
"""
from __future__ import annotations

import threading

from flask import Blueprint, Flask, current_app, g
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from ova.db import SERVER_OPTIONS, normalise_url
from portal.database import get_bind

SERVING_OPTIONS = SERVER_OPTIONS + " -c default_transaction_read_only=on -c plan_cache_mode=force_custom_plan"


def _engine(app: Flask) -> Engine:
    engine = app.extensions.get("ova_serving_engine")
    if engine is None:
        engine = create_engine(
            normalise_url(app.config["DATABASE_URL"]), pool_pre_ping=False, pool_recycle=600,
            pool_size=5, max_overflow=10, isolation_level="AUTOCOMMIT",
            connect_args={"options": SERVING_OPTIONS, "application_name": "portail-ova-serving"})
        app.extensions["ova_serving_engine"] = engine
    return engine


_THREAD = threading.local()


def _thread_connection(app: Flask) -> Connection:
    """This thread's serving connection, kept from one request to the next (no pool checkout)."""
    engine = _engine(app)
    conns = _THREAD.__dict__.setdefault("conns", {})
    conn = conns.get(id(engine))
    if conn is None or conn.closed or conn.invalidated:  # first use, or lost with the server
        conn = conns[id(engine)] = engine.connect()
    return conn


def serving_connection():
    """The request's read-only connection (the tests' connection when the app is bound to one)."""
    if "ova_serving" not in g:
        bind = get_bind()
        if isinstance(bind, Engine):
            g.ova_serving = (_thread_connection(current_app), True)
        else:
            g.ova_serving = (bind, False)
    return g.ova_serving[0]


def _close(exc: BaseException | None) -> None:
    conn, owned = g.pop("ova_serving", (None, False))
    if owned and not conn.invalidated:
        # Ends SQLAlchemy's logical transaction (autocommit: nothing to undo in the database), so
        # that the next request starts from the same state as on a fresh connection.
        conn.rollback()


def init_blueprint(bp: Blueprint) -> None:
    """Close the serving connection at the end of every request of the app ``bp`` is registered on."""
    bp.record_once(lambda state: state.app.teardown_appcontext(_close))
