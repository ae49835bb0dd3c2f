"""The home map in a real headless Chromium: local assets only, no console error, features drawn."""
import pytest
from sqlalchemy import text

from etl.quartiers import load_quartiers
from tests.conftest import GEODATA

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def paris_quartiers(engine):
    """Committed quartiers for the live server; removed afterwards."""
    load_quartiers(engine, GEODATA / "paris" / "paris_quartiers_administratifs.geojson", preset="paris-quartiers")
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM quartiers"))


def test_home_map_draws_quartiers_from_local_assets(page, live_server, paris_quartiers):
    page.goto(live_server + "/")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length >= 80")
    assert page.locator(".leaflet-control-layers").count() == 1
    # Hovering a quartier shows its name as a tooltip (text, not HTML).
    page.locator(".leaflet-overlay-pane path").nth(10).hover(force=True)
    page.wait_for_selector(".leaflet-tooltip")
    page.watch.assert_clean()


def test_home_in_english(page, live_server, paris_quartiers):
    page.goto(live_server + "/?lang=en")
    assert page.locator("h1").inner_text() == "The neighbourhoods of the territory"
    page.watch.assert_clean()
