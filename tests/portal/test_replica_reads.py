"""The portal reads from a real hot standby: items, tiles and public pages; the primary when the
standby is down or behind a visitor's own write (read-your-writes after a report)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from ova.db import make_engine
from portal import create_app
from portal.database import dispose

INSIDE = (48.8530, 2.3499)  # Île de la Cité


@pytest.fixture
def replicated_app(replica_pair):
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "DATABASE_URL": replica_pair.primary.url,
                      "DATABASE_REPLICA_URLS": [replica_pair.standby.url], "API_REQUESTS_PER_MINUTE": 0,
                      "REPORTS_PER_HOUR": 0})
    app.extensions["ova_replicas"].check_every = 0      # every read sees the standby's state now
    yield app
    dispose(app)


def test_items_tiles_and_pages_read_from_the_standby(replicated_app):
    client = replicated_app.test_client()
    for url in ("/ogc/collections/quartiers/items?limit=5", "/ogc/collections/quartiers/items/1?f=json",
                "/tiles/quartiers/12/2074/1409.pbf", "/"):
        resp = client.get(url)
        assert resp.status_code in (200, 204), (url, resp.status_code)
        assert resp.headers.get("X-OVA-Database") == "replica", url
    assert len(client.get("/ogc/collections/quartiers/items?limit=5").get_json()["features"]) == 5


def test_pages_are_served_by_the_primary_while_the_standby_is_down(replicated_app, replica_pair):
    client = replicated_app.test_client()
    replica_pair.standby.stop()
    try:
        for url in ("/ogc/collections/quartiers/items?limit=5", "/"):
            resp = client.get(url)
            assert resp.status_code == 200 and resp.headers["X-OVA-Database"] == "primary", url
    finally:
        replica_pair.standby.start()
    replica_pair.wait_replayed()
    assert client.get("/").headers["X-OVA-Database"] == "replica"


def test_a_reporter_sees_the_report_at_once_even_if_the_standby_is_behind(replicated_app, replica_pair):
    standby = make_engine(replica_pair.standby.url)
    client = replicated_app.test_client()
    with standby.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        resp = client.post("/incidents/new", data={
            "category": "graffiti", "lat": str(INSIDE[0]), "lon": str(INSIDE[1]),
            "description": "Tag vu depuis la réplique", "address": "Parvis Notre-Dame", "email": ""})
        assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
        incident_id = int(re.search(r"/incidents/(\d+)/suivi/", resp.get_data(as_text=True)).group(1))
        page = client.get(f"/incidents/{incident_id}")
        assert page.status_code == 200 and page.headers["X-OVA-Database"] == "primary"
        assert "Parvis Notre-Dame" in page.get_data(as_text=True) or "graffiti" in page.get_data(as_text=True).lower()
        # Another visitor, who wrote nothing, may read the standby (it lags by seconds at most).
        other = replicated_app.test_client()
        assert other.get("/ogc/collections/quartiers/items?limit=1").status_code == 200
    finally:
        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        standby.dispose()
    replica_pair.wait_replayed()
    assert client.get(f"/incidents/{incident_id}").headers["X-OVA-Database"] == "replica"
