"""The workflow on the incident page in headless Chromium: an agent acknowledges, then rejects with a reason."""
import pytest
from sqlalchemy import text

from portal.auth.services import hash_password
from tests.builders import PASSWORD, add_central_quartier

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def workflow_incident(engine):
    """A committed agent of propreté and one new graffiti report under a 72 h norm; removed afterwards."""
    with engine.begin() as conn:
        q = add_central_quartier(conn, "T-FLOW", "Flux (test)")
        conn.execute(text(
            "INSERT INTO users (email, name, role, password_hash, producer_id) SELECT 'flow-agent@example.org', "
            "'Agent flux', 'agent', :h, id FROM producers WHERE slug = 'proprete'"), {"h": hash_password(PASSWORD)})
        incident_id = conn.scalar(text(
            "INSERT INTO incidents (source, external_id, category, description, reported_at, expected_at, "
            "quartier_id, producer_id, geom) SELECT 'browser-flow', 'f1', 'graffiti', 'Tag', now(), "
            "now() + interval '72 hours', :q, id, ST_Transform(ST_SetSRID(ST_MakePoint(2.35, 48.855), 4326), 2154) "
            "FROM producers WHERE slug = 'proprete' RETURNING id"), {"q": q})
    yield incident_id
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = 'browser-flow'"))
        conn.execute(text("DELETE FROM users WHERE email = 'flow-agent@example.org'"))
        conn.execute(text("DELETE FROM quartiers WHERE code = 'T-FLOW'"))


def test_agent_acknowledges_then_rejects_with_a_reason(page, live_server, workflow_incident):
    page.goto(f"{live_server}/login?next=/incidents/{workflow_incident}")
    page.fill("#email", "flow-agent@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Se connecter')")
    page.wait_for_selector("#status-form")
    page.fill("#note", "Vu sur place")
    page.click("#status-form button[value=acknowledged]")
    page.wait_for_selector(".alert-success")
    assert page.locator("#status").inner_text() == "Pris en compte"
    page.click("#status-form button[value=rejected]")  # no reason: refused, status unchanged
    page.wait_for_selector("h1:has-text('Erreur 400')")
    # The refused POST is the only console error so far; forget it and watch the rest.
    assert page.watch.errors == ["Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]
    page.watch.errors.clear()
    page.goto(f"{live_server}/incidents/{workflow_incident}")
    page.fill("#note", "Mur privé : propriétaire prévenu")
    page.click("#status-form button[value=rejected]")
    page.wait_for_selector(".alert-success")
    assert page.locator("#status").inner_text() == "Rejeté"
    history = page.locator("#history tbody").inner_text()
    assert "Vu sur place" in history and "Mur privé : propriétaire prévenu" in history
    assert "Agent flux" not in history  # the service is shown, not the person
    page.goto(f"{live_server}/incidents/{workflow_incident}?lang=en")
    assert page.locator("#status").inner_text() == "Rejected"
    page.watch.assert_clean()
