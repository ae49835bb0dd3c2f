"""Database engine and session factory: one engine per process, created on demand."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

# On 2 cores, parallel query and JIT make short serving queries several times slower;
# every connection of ours switches them off deliberately.
SERVER_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0 -c TimeZone=UTC"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs, whatever SQLAlchemy's default."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def make_engine(url: str, *, application_name: str = "portail-ova", **kwargs) -> Engine:
    """Create an engine for ``url`` with the project's connection options (``kwargs`` override
    them: pool sizes, ``pool_pre_ping``, ``isolation_level``, ``connect_args``…)."""
    connect_args = {"options": SERVER_OPTIONS, "application_name": application_name}
    connect_args.update(kwargs.pop("connect_args", {}))
    return create_engine(
        normalise_url(url),
        pool_pre_ping=kwargs.pop("pool_pre_ping", True),
        pool_size=kwargs.pop("pool_size", 5),
        max_overflow=kwargs.pop("max_overflow", 10),
        connect_args=connect_args,
        **kwargs,
    )


def make_sessionmaker(bind) -> sessionmaker[Session]:
    """Return a session factory bound to an engine or a connection."""
    return sessionmaker(bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint")


@contextmanager
def transaction(bind: Engine | Connection):
    """One all-or-nothing unit of work on an engine (a transaction) or a connection.

    On a connection already in a transaction (the tests' rolled-back one, or a caller's),
    it uses a savepoint, so a failure still leaves the database exactly as before.
    """
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    elif bind.in_transaction():
        with bind.begin_nested():
            yield bind
    else:
        with bind.begin():
            yield bind
