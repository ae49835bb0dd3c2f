"""Rate limits counted in the database, so they hold across worker processes and restarts.

The client is identified by a keyed hash of its IP address (the address itself is never stored);
a limit counts the rows a table already holds for a key within a time window. Incident reports
count ``incident_reports``, failed logins count ``login_failures``. Requests that store nothing
(the OGC API, tiles, downloads) are counted per fixed window in the unlogged ``rate_counters``
table by :func:`count_hit`, in batches buffered per process (:class:`HitBuffer`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select, text

from ova.errors import RateLimited


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
    VALUES (:key, to_timestamp(floor(extract(epoch FROM now()) / :seconds) * :seconds), :n)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_counters.hits + :n
    RETURNING hits, ceil(extract(epoch FROM window_start + make_interval(secs => :seconds) - now()))::int
""")
_EXPIRE = text("""
    DELETE FROM rate_counters
    WHERE window_start < now() - make_interval(secs => :seconds) AND key LIKE :scope || ':%'
""")


def count_hit(conn, scope: str, client: str, window: dt.timedelta, hits: int = 1) -> tuple[int, int]:
    """Count ``hits`` requests of ``client`` in ``scope``'s current fixed window of length ``window``.

    Returns the hits of the window so far (these included) and the seconds until it ends.
    ``conn`` is in a transaction the caller commits (or autocommits). The first write of a window
    also deletes the scope's windows that have ended, so the table stays about as small as the
    number of clients.
    """
    seconds = max(1, int(window.total_seconds()))
    total, remaining = conn.execute(_HIT, {"key": f"{scope}:{client}", "seconds": seconds, "n": hits}).one()
    if total == hits:
        conn.execute(_EXPIRE, {"seconds": seconds, "scope": scope})
    return total, max(1, remaining)


def batch_size(limit: int) -> int:
    """Hits a process may buffer per client before writing them: 2 % of the limit (1 below 100)."""
    return max(1, limit // 50)


class HitBuffer:
    """A process' API hits, written to the shared counters in batches instead of one by one.

    A client's hits are written every ``batch`` hits, and each hit is written at once when the
    client's last known total is within ``batch`` of the limit; a refusal is always decided on the
    shared total just written. So most requests of a well-behaved client write nothing, and the
    limit can be exceeded by at most ``batch - 1`` hits per worker process (600 per minute: batch
    12). Hits buffered when a window ends are dropped with it.
    """

    def __init__(self, max_clients: int = 10_000):
        self._lock = threading.Lock()
        #: client → (window start, hits buffered, last known shared total)
        self._state: dict[str, tuple[int, int, int]] = {}
        self.max_clients = max_clients

    def hit(self, client: str, *, limit: int, window: dt.timedelta,
            write: Callable[[int], tuple[int, int]]) -> tuple[int, int] | None:
        """Count one hit; call ``write(n)`` when due and return its (total, seconds left), else None."""
        seconds = max(1, int(window.total_seconds()))
        start = int(time.time() // seconds) * seconds
        batch = batch_size(limit)
        with self._lock:
            window_start, pending, known = self._state.get(client, (start, 0, 0))
            if window_start != start:
                pending, known = 0, 0
            pending += 1
            if pending < batch and known + pending < limit - batch:
                self._state[client] = (start, pending, known)
                return None
            if len(self._state) >= self.max_clients:
                self._state = {k: v for k, v in self._state.items() if v[0] == start}
            self._state[client] = (start, 0, known)
        total, remaining = write(pending)
        with self._lock:
            window_start, buffered, _ = self._state.get(client, (start, 0, 0))
            if window_start == start:
                self._state[client] = (start, buffered, total)
        return total, remaining
