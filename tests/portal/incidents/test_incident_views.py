"""Incident pages: the report form, the public page, the follow-up, the agent queue and workflow."""
import io
import re

import pytest
from sqlalchemy import func, select

from ova.models import Incident, IncidentEvent, IncidentReport, Producer, User
from incidents import reports, workflow
from incidents.reports import NewReport
from tests.builders import publish_as_written

INSIDE = (48.8530, 2.3499)
FAR = (43.2965, 5.3698)


def _form(**kw):
    data = {"category": "graffiti", "lat": str(INSIDE[0]), "lon": str(INSIDE[1]),
            "description": "Tag sur la façade", "address": "12 rue de la Cité", "email": ""}
    data.update(kw)
    return data


def _count(session):
    return session.scalar(select(func.count()).select_from(Incident))


@pytest.fixture
def photo_app(app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path / "photos")
    return app


def test_form_page_lists_plain_french_categories(client, territory):
    page = client.get("/incidents/new").get_data(as_text=True)
    assert "Graffitis, tags" in page
    assert 'name="lat"' in page and 'name="lon"' in page
    assert "OVAIncidents.pickPoint" in page
    assert "cdn" not in page.lower()


def test_report_with_photo_then_public_page(client, session, territory, photo_app, make_image, tmp_path):
    data = _form(email="moi@example.org")
    data["photo"] = (io.BytesIO(make_image("JPEG")), "mur.jpg")
    resp = client.post("/incidents/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_data(as_text=True)
    incident_id = int(re.search(r"/incidents/(\d+)/suivi/", body).group(1))
    report = session.get(IncidentReport, incident_id)
    assert report.email == "moi@example.org" and report.client_hash and report.photo_path
    public = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "Direction de la propreté et de l&#39;eau" in public
    assert "moi@example.org" not in public
    assert "Cité (test)" in public
    # Never public before moderation; once a moderator published it, served without metadata.
    assert "photo en cours de modération" in public
    assert client.get(f"/incidents/{incident_id}/photo").status_code == 404
    report.photo_state = "published"
    session.flush()
    photo = client.get(f"/incidents/{incident_id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert b"TestCam" not in photo.data


@pytest.mark.parametrize("changes,status,message", [
    ({"lat": "", "lon": ""}, 400, "adresse inconnue ou ambiguë"),
    ({"lat": str(FAR[0]), "lon": str(FAR[1])}, 400, "en dehors des quartiers du territoire"),
    ({"category": "licorne"}, 400, ""),
    ({"description": ""}, 400, ""),
])
def test_bad_reports_are_refused_and_nothing_stored(client, session, territory, changes, status, message):
    before = _count(session)
    resp = client.post("/incidents/new", data=_form(**changes))
    assert resp.status_code == status
    assert message in resp.get_data(as_text=True)
    assert _count(session) == before


@pytest.mark.parametrize("photo,message", [
    (b"GIF89a not really", "pas une image JPEG ou PNG lisible"),
    (b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "trop lourde"),
])
def test_bad_photos_are_refused_and_nothing_stored(client, session, territory, photo_app, photo, message):
    before = _count(session)
    data = _form()
    data["photo"] = (io.BytesIO(photo), "photo.jpg")
    resp = client.post("/incidents/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _count(session) == before


def test_html_in_the_description_is_shown_escaped(client, session, territory):
    resp = client.post("/incidents/new", data=_form(description='<img src=x onerror="alert(1)">'))
    incident_id = int(re.search(r"/incidents/(\d+)/suivi/", resp.get_data(as_text=True)).group(1))
    assert "description en cours de modération" in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    publish_as_written(session.connection(), incident_id)
    public = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "<img src=x" not in public
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in public


def test_rate_limit_per_client_ip(client, app, session, territory):
    app.config["REPORTS_PER_HOUR"] = 2
    for _ in range(2):
        assert client.post("/incidents/new", data=_form()).status_code == 201
    before = _count(session)
    resp = client.post("/incidents/new", data=_form())
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) == 3600
    assert "trop de signalements" in resp.get_data(as_text=True)
    assert _count(session) == before
    other = client.post("/incidents/new", data=_form(), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 201


def test_form_requires_a_csrf_token(app, client, territory, session):
    app.config["WTF_CSRF_ENABLED"] = True
    before = _count(session)
    assert client.post("/incidents/new", data=_form()).status_code == 400
    assert _count(session) == before


def test_duplicates_endpoint(client, session, territory):
    existing = reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1])).incident
    data = client.get(f"/incidents/duplicates.json?category=graffiti&lat={INSIDE[0] + 0.0002}&lon={INSIDE[1]}").json
    assert [d["id"] for d in data["duplicates"]] == [existing.id]
    assert data["duplicates"][0]["url"] == f"/incidents/{existing.id}"
    assert client.get("/incidents/duplicates.json?category=graffiti&lat=&lon=").status_code == 400


def test_logged_in_commercant_report_is_linked_to_the_account(login_as, session, territory):
    c = login_as("commercant")
    resp = c.post("/incidents/new", data=_form())
    incident_id = int(re.search(r"/incidents/(\d+)/suivi/", resp.get_data(as_text=True)).group(1))
    assert session.get(IncidentReport, incident_id).reporter_id is not None


# --- workflow through the pages ---------------------------------------------------------------

@pytest.fixture
def created(session, territory, graffiti_norm):
    return reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                     description="tag"))


def test_public_page_shows_deadline_and_history(client, created):
    page = client.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
    assert "Graffitis enlevés en 72 h" in page
    assert "Nouveau" in page
    assert 'id="status-form"' not in page  # anonymous: no workflow buttons


@pytest.mark.parametrize("role,allowed", [
    ("citizen", False), ("commercant", False), ("urbaniste", False), ("banque", False),
    ("agent", True), ("admin", True),
])
def test_status_change_per_role(login_as, session, created, role, allowed):
    c = login_as(role)
    resp = c.post(f"/incidents/{created.incident.id}/status", data={"to_status": "acknowledged", "note": "vu"})
    session.refresh(created.incident)
    if allowed:
        assert resp.status_code == 302
        assert created.incident.status == "acknowledged"
        page = c.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
        assert "Pris en compte" in page and "vu" in page
    else:
        assert resp.status_code == 403
        assert created.incident.status == "new"


def test_agent_sees_buttons_and_rejection_needs_a_reason(login_as, session, created):
    c = login_as("agent")
    page = c.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
    assert 'value="acknowledged"' in page and 'value="rejected"' in page
    resp = c.post(f"/incidents/{created.incident.id}/status", data={"to_status": "rejected", "note": ""})
    assert resp.status_code == 400
    resp = c.post(f"/incidents/{created.incident.id}/status", data={"to_status": "resolved"})
    assert resp.status_code == 409


def test_reporter_disputes_the_resolution(client, login_as, session, created, make_user):
    agent = make_user("agent", "agent2@example.org")
    for status in ("acknowledged", "in_progress", "resolved"):
        workflow.change_status(session, created.incident.id, status, actor=agent)
    url = f"/incidents/{created.incident.id}/suivi/{created.token}"
    assert client.get(url).status_code == 200
    assert client.get(f"/incidents/{created.incident.id}/suivi/wrong-token").status_code == 403
    resp = client.post(url, data={"answer": "disputed", "comment": "Toujours là"})
    assert resp.status_code == 302
    page = client.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
    assert "Résolution contestée" in page and "commentaire en cours de modération" in page
    assert "Toujours là" not in page
    publish_as_written(session.connection(), created.incident.id)
    page = client.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
    assert "Résolution contestée" in page and "Toujours là" in page


def test_work_queue_lists_my_service_and_bulk_acknowledges(login_as, session, territory, graffiti_norm):
    mine = [reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1])).incident
            for _ in range(2)]
    other = reports.create_report(session, NewReport(category="voirie", lat=INSIDE[0], lon=INSIDE[1])).incident
    c = login_as("agent")
    page = c.get("/incidents/queue").get_data(as_text=True)
    for i in mine:
        assert f'data-id="{i.id}"' in page
    assert f'data-id="{other.id}"' not in page
    geo = c.get("/incidents/queue.geojson").json
    assert {f["properties"]["id"] for f in geo["features"]} == {i.id for i in mine}
    resp = c.post("/incidents/queue/acknowledge", data={"ids": [str(i.id) for i in mine]})
    assert resp.status_code == 302
    for i in mine:
        session.refresh(i)
        assert i.status == "acknowledged"
    events = session.scalar(select(func.count()).select_from(IncidentEvent)
                            .where(IncidentEvent.to_status == "acknowledged"))
    assert events == 2
    # Another service's incident cannot be slipped in.
    assert c.post("/incidents/queue/acknowledge", data={"ids": [str(other.id)]}).status_code == 403


@pytest.mark.parametrize("role", ["citizen", "commercant", "urbaniste", "banque"])
def test_work_queue_is_for_agents(login_as, role):
    assert login_as(role).get("/incidents/queue").status_code == 403


def test_work_queue_needs_login(client):
    assert client.get("/incidents/queue").status_code == 302


def test_places_endpoint(client, session, territory):
    reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                              address="3 quai aux Fleurs"))
    data = client.get("/incidents/places.json?q=quai aux").json
    assert data["places"][0]["label"] == "3 quai aux Fleurs"


def test_imported_incident_with_simulated_times_is_labelled(client, connection, territory):
    from sqlalchemy import text

    incident_id = connection.scalar(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, acknowledged_at, resolved_at, "
        "times_simulated, status, quartier_id, geom) VALUES ('dansmarue', 'DMR-1', 'graffiti', "
        "'2024-03-01T10:00:00Z', '2024-03-02T10:00:00Z', '2024-03-04T10:00:00Z', true, 'resolved', :q, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(2.35, 48.853), 4326), 2154)) RETURNING id"), {"q": territory})
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert page.count(">simulé</span>") == 2  # acknowledged and resolved times
    assert "Signalement importé (dansmarue)" in page
    assert 'id="status-form"' not in page


def test_reopen_button_after_resolution(login_as, session, created, make_user):
    c = login_as("agent")
    for status in ("acknowledged", "in_progress", "resolved"):
        assert c.post(f"/incidents/{created.incident.id}/status", data={"to_status": status}).status_code == 302
    page = c.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
    assert "Rouvrir (motif obligatoire)" in page


@pytest.mark.parametrize("url", ["/incidents/queue/acknowledge", "/incidents/{id}/status", "/incidents/{id}/suivi/{token}"])
def test_workflow_forms_require_a_csrf_token(app, login_as, session, created, url):
    app.config["WTF_CSRF_ENABLED"] = True
    c = login_as("agent")
    target = url.format(id=created.incident.id, token=created.token)
    resp = c.post(target, data={"ids": [str(created.incident.id)], "to_status": "acknowledged",
                                "answer": "confirmed"})
    assert resp.status_code == 400
    session.refresh(created.incident)
    assert created.incident.status == "new"


def test_nav_links_for_agents(login_as, client, territory):
    assert "File de travail" in login_as("agent").get("/incidents/new").get_data(as_text=True)
    assert "File de travail" not in client.get("/incidents/new").get_data(as_text=True)


def test_reporter_email_is_shown_to_the_responsible_service_only(client, login_as, session, territory, make_user):
    created = reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                        email="voisin@example.org"))
    url = f"/incidents/{created.incident.id}"
    assert "voisin@example.org" in login_as("agent").get(url).get_data(as_text=True)
    assert "voisin@example.org" not in client.get(url).get_data(as_text=True)
    assert "voisin@example.org" not in login_as("commercant").get(url).get_data(as_text=True)
    voirie_agent = User(email="v@example.org", name="V", role="agent", password_hash="x",
                        producer_id=session.scalar(select(Producer.id).where(Producer.slug == "voirie")))
    session.add(voirie_agent)
    session.flush()
    other = client.application.test_client()
    with other.session_transaction() as sess:
        sess["_user_id"] = str(voirie_agent.id)
    assert "voisin@example.org" not in other.get(url).get_data(as_text=True)


def test_refusal_reasons_follow_the_chosen_language(client, session, territory):
    client.get("/?lang=en")
    resp = client.post("/incidents/new", data=_form(lat=str(FAR[0]), lon=str(FAR[1])))
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "is outside the territory" in page and "en dehors des quartiers" not in page


def test_agent_puts_an_incident_on_hold_and_the_clock_stops(client, login_as, session, created, graffiti_norm):
    import datetime as dt

    from sqlalchemy import text

    session.execute(text("UPDATE norms SET pauses_on_hold = true WHERE id = :n"), {"n": graffiti_norm})
    incident_id = created.incident.id
    url = f"/incidents/{incident_id}/hold"
    assert login_as("citizen").post(url, data={"action": "start", "reason": "x"}).status_code == 403
    agent = login_as("agent")
    assert agent.post(url, data={"action": "start", "reason": ""}).status_code == 400     # the reason is public
    assert agent.post(url, data={"action": "start", "reason": "Attente du bailleur <b>Paris Habitat</b>"}
                      ).status_code == 302
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "délai suspendu" in page and "Attente du bailleur &lt;b&gt;Paris Habitat&lt;/b&gt;" in page
    assert agent.post(url, data={"action": "start", "reason": "encore"}).status_code == 409
    # Two hours on hold, then released: the deadline is 72 h + 2 h after the report.
    session.execute(text("UPDATE incident_holds SET started_at = started_at - interval '2 hours' "
                         "WHERE incident_id = :i"), {"i": incident_id})
    assert agent.post(url, data={"action": "stop"}).status_code == 302
    reported, expected, held = session.execute(text(
        "SELECT i.reported_at, i.expected_at, h.ended_at - h.started_at FROM incidents i "
        "JOIN incident_holds h ON h.incident_id = i.id WHERE i.id = :i"), {"i": incident_id}).one()
    assert expected - reported == dt.timedelta(hours=72) + held
    assert held >= dt.timedelta(hours=2)
    assert "En attente jusqu" in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    actions = [a.after.get("action") for a in session.execute(text(
        "SELECT after FROM audit_log WHERE table_name = 'incidents' AND row_id = :i ORDER BY id"),
        {"i": str(incident_id)})]
    assert actions[-2:] == ["on_hold", "hold_released"]
# --- addresses (the geocoder): a typed address alone places a report; a point gets its address ---

def test_a_typed_address_alone_places_the_report(client, session, ban, territory):
    resp = client.post("/incidents/new", data=_form(lat="", lon="", address="8 bd de sebastopol"))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    incident = session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    lon, lat = session.execute(select(func.ST_X(func.ST_Transform(Incident.geom, 4326)),
                                      func.ST_Y(func.ST_Transform(Incident.geom, 4326)))
                               .where(Incident.id == incident.id)).one()
    assert (round(lon, 5), round(lat, 5)) == (2.34877, 48.85908)
    assert incident.address == "8 bd de sebastopol"  # what the reporter wrote is kept


def test_a_street_alone_does_not_place_a_report(client, session, ban, territory):
    before = _count(session)
    resp = client.post("/incidents/new", data=_form(lat="", lon="", address="rue de rivoli"))
    assert resp.status_code == 400 and _count(session) == before


def test_a_point_without_address_gets_the_nearest_address(client, session, ban, territory):
    resp = client.post("/incidents/new", data=_form(lat="48.859081", lon="2.348766", address=""))
    assert resp.status_code == 201
    incident = session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    assert incident.address == "8 Boulevard de Sébastopol 75004 Paris"


def test_the_form_is_wired_to_the_address_api(client, territory):
    page = client.get("/incidents/new").get_data(as_text=True)
    assert "/api/adresse/search/" in page and "/api/adresse/reverse/" in page
    assert 'id="nearest-address"' in page
