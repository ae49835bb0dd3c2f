"""Shared fixtures: a real PostGIS test database, the app, clients per role, a browser.

Each test runs inside an outer transaction on one connection that is rolled back afterwards;
the app's sessions are bound to that connection, so requests see the test's rows.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from ova.db import make_engine
from ova.models import Producer, User
from ova.settings import database_url, test_database_url
from portal import create_app, database
from tests.builders import BAN_FILE, ROLES, add_central_quartier, add_graffiti_norm, add_user, reset_schema
from tests.replica_pair import replica_pair  # noqa: F401  (one primary + standby pair for the whole session)


@pytest.fixture(scope="session")
def db_url() -> str:
    url = test_database_url()
    if make_url(url).database == make_url(database_url()).database:
        pytest.exit(f"refusing to run tests on the demo database {url}", returncode=3)
    return url


@pytest.fixture(scope="session")
def engine(db_url):
    eng = make_engine(db_url, application_name="portail-ova-tests")
    try:
        with eng.connect() as conn:
            conn.execute(text("SELECT postgis_version()"))
    except Exception as err:  # fail loudly: tests never skip for lack of a database
        pytest.exit(f"no PostGIS database at {db_url}: {err}. Run `make test` (it sets one up).", returncode=3)
    reset_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine):
    """A connection in a transaction rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session(connection):
    from ova.db import make_sessionmaker

    with make_sessionmaker(connection)() as s:
        yield s


@pytest.fixture
def app(db_url, connection, tmp_path):
    application = create_app({
        "TESTING": True,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "localhost",
        "DOWNLOAD_CACHE_DIR": str(tmp_path / "downloads"),
    })
    database.bind(application, connection)
    yield application
    database.dispose(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def producer(session):
    """The seeded cleaning service (propreté)."""
    from sqlalchemy import select

    return session.scalar(select(Producer).where(Producer.slug == "proprete"))


@pytest.fixture
def make_user(session, producer):
    """Create a user of ``role`` (agents belong to ``producer``) and return it."""
    def factory(role: str, email: str | None = None) -> User:
        return add_user(session, role, email=email, producer_id=producer.id if role == "agent" else None)

    return factory


@pytest.fixture
def territory(connection):
    """One quartier covering central Paris (WGS 84 box 2.33–2.37 E, 48.84–48.87 N)."""
    return add_central_quartier(connection, "T-CITE", "Cité (test)")


@pytest.fixture
def graffiti_norm(connection):
    """A territory-wide norm: graffiti removed within 72 hours."""
    return add_graffiti_norm(connection)


@pytest.fixture
def login_as(app, make_user):
    """Return a test client logged in with a new user of the given role."""
    def factory(role: str):
        user = make_user(role)
        c = app.test_client()
        with c.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
        return c

    return factory


@pytest.fixture(params=ROLES)
def role_client(request, login_as):
    """One logged-in client per role (parametrised)."""
    return request.param, login_as(request.param)


# --- browser tests -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def live_server(engine, db_url):
    """The portal served on 127.0.0.1 (random port) against committed test data."""
    application = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "browser"})
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    from portal.catalogue.serving import close_idle

    close_idle(application)
    database.dispose(application)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


def _csp_safe_wait_for_function(pg):
    """``page.wait_for_function`` that works under the portal's CSP (no 'unsafe-eval').

    Playwright's own polls its predicate through ``new Function`` inside the page, which a CSP
    without 'unsafe-eval' refuses; ``page.evaluate`` goes through the DevTools protocol instead.
    """
    import time

    def wait_for_function(expression, *, arg=None, timeout=None, polling=None):
        deadline = time.monotonic() + (timeout or 30_000) / 1000
        while True:
            value = pg.evaluate(expression, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"wait_for_function timed out: {expression}")
            pg.wait_for_timeout(50)

    return wait_for_function


class PageWatch:
    """Console errors and requests leaving 127.0.0.1, collected while a page is used."""

    def __init__(self):
        self.errors: list[str] = []
        self.external: list[str] = []

    def assert_clean(self):
        assert not self.external, f"requests left the machine: {self.external}"
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture
def page(browser, request):
    """A fresh page that records console errors and blocks (and records) non-local requests."""
    from urllib.parse import urlsplit

    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    watch = PageWatch()

    def route(r):
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            watch.external.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: watch.errors.append(str(e)))
    pg.watch = watch
    pg.wait_for_function = _csp_safe_wait_for_function(pg)
    yield pg
    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    pg.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
    context.close()


# --- addresses (the geocoder) -------------------------------------------------------------------

@pytest.fixture(scope="session")
def ban_load(engine):
    """The summary of loading the shipped BAN file (Paris, 158 048 addresses) with the loader of
    ``ova load addresses``, once per session and committed: every test of the session, browser
    tests included, searches the same addresses."""
    from etl.addresses import load_addresses

    return load_addresses(engine, BAN_FILE, reject_file=None)


@pytest.fixture
def ban(ban_load, connection):
    """A rolled-back connection over the loaded BAN addresses."""
    return connection
