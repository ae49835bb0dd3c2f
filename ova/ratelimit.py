"""Rate limits counted in the database, so they hold across worker processes and restarts.

The client is identified by a keyed hash of its IP address (the address itself is never stored);
a limit counts the rows a table already holds for a key within a time window. Incident reports
count ``incident_reports``, failed logins count ``login_failures``. Requests that store nothing
(the OGC API, tiles, downloads) are counted per fixed window in the unlogged ``rate_counters``
table by :func:`hit`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from sqlalchemy import func, select, text

from ova.errors import OvaError


class RateLimited(OvaError):
    """Too many requests from the same client (or for the same account) in a window."""

    status = 429
    code = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        #: Seconds after which the client may retry (``Retry-After`` header).
        self.retry_after = retry_after


def client_hash(secret: str, client: str | None) -> str | None:
    """Keyed hash of a client identifier (IP address), so the address itself is never stored."""
    if not client:
        return None
    return hmac.new(secret.encode(), client.encode(), hashlib.sha256).hexdigest()


def recent_count(session, key_column, key, time_column, window: dt.timedelta) -> int:
    """Rows of ``key_column``'s table whose key is ``key`` and time within ``window`` of now."""
    return session.scalar(select(func.count()).select_from(key_column.table)
                          .where(key_column == key, time_column > func.now() - window))


def check(session, key_column, key, time_column, *, limit: int, window: dt.timedelta, message: str) -> None:
    """Raise :class:`RateLimited` (``message``) when ``key`` already has ``limit`` rows within ``window``."""
    if not key or limit <= 0:
        return
    if recent_count(session, key_column, key, time_column, window) >= limit:
        raise RateLimited(message, retry_after=int(window.total_seconds()))


_HIT = text("""
    INSERT INTO rate_counters (key, window_start, hits)
    VALUES (:key, to_timestamp(floor(extract(epoch FROM now()) / :seconds) * :seconds), 1)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_counters.hits + 1
    RETURNING hits, ceil(extract(epoch FROM window_start + make_interval(secs => :seconds) - now()))::int
""")
_EXPIRE = text("""
    DELETE FROM rate_counters
    WHERE window_start < now() - make_interval(secs => :seconds) AND key LIKE :scope || ':%'
""")


def count_hit(conn, scope: str, client: str, window: dt.timedelta) -> tuple[int, int]:
    """Count one request of ``client`` in ``scope``'s current fixed window of length ``window``.

    Returns the hits of the window so far (this one included) and the seconds until it ends.
    ``conn`` is in a transaction the caller commits. The first hit of a window also deletes the
    scope's windows that have ended, so the table stays about as small as the number of clients.
    """
    seconds = max(1, int(window.total_seconds()))
    hits, remaining = conn.execute(_HIT, {"key": f"{scope}:{client}", "seconds": seconds}).one()
    if hits == 1:
        conn.execute(_EXPIRE, {"seconds": seconds, "scope": scope})
    return hits, max(1, remaining)
