"""Run a generator over a database connection that outlives the request's session."""
from __future__ import annotations

from typing import Callable, Iterator

from sqlalchemy.engine import Engine

from portal.database import get_bind


def stream_with_connection(fn: Callable[..., Iterator], *args, **kwargs) -> Iterator:
    """Call ``fn(conn, *args)`` lazily on its own connection (the tests' connection when bound)."""
    bind = get_bind()

    def generate():
        if isinstance(bind, Engine):
            with bind.connect() as conn, conn.begin():
                yield from fn(conn, *args, **kwargs)
        else:
            yield from fn(bind, *args, **kwargs)

    return generate()
