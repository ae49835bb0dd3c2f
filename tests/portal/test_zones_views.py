"""Zone editor: roles, CSRF-protected forms, upload of a GeoJSON file, approval."""
import io
import json

import pytest
from sqlalchemy import text

SQUARE = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
    [[2.340, 48.850], [2.345, 48.850], [2.345, 48.853], [2.340, 48.853], [2.340, 48.850]]]}}


@pytest.mark.parametrize("role,status", [("citizen", 403), ("commercant", 403), ("agent", 403),
                                         ("urbaniste", 200), ("banque", 403), ("admin", 200)])
def test_zone_editor_roles(login_as, role, status):
    assert login_as(role).get("/zones/").status_code == status


def test_anonymous_is_sent_to_login(client):
    assert client.get("/zones/nouvelle").status_code == 302


def test_upload_creates_a_draft_then_approve(login_as, connection):
    urbanist = login_as("urbaniste")
    r = urbanist.post("/zones/nouvelle", data={
        "code": "ZCP-TEST", "name": "Zone <test>", "valid_from": "2024-01-01",
        "upload": (io.BytesIO(json.dumps(SQUARE).encode()), "zone.geojson")},
        content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    zone_id = connection.scalar(text("SELECT id FROM priority_zones WHERE code = 'ZCP-TEST'"))
    page = urbanist.get(f"/zones/{zone_id}").get_data(as_text=True)
    assert "brouillon" in page and "leaflet.draw.js" in page
    feed = urbanist.get(f"/zones/api/zones.geojson?id={zone_id}").get_json()
    assert feed["features"][0]["properties"]["name"] == "Zone <test>"
    assert urbanist.post(f"/zones/{zone_id}/approuver").status_code == 302
    assert connection.scalar(text("SELECT status FROM priority_zones WHERE id = :z"), {"z": zone_id}) == "approved"
    assert "Zone &lt;test&gt;" in urbanist.get("/zones/").get_data(as_text=True)
    log = connection.execute(text(
        "SELECT action, before->>'status', after->>'status' FROM audit_log "
        "WHERE table_name = 'priority_zones' AND row_id = :z ORDER BY id"), {"z": str(zone_id)}).all()
    assert [tuple(r) for r in log] == [("create", None, "draft"), ("update", "draft", "approved")]


def test_drawn_geometry_is_saved_and_bad_input_reported(login_as, connection):
    urbanist = login_as("urbaniste")
    r = urbanist.post("/zones/nouvelle", data={"code": "Z2", "name": "Z2", "valid_from": "2024-01-01",
                                              "geometry": json.dumps({"type": "FeatureCollection", "features": [SQUARE]})})
    assert r.status_code == 302
    bad = urbanist.post("/zones/nouvelle", data={"code": "Z3", "name": "Z3", "valid_from": "2024-01-01",
                                                "geometry": '{"type": "Point", "coordinates": [2, 48]}'})
    assert bad.status_code == 200 and "polygons" in bad.get_data(as_text=True)
    none = urbanist.post("/zones/nouvelle", data={"code": "Z4", "name": "Z4", "valid_from": "2024-01-01"})
    assert "Dessinez la zone" in none.get_data(as_text=True)
    assert connection.scalar(text("SELECT count(*) FROM priority_zones WHERE code LIKE 'Z_'")) == 1
