"""Toggling a catalogue overlay on the home map fetches its features by bbox from the OGC API."""
import pytest
from sqlalchemy import text

from tests.builders import add_incident, add_quartier

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def overlay_layer(engine):
    """A committed quartier with three incidents, published as a catalogue layer."""
    with engine.begin() as conn:
        qid = add_quartier(conn, "CAT", "Catalogue-Test")
        for dx in (100, 400, 700):
            add_incident(conn, qid, x=651000 + dx, y=6862000 + dx, description="Point <b>gras</b>")
        conn.execute(text("""
            INSERT INTO layers (slug, title, licence, producer_id, source_table, geometry_type)
            VALUES ('bt-signalements', 'Signalements (test)', 'ODbL',
                    (SELECT id FROM producers WHERE slug = 'sig'), 'incidents', 'Point')
        """))
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM layers WHERE slug = 'bt-signalements'"))
        conn.execute(text("DELETE FROM incidents WHERE quartier_id = :q"), {"q": qid})
        conn.execute(text("DELETE FROM quartiers WHERE id = :q"), {"q": qid})


def test_toggling_a_catalogue_layer_loads_it_by_bbox(page, live_server, overlay_layer):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/ogc/" in r.url else None)
    page.goto(live_server + "/")
    page.wait_for_selector("path.ova-quartier")
    assert requests == []  # unticked layers are not fetched
    toggle = page.locator(".leaflet-control-layers label", has_text="Signalements (test)").locator("input")
    toggle.check()
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path:not(.ova-quartier)').length"
                           " + document.querySelectorAll('.marker-cluster, .leaflet-marker-icon').length >= 1")
    assert requests and "bbox=" in requests[0] and "limit=1000" in requests[0]
    toggle.uncheck()
    page.wait_for_function("document.querySelectorAll('.marker-cluster').length === 0")
    page.watch.assert_clean()
