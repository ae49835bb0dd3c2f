"""The WSGI fast path of anonymous GeoJSON items (portal.ogc.fast): the same answers as the Flask
view, and every other request handed to Flask."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

import portal.ogc.views as views
from ova.ratelimit import client_hash
from portal import create_app, database

ELIGIBLE = [
    "/ogc/collections/t-places/items",
    "/ogc/collections/t-places/items?limit=7&bbox=2.29,48.82,2.36,48.88",
    "/ogc/collections/t-places/items?limit=5&crs=http://www.opengis.net/def/crs/EPSG/0/2154",
    "/ogc/collections/t-places/items?kind=banc&limit=3&f=json",
    "/ogc/collections/t-places/items?sortby=-value&limit=4&offset=8&f=geojson",
    "/ogc/collections/t-places/items?limit=4&after=20&limit=99",  # the first value of a repeated key
    "/ogc/collections/t-places/items?datetime=2024-01-01T00:00:00Z/..&limit=2",
    "/ogc/collections/t-bancs/items?limit=3",
]


@pytest.fixture
def flask_served(monkeypatch):
    """Counts the requests the Flask view answered."""
    calls = []
    original = views.items_page

    def counted(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(views, "items_page", counted)
    return calls


def _comparable(response):
    headers = {k: v for k, v in response.headers.items() if k not in ("Set-Cookie",)}
    headers["Content-Security-Policy"] = re.sub(r"'nonce-[^']+'", "'nonce-N'", headers["Content-Security-Policy"])
    doc = json.loads(response.get_data())
    doc.pop("timeStamp")
    return response.status_code, headers, doc


@pytest.mark.parametrize("url", ELIGIBLE)
def test_fast_path_answers_exactly_as_the_flask_view(client, flask_served, url):
    fast = client.get(url)
    assert flask_served == [], "an eligible request reached Flask"
    # Any cookie makes the request Flask's (a logged-in reader may see more).
    client.set_cookie("unrelated", "1")
    slow = client.get(url)
    assert len(flask_served) == 1
    assert _comparable(fast) == _comparable(slow)
    assert fast.status_code == 200 and fast.headers["Content-Type"] == "application/geo+json"
    assert int(fast.headers["Content-Length"]) == len(fast.get_data())


@pytest.mark.parametrize("url, headers, status", [
    ("/ogc/collections/t-secret/items", {}, 401),  # restricted layer: Flask explains
    ("/ogc/collections/nope/items", {}, 404),
    ("/ogc/collections/t-places/items?bbox=1,2,3", {}, 400),
    ("/ogc/collections/t-places/items?after=1&sortby=value", {}, 400),
    ("/ogc/collections/t-places/items?limit=%00", {}, 400),
    ("/ogc/collections/t-places/items?f=html", {}, 200),
    ("/ogc/collections/t-places/items", {"Accept": "text/html"}, 200),
    ("/ogc/collections/t-places/items?lang=en", {}, 200),
    ("/ogc/collections/t-places/items", {"Authorization": "Bearer ova_nope"}, 401),
    ("/ogc/collections/t-places/items?api_key=ova_nope", {}, 401),
])
def test_everything_else_is_handed_to_flask(client, flask_served, url, headers, status):
    response = client.get(url, headers=headers)
    assert response.status_code == status
    if status == 200:
        assert flask_served == ["t-places"]
        html = "html" in url or headers.get("Accept") == "text/html"
        assert response.headers["Content-Type"].startswith("text/html" if html else "application/geo+json")
    else:
        assert "application/json" in response.headers["Content-Type"]  # the OGC exception document


def test_restricted_layer_with_a_token_is_served_by_flask(client, flask_served, make_user, session):
    from portal.auth.tokens import issue_token

    token = issue_token(session, make_user("banque"), "test")
    session.flush()
    response = client.get("/ogc/collections/t-secret/items?limit=2", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and flask_served == ["t-secret"]


def test_rate_limit_counts_each_request_once_and_flask_refuses(app, client, connection, flask_served):
    app.config["API_REQUESTS_PER_MINUTE"] = 3
    key = "api:" + client_hash(app.config["SECRET_KEY"], "203.0.113.50")
    codes = [client.get("/ogc/collections/t-places/items?limit=1", environ_base={"REMOTE_ADDR": "203.0.113.50"}
                        ).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert flask_served == []  # the three served were fast; the refusals were Flask's 429
    assert connection.scalar(text("SELECT hits FROM rate_counters WHERE key = :k"), {"k": key}) == 5


def test_behind_a_trusted_proxy_links_are_https_and_hsts_is_sent(db_url, connection):
    proxied = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                          "TRUSTED_PROXIES": 1, "API_REQUESTS_PER_MINUTE": 0})
    database.bind(proxied, connection)
    response = proxied.test_client().get("/ogc/collections/t-places/items?limit=1", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "carto.ville.fr", "X-Forwarded-For": "198.51.100.4"})
    assert response.status_code == 200
    links = [link["href"] for link in response.get_json(force=True)["links"]]
    assert links and all(href.startswith("https://carto.ville.fr/ogc/collections/t-places") for href in links)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
