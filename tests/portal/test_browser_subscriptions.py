"""Subscribing to a drawn area, and an admin reading the outbox, in headless Chromium."""
import pytest
from sqlalchemy import text

from notifications import outbox
from portal.auth.services import hash_password
from tests.builders import PASSWORD, add_central_quartier
from tests.portal.a11y import axe_violations, describe

pytestmark = pytest.mark.browser


@pytest.fixture
def committed(engine):
    """A committed quartier and admin for the live server; removed afterwards with the outbox."""
    with engine.begin() as conn:
        quartier = add_central_quartier(conn, "BS-CITE", "Cité (navigateur)")
        conn.execute(text("INSERT INTO users (email, name, password_hash, role) VALUES "
                          "('admin-browser@example.org', 'Admin', :h, 'admin')"), {"h": hash_password(PASSWORD)})
    yield quartier
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(text("DELETE FROM subscriptions"))
        conn.execute(text("DELETE FROM rate_counters WHERE key LIKE 'subscribe:%'"))
        conn.execute(text("DELETE FROM quartiers WHERE id = :q"), {"q": quartier})
        conn.execute(text("DELETE FROM users WHERE email = 'admin-browser@example.org'"))


def test_anonymous_visitor_subscribes_to_a_drawn_area(page, live_server, committed, engine):
    page.goto(f"{live_server}/abonnements/")
    page.wait_for_selector(".leaflet-draw-draw-rectangle")
    page.wait_for_selector("#zone-map path")  # the quartiers are drawn (map fitted to them)
    assert (found := axe_violations(page)) == [], describe(found)
    page.fill("input[name=email]", "voisine@example.org")
    page.check("input[name=kind][value=area]")
    page.click(".leaflet-draw-draw-rectangle")
    box = page.locator("#zone-map").bounding_box()
    page.mouse.move(box["x"] + 250, box["y"] + 150, steps=5)
    page.mouse.down()
    page.mouse.move(box["x"] + 350, box["y"] + 250, steps=10)
    page.mouse.up()
    page.wait_for_function("window.OVAZones.drawn.getLayers().length === 1")
    page.click("#subscribe")
    page.wait_for_selector("#subscription-state")
    assert "Vérifiez votre messagerie" in page.locator("#subscription-state").inner_text()
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT s.kind, s.email, s.confirmed_at, ST_Intersects(s.geom, q.geom) AS inside, "
            "(SELECT template FROM outbox WHERE subscription_id = s.id) AS message "
            "FROM subscriptions s, quartiers q WHERE q.id = :q"), {"q": committed}).one()
    assert (row.kind, row.email, row.confirmed_at, row.inside, row.message) == \
        ("area", "voisine@example.org", None, True, "subscription_confirm")
    page.watch.assert_clean()


def test_admin_reads_a_message_of_the_outbox(page, live_server, committed, engine):
    with engine.begin() as conn:
        message_id = outbox.enqueue(conn, "quelqu.un@example.org", "subscription_confirm",
                                    {"selection": "quartier <b>Cité</b>", "confirm_path": "/abonnements/confirmer/x"},
                                    "browser:1")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "admin-browser@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/admin/outbox")
    assert "quelqu.un@example.org" in page.locator("#outbox").inner_text()
    assert (found := axe_violations(page)) == [], describe(found)
    page.goto(f"{live_server}/admin/outbox/{message_id}")
    assert "quartier <b>Cité</b>" in page.locator("#message-text").inner_text()
    frame = page.frame_locator("iframe[title]")
    assert "Confirmer cet abonnement" in frame.locator("body").inner_text()
    assert frame.locator("b").count() == 0  # the value is shown as text, not markup
    assert (found := axe_violations(page)) == [], describe(found)
    page.watch.assert_clean()
