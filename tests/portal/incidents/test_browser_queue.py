"""The agent work queue in headless Chromium: log in, see the list and the map, bulk acknowledge."""
import pytest
from sqlalchemy import text

from portal.auth.services import hash_password
from tests.builders import PASSWORD, add_central_quartier

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def agent_with_queue(engine):
    """A committed agent of propreté and three open graffiti reports (one overdue); removed afterwards."""
    with engine.begin() as conn:
        q = add_central_quartier(conn, "T-QUEUE", "File (test)")
        conn.execute(text(
            "INSERT INTO users (email, name, role, password_hash, producer_id) SELECT 'queue-agent@example.org', "
            "'Agent file', 'agent', :h, id FROM producers WHERE slug = 'proprete'"), {"h": hash_password(PASSWORD)})
        for n, (lon, expected) in enumerate([(2.34, "now() - interval '1 day'"), (2.35, "now() + interval '2 days'"),
                                             (2.36, "NULL")]):
            conn.execute(text(
                "INSERT INTO incidents (source, external_id, category, description, reported_at, expected_at, "
                "quartier_id, producer_id, geom) SELECT 'browser-queue', :e, 'graffiti', :d, now() - interval '2 days', "
                f"{expected}, :q, id, ST_Transform(ST_SetSRID(ST_MakePoint(:lon, 48.855), 4326), 2154) "
                "FROM producers WHERE slug = 'proprete'"), {"e": f"q{n}", "d": f"<i>queue {n}</i>", "q": q, "lon": lon})
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = 'browser-queue'"))
        conn.execute(text("DELETE FROM users WHERE email = 'queue-agent@example.org'"))
        conn.execute(text("DELETE FROM quartiers WHERE code = 'T-QUEUE'"))


def test_agent_queue_list_map_and_bulk_acknowledge(page, live_server, agent_with_queue):
    page.goto(live_server + "/login?next=/incidents/queue")
    page.fill("#email", "queue-agent@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Se connecter')")
    page.wait_for_selector("#queue")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 3
    assert "table-danger" in rows.first.get_attribute("class")  # overdue first, flagged
    assert rows.nth(0).locator("td").last.inner_text() == "<i>queue 0</i>"  # escaped text
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length >= 3")
    page.locator("#queue tbody input[type=checkbox]").nth(0).check()
    page.locator("#queue tbody input[type=checkbox]").nth(1).check()
    page.click("button:has-text('Prendre en compte les signalements cochés')")
    page.wait_for_selector(".alert-success")
    assert "2 signalement(s) pris en compte" in page.locator(".alert-success").inner_text()
    statuses = page.locator("#queue tbody tr td:nth-child(4)").all_inner_texts()
    assert sorted(statuses) == ["Nouveau", "Pris en compte", "Pris en compte"]
    page.watch.assert_clean()
