"""Pages not covered by the other browser tests, under the real CSP: no console error, nothing
leaves the machine. An admin logs in and reads the audit log."""
import pytest
from sqlalchemy import text

from portal.auth.services import hash_password
from tests.builders import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def admin_account(engine):
    """A committed admin and one audit entry with hostile text; removed afterwards."""
    with engine.begin() as conn:
        user_id = conn.scalar(text(
            "INSERT INTO users (email, name, role, password_hash) VALUES ('sec-admin@example.org', "
            "'Admin sécurité', 'admin', :h) RETURNING id"), {"h": hash_password(PASSWORD)})
        conn.execute(text(
            "INSERT INTO audit_log (actor_id, table_name, row_id, action, before, after) VALUES "
            "(:u, 'layers', 'sec-browser', 'update', '{\"title\": \"Avant\"}', "
            "'{\"title\": \"<img src=x onerror=alert(1)>\"}')"), {"u": user_id})
    yield "sec-admin@example.org"
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE row_id = 'sec-browser'"))
        conn.execute(text("DELETE FROM login_failures"))
        conn.execute(text("DELETE FROM users WHERE email = 'sec-admin@example.org'"))


def test_admin_reads_the_audit_log_and_other_pages_under_the_csp(page, live_server, admin_account):
    page.goto(f"{live_server}/login?next=/admin/audit?table=layers")
    page.fill("#email", admin_account)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Se connecter')")
    page.wait_for_selector("#audit-log")
    row = page.locator("#audit-log tbody tr", has_text="sec-browser")
    assert "<img src=x onerror=alert(1)>" in row.inner_text()  # shown as text, not markup
    assert page.locator("#audit-log img").count() == 0
    for path in ("/catalogue/publish", "/ogc?f=html", "/ogc/collections?f=html"):
        response = page.goto(live_server + path)
        assert response.status == 200, path
        assert "nonce-" in response.headers["content-security-policy"]
    page.watch.assert_clean()
