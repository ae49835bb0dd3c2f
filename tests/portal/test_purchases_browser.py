"""/achats/a-venir, a purchase's editor and /achats/diagnostic in headless Chromium (local assets only)."""
import pytest
from sqlalchemy import text

from tests.builders import PASSWORD
from portal.auth.services import hash_password

pytestmark = pytest.mark.browser
NANTES = "21440109300015"


@pytest.fixture(scope="module")
def committed_purchases(engine):
    """Two Paris quartiers' worth of planned purchases (one per quartier outline, one drawn point-like
    commune), the city's contracts of the procurement fixture and a buyer's agent."""
    from indicators.procurement import load_commune_epci
    from tests.indicators.conftest import insert_procurement

    with engine.begin() as conn:
        load_commune_epci(conn)
        insert_procurement(conn)
        conn.execute(text("UPDATE producers SET buyer_siret = :b WHERE slug = 'voirie'"), {"b": NANTES})
        conn.execute(text(
            "INSERT INTO quartiers (code, name, commune_insee, commune_name, source, geom) VALUES ('BR-Q1', 'Quartier B', "
            "'44109', 'Nantes', 'test-browser', ST_Multi(ST_MakeEnvelope(355000, 6689000, 356000, 6690000, 2154)))"))
        conn.execute(text(
            "INSERT INTO planned_purchases (source, external_id, buyer_siret, buyer_name, object, cpv_code, amount, "
            "expected_quarter, place_commune, place_quartier, status, geom, place_basis) VALUES "
            "('test-browser', 'B1', :b, 'Ville de Nantes', 'Réfection de la cour', '45233140', 120000, '2025-T3', "
            "'44109', 'BR-Q1', 'planned', (SELECT geom FROM quartiers WHERE code = 'BR-Q1'), 'quartier')"), {"b": NANTES})
        conn.execute(text(
            "INSERT INTO users (email, name, password_hash, role, producer_id) VALUES ('browser-buyer@example.org', "
            "'Acheteuse', :h, 'agent', (SELECT id FROM producers WHERE slug = 'voirie'))"), {"h": hash_password(PASSWORD)})
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM planned_purchases WHERE source IN ('test-browser', 'portail')"))
        conn.execute(text("DELETE FROM audit_log WHERE table_name = 'planned_purchases'"))
        conn.execute(text("DELETE FROM users WHERE email = 'browser-buyer@example.org'"))
        conn.execute(text("DELETE FROM quartiers WHERE code = 'BR-Q1'"))
        conn.execute(text("UPDATE producers SET buyer_siret = NULL WHERE slug = 'voirie'"))
        conn.execute(text("DELETE FROM public_contracts WHERE source = 'test'"))
        conn.execute(text("DELETE FROM establishments WHERE source = 'test-decp'"))


def test_coming_purchases_map_and_popup(page, live_server, committed_purchases):
    page.goto(live_server + "/achats/a-venir")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length >= 1")
    page.locator(".leaflet-overlay-pane path").first.dispatch_event("click")
    page.wait_for_selector(".leaflet-popup-content")
    assert "Ville de Nantes" in page.locator(".leaflet-popup-content").inner_text()
    assert "Réfection de la cour" in page.locator("#purchases-table").inner_text()
    page.watch.assert_clean()


def test_the_buyers_agent_draws_the_place_of_a_new_purchase(page, live_server, committed_purchases, engine):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "browser-buyer@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.goto(live_server + "/achats/a-venir/nouveau")
    assert page.input_value("#buyer_siret") == NANTES
    page.fill("#object", "Éclairage du parc")
    page.fill("#cpv_code", "45316100")
    page.fill("#expected_quarter", "2026-T1")
    page.wait_for_selector(".leaflet-draw-draw-rectangle")
    page.evaluate("""() => {
        const b = L.latLngBounds([47.2140, -1.5580], [47.2180, -1.5520]);
        OVAZones.drawn.addLayer(L.rectangle(b));
    }""")
    page.click("#purchase-save")
    page.wait_for_selector("#purchase-table")
    assert "Éclairage du parc" in page.locator("h1").inner_text()
    with engine.connect() as conn:
        basis, kind = conn.execute(text("SELECT place_basis, GeometryType(geom) FROM planned_purchases "
                                        "WHERE source = 'portail'")).one()
    assert (basis, kind) == ("drawn", "MULTIPOLYGON")
    page.watch.assert_clean()


def test_diagnostic_draws_its_chart(page, live_server, committed_purchases):
    page.goto(live_server + f"/achats/diagnostic?acheteur={NANTES}&commune=44109")
    page.wait_for_function("window.Chart && Chart.getChart('diagnostic-chart') !== undefined")
    assert "45 – Travaux de construction" in page.locator("#diagnostic-table").inner_text()
    page.watch.assert_clean()
