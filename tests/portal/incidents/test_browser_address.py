"""The report form in headless Chromium with the address base: a typed address alone places the
report (no click on the map), suggestions come from /api/adresse/, a click gets its nearest address."""
import pytest
from sqlalchemy import text

from tests.builders import add_central_quartier

pytestmark = pytest.mark.browser

MARKER = "browser-test-address"


@pytest.fixture(scope="module")
def committed_territory(engine, ban_load):
    """A committed central-Paris quartier; removed afterwards with the reports made on it."""
    with engine.begin() as conn:
        add_central_quartier(conn, "T-BROWSER-ADR", "Centre (navigateur, adresses)")
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE description LIKE :m"), {"m": MARKER + "%"})
        conn.execute(text("DELETE FROM quartiers WHERE code = 'T-BROWSER-ADR'"))


def _stored(engine, marker):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT address, round(ST_X(ST_Transform(geom, 4326))::numeric, 5) AS lon, "
            "round(ST_Y(ST_Transform(geom, 4326))::numeric, 5) AS lat FROM incidents WHERE description = :d"),
            {"d": marker}).mappings().one()


def test_a_typed_address_alone_places_the_report(page, live_server, committed_territory, engine):
    """Keyboard only: type the address, submit; no map click, no suggestion chosen."""
    page.goto(live_server + "/incidents/new")
    page.select_option("#category", "graffiti")
    page.fill("#address", "8 bd de sebastopol")
    page.fill("#description", MARKER + " typed")
    assert page.input_value("#lat") == ""
    page.click("button[type=submit]:has-text('Envoyer')")
    page.wait_for_selector("#follow-up-link")
    stored = _stored(engine, MARKER + " typed")
    assert (float(stored["lon"]), float(stored["lat"])) == (2.34877, 48.85908)
    page.watch.assert_clean()


def test_a_suggestion_chosen_with_the_keyboard_places_the_point(page, live_server, committed_territory, engine):
    page.goto(live_server + "/incidents/new")
    page.select_option("#category", "graffiti")
    page.focus("#address")
    page.keyboard.type("8 bd de sébas")
    first = page.locator("#places button").first
    first.wait_for()
    assert first.inner_text() == "8 Boulevard de Sébastopol 75004 Paris"
    assert "proposition" in page.locator("#places-status").inner_text()
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('lat').value !== ''")
    assert (page.input_value("#lat"), page.input_value("#lon")) == ("48.859081", "2.348766")
    assert page.input_value("#address") == "8 Boulevard de Sébastopol 75004 Paris"
    page.fill("#description", MARKER + " suggested")
    page.click("button[type=submit]:has-text('Envoyer')")
    page.wait_for_selector("#follow-up-link")
    assert _stored(engine, MARKER + " suggested")["address"] == "8 Boulevard de Sébastopol 75004 Paris"
    page.watch.assert_clean()


def test_a_click_on_the_map_shows_and_stores_the_nearest_address(page, live_server, committed_territory, engine):
    page.goto(live_server + "/incidents/new")
    map_box = page.locator(".folium-map").bounding_box()
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2)
    page.wait_for_function("document.getElementById('address').value !== ''")
    nearest = page.locator("#nearest-address").inner_text()
    label = page.input_value("#address")
    assert nearest.startswith("adresse la plus proche : ") and label in nearest and "Paris" in label
    page.select_option("#category", "graffiti")
    page.fill("#description", MARKER + " clicked")
    page.click("button[type=submit]:has-text('Envoyer')")
    page.wait_for_selector("#follow-up-link")
    assert _stored(engine, MARKER + " clicked")["address"] == label
    page.watch.assert_clean()
