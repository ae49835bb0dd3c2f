"""Read replicas: PostgreSQL hot standbys that serve reads while the primary takes the writes.

A :class:`ReplicaSet` holds one engine per standby (``DATABASE_REPLICA_URLS``) and picks, for a
read, a standby that is up and recent enough:

* **up**: its last health check (at most every ``check_every`` seconds, a single short query)
  succeeded; a standby that refuses connections is skipped until a later check finds it back;
* **not lagging**: it has replayed the WAL the primary had written at the last check, or its
  last replayed transaction is at most ``max_lag`` seconds old (``OVA_REPLICA_MAX_LAG``) — an
  idle primary writes nothing, so a replica that has replayed everything is never "late"; nor is
  one that replays all the WAL it has received (streaming, only what is in flight is missing);
* **read-your-writes**: a caller that has just written passes the primary's WAL position after
  its commit (:func:`write_position`); only a standby that has replayed up to it is chosen, else
  the read goes to the primary.

``pick`` returns None when no standby qualifies: the caller reads from the primary. Nothing here
writes; the standbys are read-only by nature.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ova.db import make_engine

log = logging.getLogger(__name__)

_STATUS = text("""
    SELECT pg_is_in_recovery(),
           pg_last_wal_replay_lsn()::text,
           pg_last_wal_receive_lsn()::text,
           extract(epoch FROM now() - pg_last_xact_replay_timestamp())""")


def write_position(conn: Connection) -> str:
    """The primary's WAL insert position (``pg_current_wal_insert_lsn``: past every commit made),
    to pass to :meth:`ReplicaSet.pick` after a commit so that the writer's next reads see its write."""
    return conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one()


def lsn_value(lsn: str | None) -> int:
    """A WAL position ``X/Y`` as an integer (comparable), 0 for None."""
    if not lsn:
        return 0
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class Replica:
    """One standby and what its last check found."""

    url: str
    engine: Engine
    up: bool = False
    replayed: int = 0                    # WAL position replayed (lsn_value)
    received: int = 0                    # WAL position received from the primary
    lag_seconds: float | None = None     # age of the last replayed transaction
    checked_at: float = field(default=-1e9)
    error: str | None = None

    @property
    def name(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


class ReplicaSet:
    """The standbys of one primary, checked lazily and chosen in turn."""

    def __init__(self, primary: Engine, urls: list[str], *, max_lag: float = 5.0, check_every: float = 2.0,
                 engine_options: dict | None = None):
        self.primary = primary
        self.max_lag = max_lag
        self.check_every = check_every
        options = {"application_name": "portail-ova-replica", "pool_pre_ping": False, **(engine_options or {})}
        options.setdefault("connect_args", {})
        options["connect_args"] = {"connect_timeout": 2, **options["connect_args"]}
        self.replicas = [Replica(url, make_engine(url, **options)) for url in urls]
        self._primary_position = 0
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def __len__(self) -> int:
        return len(self.replicas)

    def check(self, replica: Replica, *, force: bool = False) -> Replica:
        """Refresh ``replica``'s state when its last check is older than ``check_every`` (or ``force``)."""
        now = time.monotonic()
        if not force and now - replica.checked_at < self.check_every:
            return replica
        with self._lock:
            if not force and now - replica.checked_at < self.check_every:
                return replica
            replica.checked_at = now
            try:
                with self.primary.connect() as conn:
                    self._primary_position = lsn_value(write_position(conn))
                with replica.engine.connect() as conn:
                    in_recovery, replayed, received, lag = conn.execute(_STATUS).one()
                replica.up, replica.error = bool(in_recovery), None if in_recovery else "not a standby"
                replica.replayed, replica.received = lsn_value(replayed), lsn_value(received)
                replica.lag_seconds = lag
            except Exception as err:  # noqa: BLE001 - a standby down is skipped, whatever the error
                if replica.up or replica.error is None:
                    log.warning("replica %s skipped: %s", replica.name, err.__class__.__name__)
                replica.up, replica.error = False, f"{err.__class__.__name__}: {err}".splitlines()[0]
                replica.engine.dispose()        # its pooled connections died with it
        return replica

    def usable(self, replica: Replica, min_position: int = 0) -> bool:
        """Up, not lagging past ``max_lag``, and replayed up to ``min_position`` (read-your-writes)."""
        if not replica.up or replica.replayed < min_position:
            return False
        caught_up = replica.replayed >= self._primary_position
        # Streaming and replaying all it receives: behind by what is in flight (the primary's own
        # idle-time records included), not by a backlog.
        streaming = replica.received > 0 and replica.replayed >= replica.received
        return caught_up or streaming or (replica.lag_seconds is not None and replica.lag_seconds <= self.max_lag)

    def pick(self, min_position: str | None = None) -> Engine | None:
        """A standby's engine for a read (in turn among the usable ones), or None: read the primary.

        ``min_position``: the WAL position the reader wrote at (:func:`write_position`). A standby
        found behind it is checked again once, at once, before the read falls back to the primary.
        """
        if not self.replicas:
            return None
        wanted = lsn_value(min_position)
        start = next(self._turn)
        for k in range(len(self.replicas)):
            replica = self.check(self.replicas[(start + k) % len(self.replicas)])
            if replica.up and replica.replayed < wanted:
                replica = self.check(replica, force=True)
            if self.usable(replica, wanted):
                return replica.engine
        return None

    def status(self) -> list[dict]:
        """What the last checks found, for the admin and the logs."""
        return [{"replica": r.name, "up": r.up, "lag_seconds": r.lag_seconds, "error": r.error}
                for r in self.replicas]

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()
