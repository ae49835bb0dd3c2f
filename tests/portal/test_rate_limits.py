"""API rate limits (OGC API, tiles, downloads per client address) and trusted reverse proxies."""
import pytest
from sqlalchemy import text

from ova.ratelimit import client_hash
from portal import create_app, database

#: One request per counted channel; unknown layers still count (a scraper's 404s cost too).
API_PATHS = ("/ogc/collections", "/ogc/collections/nope/items?bbox=1,2,3,4", "/tiles/nope/0/0/0.pbf",
             "/tiles/nope.json", "/catalogue/nope/download.csv")


def _get(client, path, ip="203.0.113.9", **headers):
    return client.get(path, environ_base={"REMOTE_ADDR": ip}, headers=headers)


def test_api_requests_limited_per_client_with_retry_after(app, client, connection):
    app.config["API_REQUESTS_PER_MINUTE"] = len(API_PATHS)
    for path in API_PATHS:
        assert _get(client, path).status_code != 429, path
    for path in API_PATHS:
        refused = _get(client, path)
        assert refused.status_code == 429, path
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert f"au plus {len(API_PATHS)} par minute" in refused.get_data(as_text=True), path
    # Another client is not affected, nor are pages outside the API.
    assert _get(client, "/ogc/collections", ip="198.51.100.20").status_code == 200
    assert _get(client, "/catalogue").status_code == 200


def _counters(connection) -> dict:
    """Hits per key (rows committed by the browser tests' live server may be there too)."""
    return dict(connection.execute(text("SELECT key, hits FROM rate_counters")).all())


def test_api_counters_store_no_address(app, client, connection):
    app.config["API_REQUESTS_PER_MINUTE"] = 100
    before = _counters(connection)
    _get(client, "/ogc/collections")
    _get(client, "/ogc/collections")
    new = {k: v for k, v in _counters(connection).items() if before.get(k) != v}
    assert list(new.values()) == [2]
    key = next(iter(new))
    assert key == "api:" + client_hash(app.config["SECRET_KEY"], "203.0.113.9") and "203.0.113.9" not in key


def test_zero_disables_the_api_limit(app, client, connection):
    app.config["API_REQUESTS_PER_MINUTE"] = 0
    before = _counters(connection)
    for _ in range(5):
        assert _get(client, "/ogc/collections").status_code == 200
    assert _counters(connection) == before


@pytest.fixture
def proxied_app(db_url, connection):
    """The portal behind one trusted reverse proxy."""
    application = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                              "SERVER_NAME": "localhost", "TRUSTED_PROXIES": 1,
                              "API_REQUESTS_PER_MINUTE": 1})
    database.bind(application, connection)
    yield application
    database.dispose(application)


def test_trusted_proxy_gives_the_client_address_and_scheme(proxied_app):
    client = proxied_app.test_client()
    proxy = "10.0.0.2"
    first = _get(client, "/ogc/collections", ip=proxy, **{"X-Forwarded-For": "203.0.113.1",
                                                         "X-Forwarded-Proto": "https"})
    assert first.status_code == 200
    assert first.headers["Strict-Transport-Security"].startswith("max-age=")
    # Same proxy, another client behind it: its own budget (the limit is 1 per minute).
    assert _get(client, "/ogc/collections", ip=proxy, **{"X-Forwarded-For": "203.0.113.2"}).status_code == 200
    assert _get(client, "/ogc/collections", ip=proxy, **{"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    # A client-forged header before the proxy's own entry is not trusted: the proxy appends the
    # real address, and only the last entry counts with one proxy.
    forged = _get(client, "/ogc/collections", ip=proxy, **{"X-Forwarded-For": "198.51.100.99, 203.0.113.1"})
    assert forged.status_code == 429


def test_secure_cookie_and_hsts_follow_the_forwarded_scheme(proxied_app):
    proxied_app.config["SESSION_COOKIE_SECURE"] = True
    client = proxied_app.test_client()
    response = client.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                          headers={"X-Forwarded-For": "203.0.113.3", "X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers
    assert "Secure" in response.headers["Set-Cookie"]
    plain = client.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                       headers={"X-Forwarded-For": "203.0.113.3"})
    assert "Strict-Transport-Security" not in plain.headers


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client, connection):
    app.config["API_REQUESTS_PER_MINUTE"] = 1
    assert _get(client, "/ogc/collections", **{"X-Forwarded-For": "203.0.113.50",
                                               "X-Forwarded-Proto": "https"}).status_code == 200
    again = _get(client, "/ogc/collections", **{"X-Forwarded-For": "203.0.113.51"})
    assert again.status_code == 429  # same real address: a forged header buys nothing
    assert "Strict-Transport-Security" not in again.headers


def test_api_limit_of_a_server_app_counts_on_its_own_autocommit_connections(db_url, engine):
    """A real (engine-bound) app counts each hit in one autocommitted statement, across requests."""
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "limits-engine",
                      "API_REQUESTS_PER_MINUTE": 3})
    client = app.test_client()
    key = "api:" + client_hash("limits-engine", "192.0.2.77")
    statements = []
    try:
        from sqlalchemy import event

        from portal.security import counter_engine

        with app.app_context():
            counters = counter_engine(app)
        event.listen(counters, "before_cursor_execute",
                     lambda conn, cursor, statement, *args: statements.append(statement.split()[0]))
        codes = [_get(client, "/ogc/collections", ip="192.0.2.77").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        # One statement per hit (plus the expiry of ended windows on a window's first hit), on
        # connections that autocommit and are not pinged before use.
        assert statements.count("INSERT") == 4 and set(statements) <= {"INSERT", "DELETE"}
        with counters.connect() as conn:
            assert conn.connection.driver_connection.autocommit
        assert not counters.pool._pre_ping
        with engine.connect() as conn:  # committed: another connection sees the four hits
            assert conn.scalar(text("SELECT hits FROM rate_counters WHERE key = :k"), {"k": key}) == 4
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM rate_counters WHERE key = :k"), {"k": key})
        database.dispose(app)
