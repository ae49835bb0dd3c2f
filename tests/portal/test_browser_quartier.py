"""A quartier page in headless Chromium: map layers, clustering, toggling, safe popups, no leaks."""
import pytest
from sqlalchemy import text

from tests.builders import add_establishment, add_incident, add_norm, add_quartier
from tests.portal.a11y import assert_no_axe_violations

pytestmark = pytest.mark.browser

XSS_DESCRIPTION = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
XSS_ADDRESS = '<img src=y onerror="window.__pwned = 3"> 3 rue <b>Hack</b>'


@pytest.fixture(scope="module")
def quartier_data(engine):
    """A committed quartier with incidents of several categories, establishments, a zone, norms."""
    with engine.begin() as conn:
        qid = add_quartier(conn, "QB", "Sentier-Test", x0=651000, y0=6862000)
        conn.execute(text("""
            INSERT INTO priority_zones (code, name, quartier_id, valid_from, status, geom)
            VALUES ('ZP-QB', 'Rue commerçante (test)', :q, '2020-01-01', 'approved',
                    ST_Multi(ST_MakeEnvelope(651150, 6862550, 651600, 6862750, 2154)))
        """), {"q": qid})
        spots = [("graffiti", "new", 651200, 6862600), ("proprete", "resolved", 651800, 6862200),
                 ("eclairage", "in_progress", 651300, 6862250), ("voirie", "acknowledged", 651750, 6862800),
                 ("depot-sauvage", "new", 651500, 6862450)]
        for i, (cat, status, x, y) in enumerate(spots):
            add_incident(conn, qid, category=cat, status=status, x=x, y=y, hours_ago=5 + i * 30,
                         resolved_after_hours=20 if status == "resolved" else None,
                         expected_in_hours=48, simulated=i % 2 == 0)
        add_incident(conn, qid, category="mobilier-urbain", description=XSS_DESCRIPTION, address=XSS_ADDRESS,
                     x=651850, y=6862880, hours_ago=1)
        add_establishment(conn, qid, "Boulangerie <i>test</i>", x=651250, y=6862700)
        add_establishment(conn, qid, "Café du Sentier", x=651700, y=6862300)
        add_norm(conn, "qb-graffiti-zp", "EP2", "Graffitis enlevés sous 48 h en zone prioritaire",
                 scope="priority_zones", delay_hours=48)
        add_norm(conn, "qb-proprete", "EP1", "Dépôts et salissures traités sous 72 h", categories=("proprete",),
                 delay_hours=72)
    yield qid
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE quartier_id = :q"), {"q": qid})
        conn.execute(text("DELETE FROM establishments WHERE quartier_id = :q"), {"q": qid})
        conn.execute(text("DELETE FROM norms WHERE code LIKE 'qb-%'"))
        conn.execute(text("DELETE FROM priority_zones WHERE quartier_id = :q"), {"q": qid})
        conn.execute(text("DELETE FROM quartiers WHERE id = :q"), {"q": qid})


def _open(page, live_server, lang=""):
    page.goto(live_server + "/quartiers/QB" + lang)
    page.wait_for_selector("path.ova-boundary")
    page.wait_for_function("document.querySelectorAll('path.ova-incident').length >= 6")
    page.wait_for_selector("path.ova-zone")


def test_quartier_page_loads_with_map_and_contacts(page, live_server, quartier_data):
    _open(page, live_server)
    assert page.locator("h1").inner_text() == "Sentier-Test"
    contact = page.locator("#qui-contacter")
    assert contact.is_visible()
    assert "proprete@ville.example" in contact.inner_text()
    assert "Graffitis enlevés sous 48 h en zone prioritaire" in contact.inner_text()
    assert page.locator("#incidents-status").inner_text() == "6 signalements affichés sur la carte."
    assert page.locator(".ova-recent tbody tr").count() == 6
    assert page.locator(".ova-recent .badge-simulated").count() == 3
    assert_no_axe_violations(page)
    page.watch.assert_clean()


def test_toggling_the_establishments_layer_shows_them(page, live_server, quartier_data):
    _open(page, live_server)
    assert page.locator("path.ova-establishment").count() == 0
    page.locator(".leaflet-control-layers label", has_text="Établissements").locator("input").check()
    page.wait_for_function("document.querySelectorAll('path.ova-establishment').length === 2")
    assert "établissements affichés" in page.locator("#establishments-status").inner_text()
    page.locator(".leaflet-control-layers label", has_text="Établissements").locator("input").uncheck()
    page.wait_for_function("document.querySelectorAll('path.ova-establishment').length === 0")
    page.watch.assert_clean()


def test_script_in_incident_data_is_shown_as_text(page, live_server, quartier_data):
    _open(page, live_server)
    popup_text = None
    for marker in page.locator("path.ova-incident").all():
        marker.dispatch_event("click")  # the layer control may cover a marker: no pointer needed
        page.wait_for_selector(".leaflet-popup-content")
        texts = page.locator(".leaflet-popup-content").all_inner_texts()
        hits = [t for t in texts if "<script>" in t]
        if hits:
            popup_text = hits[0]
            break
        page.locator(".leaflet-popup-close-button").last.dispatch_event("click")
        page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
    assert popup_text is not None, "no popup showed the incident with <script>"
    assert XSS_DESCRIPTION in popup_text and XSS_ADDRESS in popup_text
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script, .leaflet-popup-content b").count() == 0
    assert page.locator(".ova-recent img, .ova-recent script, .ova-recent b").count() == 0
    # The recent-incidents table shows it as text too.
    assert XSS_DESCRIPTION in page.locator(".ova-recent").inner_text()
    assert page.evaluate("window.__pwned === undefined")
    page.watch.assert_clean()


def test_quartier_page_in_english(page, live_server, quartier_data):
    _open(page, live_server, "?lang=en")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#contact-title").inner_text() == "Who to contact?"
    assert "Graffiti and fly-posting removal" in page.locator("#qui-contacter").inner_text()
    assert page.locator("#incidents-status").inner_text() == "6 reports shown on the map."
    page.watch.assert_clean()
