"""Candidate zones overlay in headless Chromium: it renders, names stay text, one click makes a draft."""
import pytest
from sqlalchemy import text

from portal.auth.services import hash_password
from tests.builders import PASSWORD
from tests.norms.conftest import Fixtures, Shops

pytestmark = pytest.mark.browser
EMAIL = "urba-suggestions@example.org"
QUARTIER_NAME = "Sud <script>window.pwned = 1</script>"


@pytest.fixture(scope="module")
def committed(engine):
    """Committed quartier with two clusters and noise, and an urbanist; removed afterwards."""
    with engine.begin() as conn:
        q = Fixtures(conn).quartier("BR-SUG", x0=651000, y0=6862000)
        conn.execute(text("UPDATE quartiers SET name = :n WHERE id = :q"), {"n": QUARTIER_NAME, "q": q})
        street, square = Shops(conn, q).two_clusters_and_noise(x0=651000, y0=6862000)
        conn.execute(text("INSERT INTO users (email, name, password_hash, role) VALUES (:e, 'Urba', :h, 'urbaniste')"),
                     {"e": EMAIL, "h": hash_password(PASSWORD)})
    yield {"q": q, "street": street, "square": square}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE table_name = 'priority_zones'"))
        conn.execute(text("DELETE FROM priority_zones WHERE source = 'suggestion'"))
        conn.execute(text("DELETE FROM establishments WHERE source = 'test'"))
        conn.execute(text("DELETE FROM quartiers WHERE code = 'BR-SUG'"))
        conn.execute(text("DELETE FROM users WHERE email = :e"), {"e": EMAIL})


def test_overlay_renders_escaped_popups_and_makes_a_draft(page, live_server, committed, engine):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/zones/?distance=30&min_points=5")
    page.wait_for_function("document.getElementById('suggestion-map').dataset.loaded === '2'")
    assert page.locator("#suggestion-map path.ova-suggestion").count() == 2
    assert "2 zone(s) candidate(s)" in page.locator("#suggestion-status").inner_text()
    for seed, name, count in ((committed["street"][0], "Épicerie <b>fine</b>", "10 établissements"),
                              (committed["square"][0], 'Kebab "<img src=x onerror=alert(1)>"', "7 établissements")):
        page.evaluate("window.OVASuggestions.map.closePopup()")
        page.wait_for_function("document.querySelectorAll('.leaflet-popup-content').length === 0")
        page.evaluate("seed => window.OVASuggestions.overlay.eachLayer(l => { if (l.feature.id === seed) l.openPopup(); })",
                      seed)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        # Names are shown as typed, never parsed: no <b> or <img> element appears in the popup.
        assert name in popup.locator(".ova-suggestion-names li").all_inner_texts()
        assert popup.locator("b, img").count() == 0
        assert count in popup.inner_text() and f"Quartier {QUARTIER_NAME}" in popup.inner_text()
        assert popup.locator("script").count() == 0 and page.evaluate("window.pwned === undefined")
    page.click(".ova-suggestion-create")   # the square's popup is open
    page.wait_for_selector(".alert-success")
    assert "/zones/" in page.url
    with engine.connect() as conn:
        row = conn.execute(text("SELECT code, status, ST_SRID(geom) FROM priority_zones "
                                "WHERE source = 'suggestion'")).one()
    assert tuple(row) == (f"SUG-BR-SUG-{committed['square'][0]}", "draft", 2154)
    page.watch.assert_clean()
