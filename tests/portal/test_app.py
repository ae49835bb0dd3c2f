"""Application factory, configuration, login and server-side role checks."""
import pytest

from portal import create_app
from tests.builders import PASSWORD


def test_create_app_reads_overrides_last(db_url, monkeypatch):
    monkeypatch.setenv("OVA_BASEMAP_URL", "http://127.0.0.1/tiles/{z}/{x}/{y}.png")
    app = create_app({"DATABASE_URL": db_url, "BASEMAP_URL": "", "SECRET_KEY": "x"})
    assert app.config["BASEMAP_URL"] == ""
    assert app.config["DATABASE_URL"] == db_url


def test_home_lists_quartiers_and_feed_is_wgs84(client, connection):
    from etl.targets import load
    from tests.etl.test_quartiers import PARIS

    load(connection, "quartiers", PARIS, preset="paris-quartiers")
    page = client.get("/")
    assert page.status_code == 200
    assert "Enfants-Rouges" in page.text
    assert "cdn." not in page.text and "unpkg" not in page.text and "cdnjs" not in page.text
    feed = client.get("/api/quartiers.geojson").get_json()
    assert len(feed["features"]) == 80
    lon, lat = feed["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 2.2 < lon < 2.5 and 48.8 < lat < 48.95


def test_every_static_asset_of_the_home_page_exists(client):
    import re

    page = client.get("/").text
    urls = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    assert any("leaflet.js" in u for u in urls)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_login_and_logout(client, make_user):
    make_user("urbaniste", email="Urba@Example.org")
    bad = client.post("/login", data={"email": "urba@example.org", "password": "wrong"})
    assert bad.status_code == 401
    ok = client.post("/login", data={"email": "urba@example.org", "password": PASSWORD})
    assert ok.status_code == 302
    assert "Test urbaniste" in client.get("/").text
    client.post("/logout")
    assert "Test urbaniste" not in client.get("/").text


def test_login_ignores_foreign_next_urls(client, make_user):
    make_user("citizen")
    r = client.post("/login?next=//evil.example/x", data={"email": "citizen@example.org", "password": PASSWORD})
    assert r.headers["Location"] in ("/", "http://localhost/")


def test_forms_carry_csrf_tokens(db_url, connection):
    from portal import database

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x", "SERVER_NAME": "localhost"})
    database.bind(app, connection)
    c = app.test_client()
    assert 'name="csrf_token"' in c.get("/login").text
    assert c.post("/login", data={"email": "a@b.c", "password": "x"}).status_code == 400


def test_cli_creates_users(runner, producer):
    result = runner.invoke(args=["users", "create", "--email", "agent@ville.fr", "--name", "Agent",
                                 "--role", "agent", "--producer", "proprete", "--password", "longenough"])
    assert result.exit_code == 0, result.output
    refused = runner.invoke(args=["users", "create", "--email", "x@ville.fr", "--name", "X",
                                  "--role", "agent", "--password", "longenough"])
    assert refused.exit_code != 0 and "producer" in refused.output


@pytest.mark.parametrize("lang,text", [("en", "Territory map"), ("fr", "Carte du territoire")])
def test_language_switch(client, lang, text):
    assert text in client.get(f"/?lang={lang}").text
