"""Norms pages in headless Chromium: drill-down map and chart; drawing a priority zone."""
import datetime as dt

import pytest
from sqlalchemy import text

from norms.engine import compute_all
from portal.auth.services import hash_password
from tests.builders import PASSWORD
from tests.norms.conftest import Fixtures

pytestmark = pytest.mark.browser
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def committed(engine):
    """Committed quartier, norm, incidents, results and an urbanist for the live server; removed afterwards."""
    with engine.begin() as conn:
        fx = Fixtures(conn)
        q = fx.quartier("BR-Q1", x0=651000, y0=6862000)
        n = fx.norm("br-g48", hours=48, min_sample=1)
        t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
        for hours in (1, 100, 200):
            fx.incident(t0, t0 + dt.timedelta(hours=hours), quartier_id=q, xy=(651100 + hours, 6862100),
                        simulated=True)
        compute_all(conn, since=dt.date(2024, 3, 1), as_of=dt.datetime(2024, 4, 1, tzinfo=UTC))
        conn.execute(text("INSERT INTO users (email, name, password_hash, role) VALUES "
                          "('urba-browser@example.org', 'Urba', :h, 'urbaniste')"), {"h": hash_password(PASSWORD)})
    yield {"q": q, "norm": n}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM compliance_results"))
        conn.execute(text("DELETE FROM incidents WHERE source = 'test'"))
        conn.execute(text("DELETE FROM priority_zones"))
        conn.execute(text("DELETE FROM norms WHERE code = 'br-g48'"))
        conn.execute(text("DELETE FROM quartiers WHERE code = 'BR-Q1'"))
        conn.execute(text("DELETE FROM users WHERE email = 'urba-browser@example.org'"))


def test_quartier_page_shows_failing_incidents_and_the_chart(page, live_server, committed):
    page.goto(f"{live_server}/normes/quartier/{committed['q']}?month=2024-03")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length >= 3")  # outline + 2 late
    assert page.locator("#rate-chart").bounding_box()["height"] > 50
    assert "délais simulés" in page.locator("#quartier-results").inner_text()
    page.watch.assert_clean()


def test_urbanist_draws_a_priority_zone(page, live_server, committed, engine):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "urba-browser@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/zones/nouvelle")
    page.wait_for_selector(".leaflet-draw-draw-polygon")
    page.fill("input[name=code]", "ZCP-BROWSER")
    page.fill("input[name=name]", "Zone dessinée")
    page.fill("input[name=valid_from]", "2024-01-01")
    page.click(".leaflet-draw-draw-polygon")
    page.wait_for_selector(".leaflet-draw-tooltip")   # drawing mode is on before the first vertex
    box = page.locator("#zone-map").bounding_box()
    page.mouse.move(box["x"] + 150, box["y"] + 100, steps=5)
    points = [(box["x"] + 200, box["y"] + 150), (box["x"] + 400, box["y"] + 150), (box["x"] + 300, box["y"] + 350)]
    for x, y in points:
        page.mouse.move(x, y, steps=5)      # Leaflet.draw tracks the pointer between clicks
        page.mouse.down()
        page.mouse.up()
        page.wait_for_timeout(300)          # let it tell a new vertex from a double click
    page.get_by_text("Finish").click()
    page.wait_for_function("window.OVAZones.drawn.getLayers().length === 1")
    page.click("#zone-save")
    page.wait_for_selector("#zone-approve")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, ST_GeometryType(geom), ST_SRID(geom) FROM priority_zones "
                                "WHERE code = 'ZCP-BROWSER'")).one()
    assert row == ("draft", "ST_MultiPolygon", 2154)
    page.click("#zone-approve")
    page.wait_for_selector(".alert-success")
    page.watch.assert_clean()
