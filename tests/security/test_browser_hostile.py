"""Hostile text typed by a citizen, then shown to others in headless Chromium: never executed.

The report form is filled with script payloads in the description and the address; the public
page, the quartier page (list and map) and the address suggestions of a later reporter then show
them. A payload that ran would set ``window.__ova_xss`` or open a dialog.
"""
import pytest
from sqlalchemy import text

from tests.builders import add_central_quartier

pytestmark = pytest.mark.browser

MARKER = "hostile-browser"
DESCRIPTION = MARKER + ' <img src=x onerror="window.__ova_xss=1"><script>window.__ova_xss=2</script>'
ADDRESS = '12 rue <svg onload="window.__ova_xss=3"> du Test'


@pytest.fixture(scope="module")
def committed_territory(engine):
    """A committed quartier for the live server; removed afterwards with the reports made on it."""
    with engine.begin() as conn:
        add_central_quartier(conn, "T-HOSTILE", "Quartier <i>hostile</i>")
    yield "T-HOSTILE"
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE description LIKE :m"), {"m": MARKER + "%"})
        conn.execute(text("DELETE FROM quartiers WHERE code = 'T-HOSTILE'"))


def _assert_nothing_ran(page):
    assert page.evaluate("window.__ova_xss") is None
    assert page.dialogs == []


def test_script_payloads_are_shown_as_text_everywhere(page, live_server, committed_territory, engine):
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(live_server + "/incidents/new")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.select_option("#category", "graffiti")
    page.fill("#description", DESCRIPTION)
    page.fill("#address", ADDRESS)
    page.click("button[type=submit]:has-text('Envoyer')")
    page.wait_for_selector("#follow-up-link")
    _assert_nothing_ran(page)

    page.click("#public-link")
    page.wait_for_selector("#history")
    assert page.locator("#description").inner_text() == "description en cours de modération"
    with engine.begin() as conn:  # a moderator publishes it as written (nothing personal in it)
        conn.execute(text("UPDATE incidents SET public_description = description, description_state = 'published' "
                          "WHERE description LIKE :m"), {"m": MARKER + "%"})
    page.reload()
    page.wait_for_selector("#history")
    assert page.locator("#description").inner_text() == DESCRIPTION
    assert page.locator("main img[src=x], main svg[onload]").count() == 0
    _assert_nothing_ran(page)

    page.goto(f"{live_server}/quartiers/{committed_territory}")
    page.wait_for_selector(".folium-map")
    page.wait_for_timeout(500)  # the map's GeoJSON feeds arrive
    assert page.locator("img[src=x], svg[onload]").count() == 0
    _assert_nothing_ran(page)

    # A later reporter types the start of the address: the known address is suggested, as text.
    page.goto(live_server + "/incidents/new")
    page.fill("#address", "12 rue <svg")
    page.click("#find-address")
    page.wait_for_selector("#places li")
    assert ADDRESS in page.locator("#places").inner_text()
    assert page.locator("#places svg").count() == 0
    _assert_nothing_ran(page)
    page.watch.assert_clean()
