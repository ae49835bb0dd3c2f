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


# ---------------------------------------------------------------------------------------------
# The single item /ogc/collections/<slug>/items/<id>

ITEM_ELIGIBLE = [
    "/ogc/collections/t-places/items/5",
    "/ogc/collections/t-places/items/6?f=json",
    "/ogc/collections/t-places/items/7?f=geojson&crs=http://www.opengis.net/def/crs/EPSG/0/2154",
    "/ogc/collections/t-places/items/8?crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&f=json&f=html",
    "/ogc/collections/t-bancs/items/9",  # a layer with a fixed filter
    "/ogc/collections/t-areas/items/7510501",  # a text key
]


@pytest.fixture
def flask_item_served(monkeypatch):
    """Counts the single items the Flask view answered."""
    calls = []
    original = views.item_feature

    def counted(*args, **kwargs):
        calls.append(args[1:3])
        return original(*args, **kwargs)

    monkeypatch.setattr(views, "item_feature", counted)
    return calls


def _item_comparable(response):
    headers = {k: v for k, v in response.headers.items() if k not in ("Set-Cookie",)}
    headers["Content-Security-Policy"] = re.sub(r"'nonce-[^']+'", "'nonce-N'", headers["Content-Security-Policy"])
    return response.status_code, headers, response.get_data()  # the body byte for byte


@pytest.mark.parametrize("hinted", [False, True], ids=["layer-read-first", "one-statement"])
@pytest.mark.parametrize("url", ITEM_ELIGIBLE)
def test_single_item_fast_path_answers_exactly_as_the_flask_view(client, flask_item_served, monkeypatch, url,
                                                                 hinted):
    from layers import catalogue

    hints: dict = {}
    monkeypatch.setattr(catalogue, "_HINTS", hints)
    if hinted:
        assert client.get(url).status_code == 200  # leaves the layer's row as the hint
        assert hints
    fast = client.get(url)
    assert flask_item_served == [], "an eligible single item reached Flask"
    client.set_cookie("unrelated", "1")
    if not hinted:
        hints.clear()
    slow = client.get(url)
    assert len(flask_item_served) == 1
    assert _item_comparable(fast) == _item_comparable(slow)
    assert fast.status_code == 200 and fast.headers["Content-Type"] == "application/geo+json"
    assert int(fast.headers["Content-Length"]) == len(fast.get_data())
    feature = json.loads(fast.get_data())
    slug, fid = url.split("?")[0].split("/")[3], url.split("?")[0].split("/")[5]
    assert str(feature["id"]) == fid and feature["type"] == "Feature"
    assert [link["rel"] for link in feature["links"]] == ["self", "alternate", "collection"]
    assert feature["links"][0]["href"] == f"http://localhost/ogc/collections/{slug}/items/{fid}?f=json"


def test_single_item_in_another_crs_is_projected(client, flask_item_served):
    wgs84 = client.get("/ogc/collections/t-places/items/7").get_json(force=True)
    lambert = client.get("/ogc/collections/t-places/items/7?crs=http://www.opengis.net/def/crs/EPSG/0/2154")
    assert lambert.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/2154>"
    x, y = lambert.get_json(force=True)["geometry"]["coordinates"]
    assert 2.2 < wgs84["geometry"]["coordinates"][0] < 2.5 and 640_000 < x < 665_000 and 6_850_000 < y < 6_875_000
    assert flask_item_served == []


#: (url, headers, status, whether Flask's view runs: a bad token or format is refused before it)
HANDED_TO_FLASK = [
    ("/ogc/collections/t-secret/items/1", {}, 401, True),  # restricted layer: never served anonymously
    ("/ogc/collections/nope/items/1", {}, 404, True),
    ("/ogc/collections/t-places/items/99999", {}, 404, True),  # no such feature
    ("/ogc/collections/t-places/items/abc", {}, 404, True),  # not an integer key
    ("/ogc/collections/t-bancs/items/2", {}, 404, True),  # outside the layer's filter
    ("/ogc/collections/t-places/items/5%2C6", {}, 404, True),  # an id the fast path does not take
    ("/ogc/collections/t-places/items/5?crs=EPSG:9999", {}, 400, True),
    ("/ogc/collections/t-places/items/5?f=xml", {}, 400, False),
    ("/ogc/collections/t-places/items/5?f=html", {}, 200, True),
    ("/ogc/collections/t-places/items/5", {"Accept": "text/html"}, 200, True),
    ("/ogc/collections/t-places/items/5?lang=en", {}, 200, True),
    ("/ogc/collections/t-places/items/5?limit=3", {}, 200, True),  # a parameter the view does not read
    ("/ogc/collections/t-places/items/5", {"Authorization": "Bearer ova_nope"}, 401, False),
    ("/ogc/collections/t-places/items/5?api_key=ova_nope", {}, 401, False),
]


@pytest.mark.parametrize("url, headers, status, view", HANDED_TO_FLASK)
def test_every_other_single_item_request_is_handed_to_flask(client, flask_item_served, url, headers, status, view):
    assert client.get("/ogc/collections/t-places/items/3").status_code == 200  # fast: the layer's hint kept
    assert flask_item_served == []
    response = client.get(url, headers=headers)
    assert response.status_code == status
    assert len(flask_item_served) == (1 if view else 0)
    if status == 200:
        html = "html" in url or headers.get("Accept") == "text/html"
        assert response.headers["Content-Type"].startswith("text/html" if html else "application/geo+json")
        assert flask_item_served == [("t-places", "5")]
    else:
        assert "application/json" in response.headers["Content-Type"]  # the OGC exception document
        assert b"Lieu n" not in response.data


def test_single_item_access_change_applies_at_once(client, connection, flask_item_served):
    url = "/ogc/collections/t-places/items/4"
    assert client.get(url).status_code == 200 and client.get(url).status_code == 200  # the second in one statement
    assert flask_item_served == []
    connection.execute(text("UPDATE layers SET restricted_to = '{banque}' WHERE slug = 't-places'"))
    resp = client.get(url)
    assert resp.status_code == 401 and b"Lieu n" not in resp.data
    assert flask_item_served == [("t-places", "4")]  # refused by Flask, after the fast path saw the fresh row
    connection.execute(text("UPDATE layers SET restricted_to = '{}', published = false WHERE slug = 't-places'"))
    assert client.get(url).status_code == 404
    connection.execute(text("UPDATE layers SET published = true WHERE slug = 't-places'"))
    assert client.get(url).status_code == 200


def test_single_item_of_a_restricted_layer_with_a_token_is_served_by_flask(client, flask_item_served, make_user,
                                                                           session):
    from portal.auth.tokens import issue_token

    token = issue_token(session, make_user("banque"), "test")
    session.flush()
    response = client.get("/ogc/collections/t-secret/items/1", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and flask_item_served == [("t-secret", "1")]


def test_single_item_rate_limit_counts_each_request_once(app, client, connection, flask_item_served):
    app.config["API_REQUESTS_PER_MINUTE"] = 4
    key = "api:" + client_hash(app.config["SECRET_KEY"], "203.0.113.51")
    codes = [client.get(f"/ogc/collections/t-places/items/{fid}", environ_base={"REMOTE_ADDR": "203.0.113.51"}
                        ).status_code for fid in (1, 99999, 2, 3, 4, 5)]
    assert codes == [200, 404, 200, 200, 429, 429]
    assert flask_item_served == [("t-places", "99999")]  # the unknown id: Flask's 404; the refusals: its 429
    assert connection.scalar(text("SELECT hits FROM rate_counters WHERE key = :k"), {"k": key}) == 6


def test_single_item_behind_a_trusted_proxy_links_are_https(db_url, connection):
    proxied = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                          "TRUSTED_PROXIES": 1, "API_REQUESTS_PER_MINUTE": 0})
    database.bind(proxied, connection)
    response = proxied.test_client().get("/ogc/collections/t-places/items/2", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "carto.ville.fr", "X-Forwarded-For": "198.51.100.4"})
    assert response.status_code == 200
    links = [link["href"] for link in response.get_json(force=True)["links"]]
    assert links == ["https://carto.ville.fr/ogc/collections/t-places/items/2?f=json",
                     "https://carto.ville.fr/ogc/collections/t-places/items/2?f=html",
                     "https://carto.ville.fr/ogc/collections/t-places"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_single_item_connections_leave_the_plan_to_postgresql(db_url):
    """Pages plan each request (the bbox decides the plan); single items, looked up by key, may use
    PostgreSQL's generic plan. Both read-only; each kind goes back to its own idle list."""
    from portal.catalogue.serving import checkin, checkout, close_idle

    served = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret"})
    try:
        for kind, mode in (("item", "auto"), ("page", "force_custom_plan")):
            conn, owned = checkout(served, kind=kind)
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == mode
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
            checkin(served, conn, owned)
        assert len(served.extensions["ova_serving_idle"]) == len(served.extensions["ova_serving_item_idle"]) == 1
        again, owned = checkout(served, kind="item")
        assert again.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"
        checkin(served, again, owned)
    finally:
        close_idle(served)
        assert served.extensions["ova_serving_item_idle"] == served.extensions["ova_serving_idle"] == []
        for key in ("ova_serving_engine", "ova_serving_item_engine", "ova_engine"):
            served.extensions[key].dispose()


@pytest.mark.parametrize("feature_id", ["5", "7510501", 'a"b', "é\\u0000x", "a/b?c=d&e", "\u2028"])
@pytest.mark.parametrize("extra", [{}, {"api_key": "ova_x&y"}])
def test_item_document_is_the_feature_with_its_links(feature_id, extra):
    from portal.ogc.items import item_document, item_links

    feature = '{"type" : "Feature", "id" : 5, "geometry" : null, "properties" : {"a" : "}"}}'
    for _ in range(2):  # the links' template built, then reused
        body = item_document(feature, "http://h/ogc", "t-places", feature_id, extra)
        expected = json.loads(feature) | {"links": item_links("http://h/ogc", "t-places", feature_id, extra)}
        assert json.loads(body) == expected
    assert body.endswith(b"}]}") and body.startswith(feature[:-1].encode())
