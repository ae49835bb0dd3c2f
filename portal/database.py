"""The portal's engine (one per app), its read replicas and the request-scoped session.

With ``DATABASE_REPLICA_URLS``, the reads of OGC items, tiles (:mod:`portal.catalogue.serving`)
and of the public pages listed in :data:`REPLICA_READ_ENDPOINTS` go to a hot standby that is up
and recent (:mod:`ova.replicas`); everything else, and the reads of a visitor who has just written
(read-your-writes: the primary's WAL position after their write is kept in their session), goes to
the primary. Each routed response says where it read (``X-OVA-Database: replica|primary``).
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, g, request, session
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ova.db import SERVER_OPTIONS, make_engine, make_sessionmaker
from ova.replicas import ReplicaSet, write_position
from ova.territory import check_database

#: Read-only, autocommit, custom plans: the options of every connection that only reads.
SERVING_OPTIONS = SERVER_OPTIONS + " -c default_transaction_read_only=on -c plan_cache_mode=force_custom_plan"

#: Public pages whose request only reads the database: served from a replica when one is usable.
REPLICA_READ_ENDPOINTS = frozenset({
    "home.index", "home.quartiers_feed", "home.choropleth_feed", "quartiers.show", "quartiers.search",
    "quartiers.incidents_feed", "quartiers.outline_feed", "quartiers.zones_feed", "quartiers.establishments_feed",
    "incidents.detail", "catalogue.index", "catalogue.layer_page", "norms.dashboard", "norms.grid",
    "norms.quartier", "indicators.index",
})

#: Session key of the primary's WAL position after this visitor's last write.
WRITE_POSITION_KEY = "ova_wal"


def init_app(app: Flask) -> None:
    """Create the app's engine, replicas and session factory, and close the session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    # A database created for another storage CRS is refused (the message names both).
    check_database(engine, key=app.config["DATABASE_URL"])
    app.extensions["ova_engine"] = engine
    app.extensions["ova_bind"] = engine
    app.extensions["ova_sessionmaker"] = make_sessionmaker(engine)
    urls = app.config.get("DATABASE_REPLICA_URLS") or []
    if urls:
        app.extensions["ova_replicas"] = ReplicaSet(
            engine, list(urls), max_lag=float(app.config.get("REPLICA_MAX_LAG", 5.0)),
            engine_options={"isolation_level": "AUTOCOMMIT", "pool_recycle": 600,
                            "connect_args": {"options": SERVING_OPTIONS}})
        app.after_request(_remember_writes)
    app.teardown_appcontext(_close_session)


def replica_for_read(app: Flask) -> Engine | None:
    """The standby this request may read from, or None (no replicas, tests' bound connection, a
    write request, or none usable for this visitor's last write)."""
    replicas: ReplicaSet | None = app.extensions.get("ova_replicas")
    if replicas is None or not isinstance(app.extensions["ova_bind"], Engine) or request.method not in ("GET", "HEAD"):
        return None
    engine = replicas.pick(session.get(WRITE_POSITION_KEY))
    g.ova_read_from = "replica" if engine is not None else "primary"
    return engine


def _remember_writes(response):
    """After a successful write request, keep the primary's WAL position in the visitor's session."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400:
        with current_app.extensions["ova_engine"].connect() as conn:
            session[WRITE_POSITION_KEY] = write_position(conn)
    if "ova_read_from" in g:
        response.headers["X-OVA-Database"] = g.ova_read_from
    return response


def bind(app: Flask, connection) -> None:
    """Bind the app's sessions to ``connection`` (tests run each one in a rolled-back transaction)."""
    app.extensions["ova_bind"] = connection
    app.extensions["ova_sessionmaker"] = make_sessionmaker(connection)


def dispose(app: Flask) -> None:
    """Close every database connection ``app`` holds: its engines' pools (main, serving, hit
    counters) and the idle serving connections."""
    from portal.catalogue.serving import close_idle

    close_idle(app)
    for extension in list(app.extensions.values()):
        if isinstance(extension, (Engine, ReplicaSet)):
            extension.dispose()


def get_bind():
    """The engine (or, in tests, the connection) that ETL and CLI work should use."""
    return current_app.extensions["ova_bind"]


@contextmanager
def session_scope():
    """A session of the app in one transaction, outside any request (CLI, jobs)."""
    with current_app.extensions["ova_sessionmaker"]() as session, session.begin():
        yield session


def get_session() -> Session:
    """Return the session of the current request, opened on first use (on a replica for the
    public read-only pages of :data:`REPLICA_READ_ENDPOINTS` when one is usable)."""
    if "db_session" not in g:
        replica = replica_for_read(current_app) if request and request.endpoint in REPLICA_READ_ENDPOINTS else None
        g.db_session = (make_sessionmaker(replica) if replica is not None
                        else current_app.extensions["ova_sessionmaker"])()
    return g.db_session


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
