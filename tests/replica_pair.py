"""A real PostgreSQL primary and hot standby on loopback ports, for the read-replica tests.

Two clusters made by the server's own tools, in a temporary directory: ``initdb`` for the
primary, ``pg_basebackup -R`` (streaming replication, standby.signal written) for the standby;
both run as the ``postgres`` system user when the tests run as root (PostgreSQL refuses root).
The primary gets the portal's schema (``ova db upgrade``, ``ova seed``) and the Paris quartiers.
"""
from __future__ import annotations

import os
import sys
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from ova.db import make_engine

ROOT = Path(__file__).resolve().parents[1]


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for version in sorted(Path("/usr/lib/postgresql").glob("*"), reverse=True):
        candidate = version / "bin" / name
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"{name} not found: install the PostgreSQL server (scripts/setup.sh does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


@dataclass
class Cluster:
    """One PostgreSQL cluster of the pair."""

    data: Path
    port: int
    socket_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/ova"

    def start(self) -> None:
        _as_postgres([_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "60",
                      "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1", "start"])

    def stop(self) -> None:
        _as_postgres([_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])


@dataclass
class ReplicaPair:
    primary: Cluster
    standby: Cluster

    def wait_replayed(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        primary, standby = make_engine(self.primary.url), make_engine(self.standby.url)
        try:
            with primary.connect() as conn:
                target = conn.scalar(text("SELECT pg_current_wal_insert_lsn()"))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with standby.connect() as conn:
                    if conn.scalar(text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}):
                        return
                time.sleep(0.1)
            raise AssertionError("the standby did not catch up")
        finally:
            primary.dispose()
            standby.dispose()


@pytest.fixture(scope="session")
def replica_pair():
    """A primary with the portal's schema and the Paris quartiers, and its streaming standby."""
    base = Path(tempfile.mkdtemp(prefix="ova-replicas-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    primary = Cluster(base / "primary", _free_port(), base)
    standby = Cluster(base / "standby", _free_port(), base)
    _as_postgres([_bin("initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8"])
    with open(primary.data / "postgresql.conf", "a") as conf:
        conf.write("\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n"
                   "synchronous_commit = off\nfull_page_writes = off\n")
    primary.start()
    try:
        _as_postgres([_bin("createdb"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "ova"])
        _as_postgres([_bin("psql"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-d", "ova",
                      "-qc", "CREATE EXTENSION postgis"])
        environment = {**os.environ, "DATABASE_URL": primary.url}
        ova = str(Path(sys.executable).with_name("ova"))
        for command in (["db", "upgrade"], ["seed"],
                        ["load", "quartiers", "geodata/paris/paris_quartiers_administratifs.geojson",
                         "--preset", "paris-quartiers"], ["layers", "seed"]):
            subprocess.run([ova, *command], check=True, capture_output=True, cwd=ROOT, env=environment)
        _as_postgres([_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                      "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast"])
        standby.start()
        pair = ReplicaPair(primary, standby)
        pair.wait_replayed()
        yield pair
    finally:
        for cluster in (standby, primary):
            try:
                cluster.stop()
            except subprocess.CalledProcessError:
                pass  # never started, or already stopped by a test
        shutil.rmtree(base, ignore_errors=True)
