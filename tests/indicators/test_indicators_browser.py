"""/indicateurs in headless Chromium: choropleth, legend, selector and chart from local assets only."""
import pytest
from sqlalchemy import text

from indicators import territory as territory_mod

from tests.indicators.conftest_values import AS_OF

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def committed_territory(engine):
    from tests.indicators.conftest import delete_territory, insert_territory

    with engine.begin() as conn:
        insert_territory(conn)
        territory_mod.compute(conn, AS_OF)
    yield
    with engine.begin() as conn:
        delete_territory(conn)


def test_indicators_page_draws_choropleth_legend_and_chart(page, live_server, committed_territory):
    page.goto(live_server + "/indicateurs?indicateur=incidents&unite=T-Q1")
    page.wait_for_selector("#indicator-map[data-loaded='2']")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length >= 2")
    legend = page.locator(".ova-legend")
    assert "Signalements" in legend.inner_text()
    page.select_option("#indicator-select", "establishments_active")
    assert "Établissements actifs" in legend.inner_text()
    assert page.locator("#trend-chart").count() == 1
    page.wait_for_function("window.Chart && Chart.getChart('trend-chart') !== undefined")
    assert page.locator("#compare-table tbody tr").count() >= 2
    page.watch.assert_clean()


@pytest.fixture(scope="module")
def committed_procurement(engine):
    from tests.indicators.conftest import insert_procurement
    from indicators.procurement import load_commune_epci

    with engine.begin() as conn:
        load_commune_epci(conn)
        insert_procurement(conn)
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM public_contracts WHERE source = 'test'"))
        conn.execute(text("DELETE FROM establishments WHERE source = 'test-decp'"))


def test_achats_page_draws_suppliers_and_chart(page, live_server, committed_procurement):
    from tests.indicators.conftest import NANTES

    page.goto(live_server + f"/achats?acheteur={NANTES}&du=2024-01-01&au=2024-12-31")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length >= 4")
    page.wait_for_function("window.Chart && Chart.getChart('shares-chart') !== undefined")
    page.locator(".leaflet-overlay-pane path").first.dispatch_event("click")
    page.wait_for_selector(".leaflet-popup-content")
    assert "centroïde de commune" in page.locator(".leaflet-popup-content").inner_text()
    page.watch.assert_clean()
