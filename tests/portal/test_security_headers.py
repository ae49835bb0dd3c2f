"""Security headers: a nonce-based CSP on every response, and the browser really enforces it."""
import re
import threading

import pytest
from werkzeug.serving import make_server

from portal import create_app, database
from portal.maps import add_nonce
from portal.security import content_security_policy, tile_source

PAGES = ("/", "/login", "/catalogue", "/incidents/new", "/ogc/collections?f=html", "/indicateurs")


def _nonce(response) -> str:
    match = re.search(r"script-src 'self' 'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    assert match, response.headers["Content-Security-Policy"]
    return match.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code in (200, 302, 404), path
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
                      "frame-ancestors 'none'", "connect-src 'self'", "img-src 'self' data: blob:"):
        assert directive in csp
    assert "unsafe-inline" not in csp.partition("script-src")[2].partition(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "geolocation=(self)" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain http


def test_every_inline_script_of_a_page_carries_the_request_nonce(client):
    first = client.get("/")
    nonce = _nonce(first)
    html = first.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html)
    assert inline, "the home page has inline scripts (Folium)"
    assert all(f'nonce="{nonce}"' in tag for tag in inline), inline
    assert _nonce(client.get("/")) != nonce  # fresh per request


def test_json_api_responses_are_covered_too(client):
    response = client.get("/ogc/collections")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_hsts_only_over_https(client):
    response = client.get("/login", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_basemap_host_is_allowed_for_images_only():
    assert tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    assert tile_source("https://tiles.example.org/{z}/{x}/{y}.png") == "https://tiles.example.org"
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None
    csp = content_security_policy("abc", "https://tiles.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://tiles.example.org;" in csp
    assert "connect-src 'self';" in csp


def test_configured_basemap_reaches_the_header(db_url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "t",
                      "BASEMAP_URL": "https://{s}.tile.example.org/{z}/{x}/{y}.png"})
    response = app.test_client().get("/login")
    assert "https://*.tile.example.org" in response.headers["Content-Security-Policy"]


def test_add_nonce_skips_external_and_already_nonced_scripts():
    html = '<script src="/a.js"></script><script>var a;</script><script nonce="x">b</script><scripts>'
    assert add_nonce(html, "N") == ('<script src="/a.js"></script><script nonce="N">var a;</script>'
                                    '<script nonce="x">b</script><scripts>')
    assert add_nonce(html, None) == html


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_secure_cookies_from_environment(monkeypatch, db_url, value, expected):
    monkeypatch.setenv("OVA_SECURE_COOKIES", value)
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "t"})
    assert app.config["SESSION_COOKIE_SECURE"] is expected
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_session_cookie_not_secure_by_default(app):
    assert app.config["SESSION_COOKIE_SECURE"] is False


# --- the browser enforces the policy -------------------------------------------------------------

PROBE = """<!doctype html><html><head><title>probe</title></head><body>
<p id="out">-</p>
<script nonce="{nonce}">document.getElementById("out").dataset.nonced = "ran";</script>
<script>document.getElementById("out").dataset.bare = "ran";</script>
<button id="b" onclick="document.getElementById('out').dataset.handler = 'ran'">b</button>
</body></html>"""


@pytest.fixture(scope="module")
def probe_server(engine, db_url):
    """The portal plus a test-only route serving inline scripts with and without the nonce."""
    from portal.security import csp_nonce

    application = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "probe"})
    application.add_url_rule("/__csp_probe", "csp_probe", lambda: PROBE.format(nonce=csp_nonce()))
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    database.dispose(application)


def test_browser_blocks_inline_script_without_nonce(probe_server, page):
    page.goto(f"{probe_server}/__csp_probe")
    page.click("#b")
    out = page.locator("#out")
    assert out.get_attribute("data-nonced") == "ran"
    assert out.get_attribute("data-bare") is None
    assert out.get_attribute("data-handler") is None
    assert any("Content Security Policy" in e for e in page.watch.errors), page.watch.errors
    assert not page.watch.external
