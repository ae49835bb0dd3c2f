"""Fault injection: PostgreSQL restarted during an ETL load and between requests, a full or
read-only photo store.

The server restarted is a private throwaway cluster started by this module (initdb/pg_ctl of
PostgreSQL 15 as the postgres user, on a free port), never the shared server; the photo store is
a tiny tmpfs mounted for the test. Both need root: without it these tests fail, saying why (a
suite that cannot inject the faults has not checked what happens under them).
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from etl.targets import load
from layers.catalogue import seed_layers
from ova.db import make_engine
from ova.migrate import upgrade
from ova.seed import seed_all
from portal import create_app, database
from tests.etl.conftest import DANSMARUE_CSV, PARIS_QUARTIERS

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _run(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=120, **kwargs)


def _as_postgres(*args):
    return _run("runuser", "-u", "postgres", "--", *args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """A throwaway PostgreSQL cluster that tests may stop and restart at will."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ova-fault-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = _free_port()
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                     "--no-sync", "-E", "UTF8")
        self.start()
        _as_postgres(str(PG_BIN / "psql"), "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-Xq",
                     "-c", "CREATE DATABASE ova_fault", "-c", "ALTER USER postgres PASSWORD 'fault'")
        _as_postgres(str(PG_BIN / "psql"), "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-Xq",
                     "-d", "ova_fault", "-c", "CREATE EXTENSION postgis")
        self.url = f"postgresql://postgres:fault@127.0.0.1:{self.port}/ova_fault"

    def _ctl(self, *args):
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args)

    def start(self):
        self._ctl("-l", str(self.dir / "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self):
        self._ctl("-m", "fast", "stop")

    def restart(self):
        self.stop()
        self.start()

    def destroy(self):
        try:
            self._ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.fail("fault injection needs root (runuser to postgres) and PostgreSQL 15's initdb/pg_ctl "
                    f"in {PG_BIN}: a private cluster cannot be started here", pytrace=False)
    pg = PrivateCluster()
    try:
        upgrade(pg.url)
        engine = make_engine(pg.url)
        seed_all(engine)
        seed_layers(engine)
        load(engine, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
        engine.dispose()
        yield pg
    finally:
        pg.destroy()


def _count(url, table) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608 (fixed names)
    finally:
        engine.dispose()


def test_etl_load_interrupted_by_a_restart_leaves_no_partial_rows(cluster):
    engine = make_engine(cluster.url)
    before = _count(cluster.url, "incidents")
    restarted = []

    @event.listens_for(engine, "after_cursor_execute")
    def _restart_after_merge(conn, cursor, statement, parameters, context, executemany):
        # The rows are merged into incidents, not yet committed: the server restarts now.
        if not restarted and "INSERT INTO incidents AS t" in statement:
            restarted.append(True)
            cluster.restart()

    with pytest.raises(DBAPIError) as failure:
        load(engine, "incidents", DANSMARUE_CSV, preset="dansmarue")
    engine.dispose()
    assert restarted, "the merge statement was never reached"
    assert failure.value.connection_invalidated or "terminat" in str(failure.value) or "closed" in str(failure.value)
    assert _count(cluster.url, "incidents") == before == 0
    assert _count(cluster.url, "incident_events") == 0
    # After the restart the same load goes through in full.
    engine = make_engine(cluster.url)
    summary = load(engine, "incidents", DANSMARUE_CSV, preset="dansmarue")
    engine.dispose()
    assert summary.inserted > 0 and _count(cluster.url, "incidents") == summary.inserted


@pytest.fixture
def portal(cluster, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": cluster.url, "SECRET_KEY": "fault",
                      "WTF_CSRF_ENABLED": False, "PHOTO_DIR": str(tmp_path / "photos"), "REPORTS_PER_HOUR": 0})
    yield app
    database.dispose(app)


PATHS = ("/healthz", "/ogc/collections", "/ogc/collections/signalements/items?limit=2", "/incidents/new",
         "/open311/v2/services.json")


def test_portal_recovers_by_itself_after_a_restart(portal, cluster):
    client = portal.test_client()
    for path in PATHS:
        assert client.get(path).status_code == 200, path  # the pool now holds live connections
    cluster.restart()
    for path in PATHS:
        assert client.get(path).status_code == 200, path  # pre-ping replaced the dead ones


def test_idle_serving_connections_lost_in_a_restart_cost_no_request(portal, cluster):
    """After a restart every idle serving connection is dead: the first failure drops them all."""
    from portal.catalogue.serving import checkin, checkout

    client = portal.test_client()
    url = "/ogc/collections/signalements/items?limit=2"
    assert client.get(url).status_code == 200
    with portal.app_context():
        held = [checkout(portal) for _ in range(3)]  # as after three concurrent requests
        for conn, owned in held:
            conn.exec_driver_sql("SELECT 1")
        for conn, owned in held:
            checkin(portal, conn, owned)
    assert len(portal.extensions["ova_serving_idle"]) == 3
    cluster.restart()
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]


def test_api_hit_counters_recover_by_themselves_after_a_restart(portal, cluster):
    """With a small limit every hit is written at once, on the counters' own unpinged connections."""
    portal.config["API_REQUESTS_PER_MINUTE"] = 40
    client = portal.test_client()
    assert client.get("/ogc/collections").status_code == 200  # the counters' pool holds a live connection
    cluster.restart()
    assert client.get("/ogc/collections").status_code == 200  # the dead one failed once and was replaced
    assert _count(cluster.url, "rate_counters") == 1


def test_requests_while_the_server_is_down_get_a_clear_503(portal, cluster):
    client = portal.test_client()
    assert client.get("/healthz").status_code == 200
    cluster.stop()
    try:
        for path in PATHS:
            response = client.get(path)
            body = response.get_data(as_text=True)
            assert response.status_code == 503, (path, body[:500])
            assert response.headers["Retry-After"] == "10"
            assert "Traceback" not in body and "psycopg" not in body and "127.0.0.1" not in body
            message = response.json["description"] if response.is_json else body
            assert "momentanément indisponible" in message
    finally:
        cluster.start()
    assert client.get("/healthz").status_code == 200


# --- the photo store --------------------------------------------------------------------------------

def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((256, 256), 100).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tiny tmpfs (``mount(options)``), unmounted after the test."""
    mounted = []

    def mount(options: str) -> Path:
        target = tmp_path / f"store{len(mounted)}"
        target.mkdir()
        try:
            _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target))
        except (subprocess.CalledProcessError, FileNotFoundError) as err:
            pytest.fail(f"cannot mount a tmpfs to simulate the photo store ({err}): needs root with CAP_SYS_ADMIN",
                        pytrace=False)
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", str(target)], check=False, capture_output=True)


@pytest.mark.parametrize("store", ["full", "read-only"])
def test_full_or_read_only_photo_store(portal, tmpfs, store):
    if store == "full":
        photos = tmpfs("size=64k")
        (photos / "filler").write_bytes(b"\0" * (64 * 1024 - 4096))
    else:
        photos = tmpfs("ro,size=1m")
    portal.config["PHOTO_DIR"] = str(photos)
    before = _count(portal.config["DATABASE_URL"], "incidents")
    client = portal.test_client()
    response = client.post("/incidents/new", data={
        "category": "graffiti", "lat": "48.8530", "lon": "2.3499", "description": "Tag sur la façade",
        "photo": (io.BytesIO(_jpeg()), "photo.jpg")}, content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:800]
    assert "stockage des photos est plein ou en lecture seule" in body and "Traceback" not in body
    assert _count(portal.config["DATABASE_URL"], "incidents") == before
    assert sorted(p.name for p in photos.iterdir()) == (["filler"] if store == "full" else [])
