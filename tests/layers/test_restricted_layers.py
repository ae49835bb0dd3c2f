"""A restricted layer is denied on every channel, and served to its roles and their API tokens."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from portal.auth.tokens import issue_token

CHANNELS = (
    "/catalogue/t-secret",
    "/catalogue/t-secret/download.geojson",
    "/catalogue/t-secret/download.csv",
    "/catalogue/t-secret/download.gpkg",
    "/catalogue/t-secret/download.shp",
    "/ogc/collections/t-secret",
    "/ogc/collections/t-secret/items",
    "/ogc/collections/t-secret/items/1",
    "/ogc/collections/t-secret/items?f=html",
    "/tiles/t-secret.json",
    "/tiles/t-secret/14/8296/5638.pbf",
)


@pytest.mark.parametrize("url", CHANNELS)
def test_anonymous_denied_everywhere(client, url):
    resp = client.get(url)
    assert resp.status_code == 401
    assert b"Lieu n" not in resp.data


@pytest.mark.parametrize("url", CHANNELS)
@pytest.mark.parametrize("role", ["citizen", "agent", "urbaniste"])
def test_other_roles_denied_everywhere(login_as, url, role):
    resp = login_as(role).get(url)
    assert resp.status_code == 403 and b"Lieu n" not in resp.data


@pytest.mark.parametrize("url", CHANNELS)
@pytest.mark.parametrize("role", ["banque", "admin"])
def test_allowed_roles_served(login_as, url, role):
    resp = login_as(role).get(url)
    assert resp.status_code == 200, (url, resp.status_code)


def test_listings_hide_it_from_others(client, login_as):
    assert "t-secret" not in client.get("/ogc/collections").get_data(as_text=True)
    assert "Couche réservée" not in client.get("/catalogue").get_data(as_text=True)
    assert "t-secret" not in client.get("/ogc/api").get_data(as_text=True)
    banker = login_as("banque")
    assert "t-secret" in banker.get("/ogc/collections").get_data(as_text=True)
    assert "Couche réservée" in banker.get("/catalogue").get_data(as_text=True)


@pytest.mark.parametrize("url", CHANNELS)
def test_api_tokens(client, session, make_user, url):
    banker = issue_token(session, make_user("banque"), "sig")
    citizen = issue_token(session, make_user("citizen"), "app")
    sep = "&" if "?" in url else "?"
    assert client.get(url, headers={"Authorization": f"Bearer {banker}"}).status_code == 200
    assert client.get(f"{url}{sep}api_key={banker}").status_code == 200
    assert client.get(url, headers={"Authorization": f"Bearer {citizen}"}).status_code == 403
    assert client.get(url, headers={"Authorization": "Bearer ova_not-a-token"}).status_code == 401


def test_token_carried_in_links(client, session, make_user):
    banker = issue_token(session, make_user("banque"), "sig")
    doc = client.get(f"/ogc/collections/t-secret/items?limit=2&api_key={banker}").get_json(force=True)
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    assert f"api_key={banker}" in nxt
    assert client.get(nxt.replace("http://localhost", "")).status_code == 200


def test_unpublished_layer_is_invisible(client, connection, login_as):
    connection.execute(text("UPDATE layers SET published = false WHERE slug = 't-places'"))
    assert client.get("/ogc/collections/t-places/items").status_code == 404
    assert client.get("/catalogue/t-places").status_code == 404
    assert client.get("/tiles/t-places/14/8296/5638.pbf").status_code == 404
    assert login_as("admin").get("/catalogue/t-places").status_code == 200


def test_access_change_applies_at_once(client, connection):
    assert client.get("/ogc/collections/t-places/items?limit=1").status_code == 200  # served, hint kept
    assert client.get("/ogc/collections/t-places/items?limit=1").status_code == 200  # fast path
    connection.execute(text("UPDATE layers SET restricted_to = '{banque}' WHERE slug = 't-places'"))
    resp = client.get("/ogc/collections/t-places/items?limit=1")
    assert resp.status_code == 401 and b"Lieu n" not in resp.data
    connection.execute(text("UPDATE layers SET restricted_to = '{}', published = false WHERE slug = 't-places'"))
    assert client.get("/ogc/collections/t-places/items?limit=1").status_code == 404
