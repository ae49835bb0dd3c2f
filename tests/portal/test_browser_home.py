"""The home map in a real headless Chromium: local assets only, no console error, features drawn."""
import pytest
from sqlalchemy import text

from etl.targets import load
from tests.builders import GEODATA
from tests.portal.a11y import assert_no_axe_violations, assert_skip_link_works

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def paris_quartiers(engine):
    """Committed quartiers (and a few incidents) for the live server; removed afterwards."""
    load(engine, "quartiers", GEODATA / "paris" / "paris_quartiers_administratifs.geojson", preset="paris-quartiers")
    with engine.begin() as conn:
        # Open incidents spread over the quartiers so that the choropleth has several classes.
        conn.execute(text("""
            INSERT INTO incidents (source, external_id, category, reported_at, status, quartier_id, geom)
            SELECT 'browser-home', q.id || '-' || g, 'proprete', now() - interval '1 day', 'new', q.id,
                   ST_PointOnSurface(q.geom)
            FROM quartiers q CROSS JOIN LATERAL generate_series(1, 1 + q.id % 9) g
        """))
        conn.execute(text("""
            INSERT INTO layers (slug, title, licence, producer_id, source_table, geometry_type, restricted_to)
            VALUES ('bt-public', 'Toilettes publiques (test)', 'ODbL', (SELECT id FROM producers WHERE slug = 'sig'),
                    'incidents', 'Point', '{}'),
                   ('bt-agents', 'Tournées des agents (test)', 'ODbL', (SELECT id FROM producers WHERE slug = 'sig'),
                    'incidents', 'Point', '{agent}')
        """))
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = 'browser-home'"))
        conn.execute(text("DELETE FROM layers WHERE slug LIKE 'bt-%'"))
        conn.execute(text("DELETE FROM quartiers"))


def test_home_map_draws_quartiers_from_local_assets(page, live_server, paris_quartiers):
    page.goto(live_server + "/")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path.ova-quartier').length >= 80")
    assert page.locator(".leaflet-control-layers").count() == 1
    # The catalogue's public layer is offered (unticked: loaded by bbox when ticked), not the agents' one.
    control = page.locator(".leaflet-control-layers").inner_text()
    assert "Toilettes publiques (test)" in control and "Tournées des agents (test)" not in control
    assert not page.locator(".leaflet-control-layers label", has_text="Toilettes").locator("input").is_checked()
    # Several choropleth colours are drawn, and the legend lists the classes.
    fills = page.evaluate(
        "[...new Set([...document.querySelectorAll('path.ova-quartier')].map(p => p.getAttribute('fill')))]")
    assert len(fills) >= 3
    assert page.locator(".ova-legend li").count() >= 3
    # Hovering a quartier shows its name (a label, as text).
    page.locator(".leaflet-overlay-pane path").nth(10).hover(force=True)
    page.wait_for_selector(".leaflet-tooltip.ova-label-show")
    assert "Ville de Paris (ODbL)" in page.locator(".leaflet-control-attribution").inner_text()
    assert_no_axe_violations(page)
    page.watch.assert_clean()


def test_home_keyboard_and_search(page, live_server, paris_quartiers):
    page.goto(live_server + "/")
    assert_skip_link_works(page)
    page.fill("#quartier-search", "enfants rouges")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == "Enfants-Rouges"
    page.wait_for_selector("path.ova-boundary")
    page.watch.assert_clean()


def test_home_indicator_choice(page, live_server, paris_quartiers):
    page.goto(live_server + "/")
    page.select_option("#indicator", "incident_density")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url("**indicator=incident_density**")
    assert page.locator("#legend-title").inner_text() == "Signalements par km²"
    page.wait_for_function("document.querySelectorAll('path.ova-quartier').length >= 80")
    page.watch.assert_clean()


def test_home_in_english(page, live_server, paris_quartiers):
    page.goto(live_server + "/")
    assert page.evaluate("document.documentElement.lang") == "fr"
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en**")
    assert page.locator("h1").inner_text() == "The neighbourhoods of the territory"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("label[for=indicator]").inner_text() == "Colour neighbourhoods by"
    page.wait_for_function("document.querySelectorAll('path.ova-quartier').length >= 80")
    # The choice is remembered: the next page without ?lang= stays in English.
    page.goto(live_server + "/quartiers/?q=Enfants-Rouges")
    assert page.locator("h2#contact-title").inner_text() == "Who to contact?"
    assert_no_axe_violations(page)
    page.watch.assert_clean()
