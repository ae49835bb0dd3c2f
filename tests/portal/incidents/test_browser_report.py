"""The report form in headless Chromium: pick a point on the map, see duplicates, submit."""
import pytest
from sqlalchemy import text

from tests.builders import add_central_quartier

pytestmark = pytest.mark.browser

MARKER = "browser-test-report"


@pytest.fixture(scope="module")
def committed_territory(engine):
    """A committed quartier for the live server; removed afterwards with the reports made on it."""
    with engine.begin() as conn:
        add_central_quartier(conn, "T-BROWSER", "Cité (navigateur)")
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE description LIKE :m"), {"m": MARKER + "%"})
        conn.execute(text("DELETE FROM quartiers WHERE code = 'T-BROWSER'"))


def _pick_and_fill(page, live_server, description):
    page.goto(live_server + "/incidents/new")
    map_box = page.locator(".folium-map").bounding_box()
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2)
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.select_option("#category", "graffiti")
    page.fill("#description", description)


def test_pick_a_point_and_submit(page, live_server, committed_territory, engine):
    _pick_and_fill(page, live_server, MARKER + " <b>tag</b>")
    assert page.locator("#point-status").inner_text().startswith("48.")
    page.click("button[type=submit]:has-text('Envoyer')")
    page.wait_for_selector("#follow-up-link")
    assert "Merci" in page.locator("h1").inner_text()
    page.click("#public-link")
    page.wait_for_selector("#history")
    assert page.locator("#description").inner_text() == "description en cours de modération"
    with engine.begin() as conn:  # a moderator publishes it as written
        conn.execute(text("UPDATE incidents SET public_description = description, description_state = 'published' "
                          "WHERE description LIKE :m"), {"m": MARKER + "%"})
    page.reload()
    assert page.locator("#description").inner_text() == MARKER + " <b>tag</b>"  # shown as text
    assert page.locator("#producer").inner_text().startswith("Direction de la propreté")
    page.watch.assert_clean()


def test_duplicates_are_suggested_before_submitting(page, live_server, committed_territory):
    _pick_and_fill(page, live_server, MARKER + " first")
    page.click("button[type=submit]:has-text('Envoyer')")
    page.wait_for_selector("#follow-up-link")
    _pick_and_fill(page, live_server, MARKER + " second")
    page.wait_for_selector("#duplicates li")
    assert "Nouveau" in page.locator("#duplicates li").first.inner_text()
    page.watch.assert_clean()


def test_typed_address_sets_the_point(page, live_server, committed_territory, engine):
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO incidents (source, external_id, category, description, address, reported_at, quartier_id, geom) "
            "SELECT 'test', 'browser-place', 'voirie', :d, '7 rue Chanoinesse', now(), q.id, "
            "ST_Transform(ST_SetSRID(ST_MakePoint(2.3505, 48.8536), 4326), 2154) FROM quartiers q "
            "WHERE q.code = 'T-BROWSER'"), {"d": MARKER + " place"})
    page.goto(live_server + "/incidents/new")
    page.fill("#address", "rue chanoi")
    page.click("#find-address")
    page.click("#places button:has-text('7 rue Chanoinesse')")
    assert page.input_value("#lat") == "48.853600"
    assert page.input_value("#lon") == "2.350500"
    page.watch.assert_clean()
