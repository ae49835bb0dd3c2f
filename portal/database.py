"""The portal's engine (one per app) and the request-scoped session."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ova.db import make_engine, make_sessionmaker
from ova.territory import check_database


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory, and close the session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    # A database created for another storage CRS is refused (the message names both).
    check_database(engine, key=app.config["DATABASE_URL"])
    app.extensions["ova_engine"] = engine
    app.extensions["ova_bind"] = engine
    app.extensions["ova_sessionmaker"] = make_sessionmaker(engine)
    app.teardown_appcontext(_close_session)


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
        if isinstance(extension, Engine):
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
    """Return the session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["ova_sessionmaker"]()
    return g.db_session


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
