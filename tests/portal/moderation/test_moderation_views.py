"""Moderation pages: the queue, one text's decision (highlighted findings), photos, auto-publication, privacy page."""

from sqlalchemy import select, text

from incidents import reports
from incidents.reports import NewReport
from ova.models import AutoPublication, IncidentReport, TextModeration

INSIDE = (48.8530, 2.3499)
NAMED = "Mon voisin Jean Dupont 06 12 34 56 78 jette ses poubelles"


def _report(session, app, tmp_path, make_image=None, description=NAMED):
    app.config["PHOTO_DIR"] = str(tmp_path / "photos")
    return reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                    description=description,
                                                    photo=make_image("JPEG") if make_image else None),
                                 photo_dir=tmp_path / "photos")


def test_queue_and_item_show_the_findings_to_the_service(login_as, session, territory, app, tmp_path, make_image):
    created = _report(session, app, tmp_path, make_image)
    agent = login_as("agent")
    page = agent.get("/moderation/").get_data(as_text=True)
    assert f'data-id="{created.incident.id}" data-field="description"' in page
    assert f'data-id="{created.incident.id}" data-field="photo"' in page
    item = agent.get(f"/moderation/{created.incident.id}/description").get_data(as_text=True)
    assert '<mark class="ova-pii" title="nom">Jean Dupont' in item
    assert "Mon voisin [nom] [téléphone] jette ses poubelles" in item
    # The service sees the pending photo; the public does not.
    assert agent.get(f"/incidents/{created.incident.id}/photo").status_code == 200
    assert app.test_client().get(f"/incidents/{created.incident.id}/photo").status_code == 404
    assert app.test_client().get("/moderation/").status_code in (302, 401)
    assert login_as("citizen").get(f"/moderation/{created.incident.id}/description").status_code == 403
    assert 'id="moderate-link"' in agent.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
    assert 'id="moderate-link"' not in app.test_client().get(f"/incidents/{created.incident.id}").get_data(as_text=True)


def test_the_moderators_page_shows_hostile_text_as_text(login_as, session, territory, app, tmp_path):
    created = _report(session, app, tmp_path, description='<img src=x onerror="alert(1)"> M. Martin 0612345678')
    page = login_as("agent").get(f"/moderation/{created.incident.id}/description").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert '<mark class="ova-pii" title="nom">Martin' in page


def test_decisions_through_the_form(login_as, session, territory, app, tmp_path, client):
    created = _report(session, app, tmp_path)
    agent = login_as("agent")
    url = f"/moderation/{created.incident.id}/description"
    resp = agent.post(url, data={"action": "hide", "reason": ""})
    assert resp.status_code == 400 and "obligatoire" in resp.get_data(as_text=True)
    resp = agent.post(url, data={"action": "edit", "text": "Poubelles <b>jetées</b>", "reason": "nom et numéro"})
    assert resp.status_code == 302
    public = client.get(f"/incidents/{created.incident.id}").get_data(as_text=True)
    assert "Poubelles &lt;b&gt;jetées&lt;/b&gt;" in public and "Dupont" not in public
    row = session.scalar(select(TextModeration).where(TextModeration.incident_id == created.incident.id))
    assert row.decision == "edited" and row.original == NAMED
    assert "Dupont" in agent.get(url).get_data(as_text=True)  # the original stays visible to the service


def test_photo_blur_and_publication(login_as, session, territory, app, tmp_path, make_image, client):
    created = _report(session, app, tmp_path, make_image)
    agent = login_as("agent")
    base = f"/moderation/{created.incident.id}/photo"
    assert agent.post(f"{base}/blur", data={"left": "10", "top": "10", "width": "30", "height": "30"}).status_code == 302
    report = session.get(IncidentReport, created.incident.id)
    assert report.photo_original_path == created.photo_path
    assert agent.get(f"{base}/original").status_code == 200
    assert client.get(f"{base}/original").status_code in (302, 401)
    assert agent.post(f"{base}/decision", data={"photo-action": "publish"}).status_code == 302
    assert client.get(f"/incidents/{created.incident.id}/photo").status_code == 200


def test_auto_publication_setting(login_as, session, territory, app, tmp_path, producer):
    agent = login_as("agent")
    assert agent.post("/moderation/auto", data={"categories": ["graffiti", "depot-sauvage"]}).status_code == 302
    assert set(session.scalars(select(AutoPublication.category).where(AutoPublication.producer_id == producer.id))) == {
        "graffiti", "depot-sauvage"}
    page = agent.get("/moderation/").get_data(as_text=True)
    assert 'value="graffiti" id="auto-graffiti" checked' in page
    created = _report(session, app, tmp_path, description="Tag sur le mur")
    assert session.scalar(text("SELECT description FROM public_incidents WHERE id = :id"),
                          {"id": created.incident.id}) == "Tag sur le mur"


def test_privacy_notice(client, app):
    app.config["RETENTION_MONTHS"] = 18
    app.config["PRIVACY_CONTACT"] = "dpo@ville.example"
    page = client.get("/confidentialite").get_data(as_text=True)
    assert "18 mois après la clôture" in page and 'href="mailto:dpo@ville.example"' in page
    assert 'href="/confidentialite"' in client.get("/").get_data(as_text=True)
    english = client.get("/confidentialite?lang=en").get_data(as_text=True)
    assert "Personal data and privacy" in english and "18 months after the report is closed" in english


def test_the_public_address_through_the_form(login_as, session, territory, app, tmp_path, client):
    app.config["PHOTO_DIR"] = str(tmp_path / "photos")
    created = reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                       description=NAMED, address="12 bis rue des Lilas"))
    incident_id = created.incident.id
    agent = login_as("agent")
    item = agent.get(f"/moderation/{incident_id}/description").get_data(as_text=True)
    assert '<span id="typed-address">12 bis rue des Lilas</span>' in item
    assert '<strong id="public-address">rue des Lilas</strong>' in item
    assert "12 bis" not in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    # A reason is required: nothing changes without one.
    address = f"/moderation/{incident_id}/address"
    agent.post(address, data={"address-action": "approve", "address-reason": ""})
    assert "12 bis" not in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    resp = agent.post(address, data={"address-action": "approve", "address-reason": "un commerce"})
    assert resp.status_code == 302
    assert "12 bis rue des Lilas" in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    resp = agent.post(address, data={"address-action": "edit", "address-text": "angle rue des Lilas",
                                     "address-reason": "repère"})
    assert "angle rue des Lilas" in client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    agent.post(address, data={"address-action": "mask", "address-reason": "retour à la règle"})
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "12 bis" not in page and "rue des Lilas" in page
    assert login_as("citizen").post(address, data={"address-action": "approve", "address-reason": "x"}).status_code == 403
