"""Open311 GeoReport v2: the spec's examples, in JSON and XML, round trips, errors, a real HTTP client."""
import datetime as dt
import io
import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select, text

from ova.models import Incident, User
from portal.auth.services import hash_password
from portal.auth.tokens import issue_token
from tests.builders import add_central_quartier, publish_as_written

INSIDE = (48.8530, 2.3499)
FAR = (43.2965, 5.3698)


@pytest.fixture
def api_key(session, make_user):
    return issue_token(session, make_user("commercant"), "open311 test")


def _count(session):
    return session.scalar(select(func.count()).select_from(Incident))


def _post(client, key, **kw):
    data = {"api_key": key, "service_code": "graffiti", "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
            "description": "Tag sur la façade", "email": "moi@example.org"}
    data.update({k: v for k, v in kw.items() if v is not None})
    for k in [k for k, v in kw.items() if v is None]:
        data.pop(k)
    return client.post("/open311/v2/requests.json", data=data)


def test_services_json(client):
    data = client.get("/open311/v2/services.json").json
    graffiti = next(s for s in data if s["service_code"] == "graffiti")
    assert graffiti == {"service_code": "graffiti", "service_name": "Graffitis, tags",
                        "description": "Enlèvement des graffitis, tags et affichage sauvage", "metadata": False,
                        "type": "realtime", "keywords": graffiti["keywords"], "group": "Entretien – Propreté"}


def test_services_xml(client):
    resp = client.get("/open311/v2/services.xml")
    assert resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert "graffiti" in codes and "eclairage" in codes
    assert root.find("service").findtext("metadata") == "false"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition_and_unknown_code(client, fmt):
    ok = client.get(f"/open311/v2/services/graffiti.{fmt}")
    assert ok.status_code == 200
    if fmt == "json":
        assert ok.json == {"service_code": "graffiti", "attributes": []}
    else:
        assert ET.fromstring(ok.data).findtext("service_code") == "graffiti"
    missing = client.get(f"/open311/v2/services/licorne.{fmt}")
    assert missing.status_code == 404
    if fmt == "json":
        assert missing.json[0]["code"] == 404 and "licorne" in missing.json[0]["description"]
    else:
        error = ET.fromstring(missing.data).find("error")
        assert error.findtext("code") == "404"


def test_post_then_get_round_trip(client, session, territory, graffiti_norm, api_key):
    resp = _post(client, api_key)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    created = resp.json[0]
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    rid = created["service_request_id"]
    assert "propreté" in created["service_notice"]
    one = client.get(f"/open311/v2/requests/{rid}.json").json
    assert len(one) == 1
    req = one[0]
    assert req["service_request_id"] == rid and req["status"] == "open" and req["service_code"] == "graffiti"
    assert req["agency_responsible"] == "Direction de la propreté et de l'eau"
    assert abs(req["lat"] - INSIDE[0]) < 1e-6 and abs(req["long"] - INSIDE[1]) < 1e-6
    requested = dt.datetime.fromisoformat(req["requested_datetime"])
    assert dt.datetime.fromisoformat(req["expected_datetime"]) - requested == dt.timedelta(hours=72)
    assert req["overdue"] is False
    assert "moi@example.org" not in json.dumps(one)  # personal data never published
    xml_root = ET.fromstring(client.get(f"/open311/v2/requests/{rid}.xml").data)
    assert xml_root.tag == "service_requests"
    request_el = xml_root.find("request")
    assert request_el.findtext("service_request_id") == str(rid)
    assert request_el.findtext("expected_datetime") == req["expected_datetime"]
    assert request_el.findtext("status") == "open"


def test_post_xml_response(client, territory, api_key):
    resp = client.post("/open311/v2/requests.xml", data={
        "api_key": api_key, "service_code": "eclairage", "lat": str(INSIDE[0]), "long": str(INSIDE[1])})
    assert resp.status_code == 201
    root = ET.fromstring(resp.data)
    assert root.find("request").findtext("service_request_id").isdigit()


def test_get_requests_filters(client, session, territory, api_key, make_user):
    from incidents import reports, workflow

    old = reports.create_report(session, reports.NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                   reported_at=dt.datetime(2024, 1, 10, tzinfo=dt.timezone.utc))).incident
    recent = reports.create_report(session, reports.NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1])).incident
    light = reports.create_report(session, reports.NewReport(category="eclairage", lat=INSIDE[0], lon=INSIDE[1])).incident
    admin = make_user("admin")
    workflow.change_status(session, light.id, "rejected", actor=admin, note="Déjà réparé")

    def ids(query, fmt="json"):
        resp = client.get(f"/open311/v2/requests.{fmt}?{query}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        if fmt == "xml":
            return {int(r.findtext("service_request_id")) for r in ET.fromstring(resp.data).findall("request")}
        return {r["service_request_id"] for r in resp.json}

    # Default window: the last 90 days.
    assert ids("") == {recent.id, light.id}
    assert ids("status=open") == {recent.id}
    assert ids("status=closed", "xml") == {light.id}
    assert ids("service_code=eclairage") == {light.id}
    assert ids("start_date=2024-01-01T00:00:00Z&end_date=2024-02-01T00:00:00Z") == {old.id}
    assert ids(f"service_request_id={old.id},{light.id}") == {old.id, light.id}
    closed = client.get(f"/open311/v2/requests/{light.id}.json").json[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "Déjà réparé"


@pytest.mark.parametrize("query,message", [
    ("status=pending", "status must be open or closed"),
    ("start_date=yesterday", "not a W3C datetime"),
    ("service_request_id=abc", "comma-separated list of numbers"),
    ("start_date=2024-02-01T00:00:00Z&end_date=2024-01-01T00:00:00Z", "end_date is before"),
])
def test_bad_queries(client, query, message):
    resp = client.get(f"/open311/v2/requests.json?{query}")
    assert resp.status_code == 400
    assert resp.json[0]["code"] == 400 and message in resp.json[0]["description"]


@pytest.mark.parametrize("changes,status,message", [
    ({"api_key": "ova_wrong"}, 403, "invalid api_key"),
    ({"api_key": None}, 403, "invalid api_key"),
    ({"lat": None, "long": None}, 400, "lat and long are required"),
    ({"long": None}, 400, "longitude manquante"),
    ({"service_code": "licorne"}, 400, "catégorie inconnue"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"lat": str(FAR[0]), "long": str(FAR[1])}, 400, "en dehors des quartiers du territoire"),
    ({"lat": "north"}, 400, "latitude : un nombre de degrés"),
    ({"description": "x" * 5000}, 400, "trop long"),
])
def test_bad_posts_are_refused_in_spec_format_and_nothing_stored(client, session, territory, api_key,
                                                                 changes, status, message):
    before = _count(session)
    resp = _post(client, api_key, **changes)
    assert resp.status_code == status
    assert resp.json[0]["code"] == status and message in resp.json[0]["description"]
    assert _count(session) == before


def test_corrupt_media_is_refused(client, session, territory, api_key, app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path)
    before = _count(session)
    resp = client.post("/open311/v2/requests.xml", data={
        "api_key": api_key, "service_code": "graffiti", "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
        "media": (io.BytesIO(b"\x89PNG\r\n\x1a\ncorrupt"), "p.png")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    error = ET.fromstring(resp.data).find("error")
    assert error.findtext("code") == "400" and "pas une image JPEG ou PNG lisible" in error.findtext("description")
    assert _count(session) == before


def test_html_description_is_escaped_in_xml_and_public_page(client, session, territory, api_key):
    rid = _post(client, api_key, description="<b>gras</b> & co").json[0]["service_request_id"]
    publish_as_written(session.connection(), rid)
    raw = client.get(f"/open311/v2/requests/{rid}.xml").get_data(as_text=True)
    assert "&lt;b&gt;gras&lt;/b&gt; &amp; co" in raw
    assert ET.fromstring(raw).find("request").findtext("description") == "<b>gras</b> & co"
    assert "<b>gras</b>" not in client.get(f"/incidents/{rid}").get_data(as_text=True)


def test_unknown_resource_is_a_spec_error(client):
    resp = client.get("/open311/v2/nothing.json")
    assert resp.status_code == 404 and resp.json[0]["code"] == 404


# --- a real HTTP client against the live server (CSRF on, committed data) -----------------------

@pytest.fixture(scope="module")
def live_api_key(engine):
    """A committed quartier, user and API token; removed afterwards with what they produced."""
    with engine.begin() as conn:
        add_central_quartier(conn, "T-O311", "Open311 (test)")
    from ova.db import make_sessionmaker

    with make_sessionmaker(engine)() as s, s.begin():
        user = User(email="open311-live@example.org", name="Open311 live", role="commercant",
                    password_hash=hash_password("correct horse battery"))
        s.add(user)
        s.flush()
        key = issue_token(s, user, "live")
    yield key
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = 'open311'"))
        conn.execute(text("DELETE FROM users WHERE email = 'open311-live@example.org'"))
        conn.execute(text("DELETE FROM quartiers WHERE code = 'T-O311'"))


def test_round_trip_with_urllib(live_server, live_api_key):
    body = urllib.parse.urlencode({"api_key": live_api_key, "service_code": "depot-sauvage",
                                   "lat": INSIDE[0], "long": INSIDE[1], "description": "Sacs et cartons"}).encode()
    with urllib.request.urlopen(urllib.request.Request(live_server + "/open311/v2/requests.json", data=body)) as resp:
        assert resp.status == 201
        rid = json.load(resp)[0]["service_request_id"]
    with urllib.request.urlopen(f"{live_server}/open311/v2/requests/{rid}.xml") as resp:
        request_el = ET.fromstring(resp.read()).find("request")
    assert request_el.findtext("service_code") == "depot-sauvage"
    assert not request_el.findtext("description")  # the citizen's words wait for moderation
    with urllib.request.urlopen(f"{live_server}/open311/v2/requests.json?service_code=depot-sauvage&status=open") as resp:
        assert rid in [r["service_request_id"] for r in json.load(resp)]
    bad = urllib.parse.urlencode({"api_key": live_api_key, "service_code": "licorne",
                                  "lat": INSIDE[0], "long": INSIDE[1]}).encode()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(live_server + "/open311/v2/requests.json", data=bad))
    assert err.value.code == 400
    assert json.load(err.value)[0]["code"] == 400


def test_reports_are_rate_limited_per_api_key(app, client, session, api_key, make_user, territory):
    app.config["OPEN311_REPORTS_PER_HOUR"] = 2
    for _ in range(2):
        assert _post(client, api_key).status_code == 201
    before = _count(session)
    refused = _post(client, api_key)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 3600
    assert refused.json[0]["code"] == 429 and "trop de signalements" in refused.json[0]["description"]
    assert _count(session) == before
    # Another integrator (another key) from the same address is not affected.
    other = issue_token(session, make_user("citizen", "other-integrator@example.org"), "other")
    assert _post(client, other).status_code == 201
