"""Toggling a catalogue overlay on the home map fetches its features by bbox and draws them.

The OGC API is another engineer's work: a stand-in route with the same URL and GeoJSON answer
is added to a server of this module only, so the test does not depend on its code.
"""
import threading

import pytest
from flask import Blueprint, jsonify, request
from sqlalchemy import text
from werkzeug.serving import make_server

from portal import create_app
from tests.portal.conftest import add_quartier

pytestmark = pytest.mark.browser

REQUESTS: list[str] = []


def _stub_ogc() -> Blueprint:
    bp = Blueprint("ogc_stub", __name__)

    @bp.route("/ogc/collections/<slug>/items")
    def items(slug):
        REQUESTS.append(request.full_path)
        w, s, e, n = (float(v) for v in request.args["bbox"].split(","))
        features = [{"type": "Feature", "id": i, "properties": {"name": f"Point {i} <b>gras</b>"},
                     "geometry": {"type": "Point", "coordinates": [w + (e - w) * f, s + (n - s) * f]}}
                    for i, f in enumerate((0.3, 0.5, 0.7))]
        return jsonify(type="FeatureCollection", features=features)

    return bp


@pytest.fixture(scope="module")
def server(engine, db_url):
    with engine.begin() as conn:
        qid = add_quartier(conn, "CAT", "Catalogue-Test")
        conn.execute(text("""
            INSERT INTO layers (slug, title, licence, producer_id, source_table, geometry_type)
            VALUES ('bt-fontaines', 'Fontaines (test)', 'ODbL', (SELECT id FROM producers WHERE slug = 'sig'),
                    'incidents', 'Point')
        """))
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "browser"})
    app.register_blueprint(_stub_ogc())
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    app.extensions["ova_engine"].dispose()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM layers WHERE slug = 'bt-fontaines'"))
        conn.execute(text("DELETE FROM quartiers WHERE id = :q"), {"q": qid})


def test_toggling_a_catalogue_layer_loads_it_by_bbox(page, server):
    page.goto(server + "/")
    page.wait_for_selector("path.ova-quartier")
    assert REQUESTS == []  # unticked layers are not fetched
    page.locator(".leaflet-control-layers label", has_text="Fontaines (test)").locator("input").check()
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path:not(.ova-quartier)').length"
                           " + document.querySelectorAll('.marker-cluster').length >= 1")
    assert REQUESTS and "bbox=" in REQUESTS[0] and "limit=1000" in REQUESTS[0]
    page.locator(".leaflet-control-layers label", has_text="Fontaines (test)").locator("input").uncheck()
    page.wait_for_function("document.querySelectorAll('.marker-cluster').length === 0")
    page.watch.assert_clean()
