"""Login rate limit (failures per account and per client address, counted in the database) and
the ``WWW-Authenticate`` challenge of API 401s."""
from sqlalchemy import func, select, text

from ova.models import LoginFailure
from portal import create_app, database
from portal.auth.services import account_key
from tests.builders import PASSWORD


def _login(client, email, password, ip="203.0.113.5"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_account_locked_after_failures_even_with_the_right_password(app, client, make_user, session):
    make_user("citizen", "lock@example.org")
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert _login(client, "lock@example.org", "wrong password").status_code == 401
    response = _login(client, "LOCK@example.org ", PASSWORD)  # same account, normalised
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == app.config["LOGIN_WINDOW_MINUTES"] * 60
    assert "Trop de tentatives" in response.get_data(as_text=True)
    with client.session_transaction() as browser_session:
        assert "_user_id" not in browser_session


def test_failures_are_stored_hashed(client, make_user, session):
    make_user("citizen", "hashed@example.org")
    _login(client, "hashed@example.org", "wrong password")
    row = session.execute(select(LoginFailure)).scalars().one()
    assert len(row.account_hash) == 64 and "hashed" not in row.account_hash
    assert len(row.client_hash) == 64
    dump = session.execute(text("SELECT login_failures::text FROM login_failures")).scalar_one()
    assert "example.org" not in dump and "203.0.113.5" not in dump


def test_client_address_limited_across_accounts(app, client, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_CLIENT"] = 3
    for n in range(3):
        assert _login(client, f"nobody{n}@example.org", "wrong password").status_code == 401
    assert _login(client, "other@example.org", "wrong password").status_code == 429
    # another address is not affected
    assert _login(client, "other@example.org", "wrong password", ip="198.51.100.7").status_code == 401


def test_success_clears_the_account_failures(app, client, make_user, session):
    make_user("citizen", "ok@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] - 1):
        _login(client, "ok@example.org", "wrong password")
    assert _login(client, "ok@example.org", PASSWORD).status_code == 302
    account = account_key(app.config["SECRET_KEY"], "ok@example.org")
    assert session.scalar(select(func.count()).select_from(LoginFailure)
                          .where(LoginFailure.account_hash == account)) == 0
    fresh = app.test_client()
    assert _login(fresh, "ok@example.org", "wrong password").status_code == 401  # counter restarted


def test_limit_holds_across_worker_processes(app, client, db_url, connection, make_user):
    """A second app (another gunicorn worker) sees the failures counted by the first."""
    make_user("citizen", "shared@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        _login(client, "shared@example.org", "wrong password")
    other = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                        "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost"})
    database.bind(other, connection)
    try:
        assert _login(other.test_client(), "shared@example.org", PASSWORD, ip="192.0.2.1").status_code == 429
    finally:
        database.dispose(other)


def test_api_401_names_the_bearer_scheme(client, connection):
    connection.execute(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence, restricted_to) VALUES "
        "('secret-layer', 'Secret', (SELECT id FROM producers WHERE slug = 'proprete'), 'incidents', "
        "'ODbL', '{banque}')"))
    response = client.get("/ogc/collections/secret-layer/items")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Portail OVA"'
    bad = client.get("/ogc/collections/secret-layer/items", headers={"Authorization": "Bearer ova_nope"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_html_401_has_no_challenge(client):
    response = _login(client, "nobody@example.org", "wrong password")
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers
