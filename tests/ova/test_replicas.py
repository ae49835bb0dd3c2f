"""ova.replicas against a real primary and hot standby: choice, lag, read-your-writes, a standby down."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from ova.db import make_engine
from ova.replicas import ReplicaSet, lsn_value, write_position


@pytest.fixture
def engines(replica_pair):
    primary, standby = make_engine(replica_pair.primary.url), make_engine(replica_pair.standby.url)
    yield primary, standby
    with standby.connect() as conn:          # never leave the standby paused for the next test
        conn.execute(text("SELECT pg_wal_replay_resume()"))
    primary.dispose()
    standby.dispose()


def _in_recovery(engine) -> bool:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_is_in_recovery()"))


def test_lsn_values_compare_as_wal_positions():
    assert lsn_value("0/16B3748") < lsn_value("0/16B3750") < lsn_value("1/0")
    assert lsn_value(None) == 0


def test_a_caught_up_standby_serves_the_reads(replica_pair, engines):
    primary, _ = engines
    replicas = ReplicaSet(primary, [replica_pair.standby.url], check_every=0)
    engine = replicas.pick()
    assert engine is not None and _in_recovery(engine)
    assert replicas.status()[0]["up"] is True
    replicas.dispose()


def test_a_writer_reads_from_the_primary_until_the_standby_has_its_write(replica_pair, engines):
    primary, standby = engines
    replicas = ReplicaSet(primary, [replica_pair.standby.url], check_every=0, max_lag=3600)
    with primary.begin() as conn:                 # one transaction replayed: the standby's lag is known
        conn.execute(text("CREATE TABLE IF NOT EXISTS replica_probe (n integer)"))
    replica_pair.wait_replayed()
    with standby.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    with primary.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS replica_probe (n integer)"))
        conn.execute(text("INSERT INTO replica_probe VALUES (1)"))
    with primary.connect() as conn:
        position = write_position(conn)
    assert replicas.pick(position) is None        # the standby has not replayed the write: the primary
    assert replicas.pick() is not None            # a reader who wrote nothing may read the paused standby
    with standby.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_resume()"))
    replica_pair.wait_replayed()
    engine = replicas.pick(position)
    assert engine is not None and _in_recovery(engine)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM replica_probe")) >= 1
    replicas.dispose()


def test_a_lagging_standby_is_skipped(replica_pair, engines):
    primary, standby = engines
    with standby.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    with primary.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS replica_probe (n integer)"))
        conn.execute(text("INSERT INTO replica_probe VALUES (2)"))
    with primary.connect() as conn:
        position = write_position(conn)
    for _ in range(300):                          # received but not replayed: a backlog
        with standby.connect() as conn:
            if conn.scalar(text("SELECT pg_last_wal_receive_lsn() >= CAST(:p AS pg_lsn)"), {"p": position}):
                break
        time.sleep(0.1)
    strict = ReplicaSet(primary, [replica_pair.standby.url], check_every=0, max_lag=0)
    assert strict.pick() is None                  # a backlog, and its last replay older than 0 s
    strict.dispose()


def test_a_standby_down_is_skipped_then_used_again(replica_pair, engines):
    primary, _ = engines
    replicas = ReplicaSet(primary, [replica_pair.standby.url], check_every=0)
    assert replicas.pick() is not None
    replica_pair.standby.stop()
    try:
        assert replicas.pick() is None
        assert replicas.status()[0]["up"] is False and replicas.status()[0]["error"]
    finally:
        replica_pair.standby.start()
    replica_pair.wait_replayed()
    assert replicas.pick() is not None
    replicas.dispose()
