"""A planted report walks every public channel: nothing of the citizen's words or photo before moderation.

The report is the issue's own: an Open311 POST whose description names a neighbour, his phone
number and his car's plate, with a photo. Before moderation every channel (incident page, OGC
API items of the ``signalements`` layer, its vector tiles and downloads, Open311 GET, the Atom
feeds, the quartier map, the duplicates check, the subscribers' e-mails in the outbox) shows the
category, place, dates and status only; after approval, the masked text and nothing else.
"""
from __future__ import annotations

import csv
import io
import json
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import select, text

from incidents import moderation
from notifications.render import render
from ova.models import IncidentReport
from portal.auth.tokens import issue_token

INSIDE = (48.8530, 2.3499)
PLANTED = "Mon voisin Jean Dupont 06 12 34 56 78 jette ses poubelles, plaque AB-123-CD"
SECRETS = ("Dupont", "06 12 34 56 78", "AB-123-CD", "voisin", "planted-reporter@example.org")
Z = 16


def _tile(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture
def planted(client, session, connection, territory, make_user, make_image, app, tmp_path):
    """The signalements layer, a subscriber to the category, and the issue's report posted through Open311."""
    app.config["PHOTO_DIR"] = str(tmp_path / "photos")
    app.config["DOWNLOAD_CACHE_DIR"] = str(tmp_path / "downloads")
    connection.execute(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence) VALUES ('signalements', "
        "'Signalements', (SELECT id FROM producers WHERE slug = 'proprete'), 'public_incidents', 'ODbL 1.0') "
        "ON CONFLICT (slug) DO UPDATE SET source_table = 'public_incidents'"))
    connection.execute(text(
        "INSERT INTO subscriptions (token, email, kind, category, confirmed_at) "
        "VALUES ('planted-sub', 'voisine@example.org', 'category', 'depot-sauvage', now())"))
    key = issue_token(session, make_user("commercant"), "planted")
    resp = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "depot-sauvage", "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
        "description": PLANTED, "email": "planted-reporter@example.org",
        "media": (io.BytesIO(make_image("JPEG")), "voisin.jpg")}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    incident_id = resp.json[0]["service_request_id"]
    session.expire_all()
    return incident_id


def _public_bodies(client, session, incident_id: int) -> dict[str, str]:
    """Every public channel's answer about the planted report, as text."""
    quartier = session.execute(text("SELECT q.code FROM quartiers q JOIN incidents i ON i.quartier_id = q.id "
                                    "WHERE i.id = :id"), {"id": incident_id}).scalar_one()
    x, y = _tile(*INSIDE, Z)
    tile = client.get(f"/tiles/signalements/{Z}/{x}/{y}.pbf")
    assert tile.status_code == 200
    decoded = mapbox_vector_tile.decode(tile.data)
    features = decoded.get("signalements", {}).get("features", [])
    assert any(f["id"] == incident_id for f in features), "the report is in its tile"
    bodies = {"tile": json.dumps([f["properties"] for f in features], ensure_ascii=False)}
    urls = {
        "page": f"/incidents/{incident_id}",
        "page_en": f"/incidents/{incident_id}?lang=en",
        "ogc_items": "/ogc/collections/signalements/items?limit=1000",
        "ogc_items_html": "/ogc/collections/signalements/items?f=html&limit=1000",
        "ogc_item": f"/ogc/collections/signalements/items/{incident_id}",
        "download_geojson": "/catalogue/signalements/download.geojson",
        "download_csv": "/catalogue/signalements/download.csv",
        "open311_list": "/open311/v2/requests.json?service_code=depot-sauvage",
        "open311_one_json": f"/open311/v2/requests/{incident_id}.json",
        "open311_one_xml": f"/open311/v2/requests/{incident_id}.xml",
        "atom_catalogue": "/catalogue/feed.atom",
        "atom_category": "/abonnements/flux.atom?category=depot-sauvage",
        "quartier_map": f"/api/quartiers/{quartier}/incidents.geojson",
        "duplicates": f"/incidents/duplicates.json?category=depot-sauvage&lat={INSIDE[0]}&lon={INSIDE[1]}",
    }
    for name, url in urls.items():
        resp = client.get(url)
        assert resp.status_code == 200, (name, resp.status_code)
        bodies[name] = resp.get_data(as_text=True)
        if resp.is_json or resp.mimetype == "application/geo+json":  # escaped characters as written
            bodies[name] = json.dumps(json.loads(bodies[name]), ensure_ascii=False)
    for row in session.execute(text("SELECT template, locale, context FROM outbox ORDER BY id")).mappings():
        message = render(row["template"], row["locale"], row["context"], base_url="http://ova.test",
                         unsubscribe_url=None)
        bodies[f"mail {row['template']}"] = " ".join((message.subject, message.text, message.html))
    return bodies


def _no_secret(bodies: dict[str, str]) -> None:
    leaks = [(name, s) for name, body in bodies.items() for s in SECRETS if s in body]
    assert not leaks, leaks


def test_nothing_of_the_planted_report_is_public_before_moderation(client, session, planted):
    bodies = _public_bodies(client, session, planted)
    _no_secret(bodies)
    assert any(name.startswith("mail ") for name in bodies), "the subscriber was notified"
    assert "description en cours de modération" in bodies["page"]
    # The category, place, dates and status are public.
    item = json.loads(bodies["ogc_item"])
    assert item["properties"]["category"] == "depot-sauvage" and item["properties"]["description"] is None
    assert item["properties"]["description_state"] == "pending"
    assert json.loads(bodies["open311_one_json"])[0]["media_url"] is None
    assert client.get(f"/incidents/{planted}/photo").status_code == 404
    rows = list(csv.DictReader(io.StringIO(bodies["download_csv"])))
    assert [r["description"] for r in rows if r["id"] == str(planted)] == [""]


def test_after_approval_only_the_masked_text_is_public(client, session, planted, make_user):
    agent = make_user("agent")
    row = moderation.decide(session, planted, "description", "approve", actor=agent)
    assert row.public_text == "Mon voisin [nom] [téléphone] jette ses poubelles, plaque [plaque]"
    bodies = _public_bodies(client, session, planted)
    leaks = [(name, s) for name, body in bodies.items() for s in SECRETS[:3] if s in body]
    assert not leaks, leaks
    for name in ("page", "ogc_item", "open311_one_json", "download_geojson", "tile", "quartier_map"):
        assert "[téléphone]" in bodies[name], name
    # The photo stays private until it is published on its own.
    assert client.get(f"/incidents/{planted}/photo").status_code == 404
    moderation.decide_photo(session, planted, True, actor=agent)
    assert client.get(f"/incidents/{planted}/photo").status_code == 200
    assert session.scalar(select(IncidentReport.photo_state).where(IncidentReport.incident_id == planted)) == "published"


def test_a_hidden_description_stays_out_of_every_channel(client, session, planted, make_user):
    moderation.decide(session, planted, "description", "hide", actor=make_user("agent"), reason="voisin nommé")
    bodies = _public_bodies(client, session, planted)
    _no_secret(bodies)
    assert "description masquée par la modération" in bodies["page"]


# --- the typed address (issue #24: "street numbers of private homes when the report names a person")

ADDRESS_CHANNELS = {
    "page": "/incidents/{id}",
    "ogc_item": "/ogc/collections/signalements/items/{id}",
    "ogc_items": "/ogc/collections/signalements/items?limit=1000",
    "open311_one_json": "/open311/v2/requests/{id}.json",
    "open311_list": "/open311/v2/requests.json?service_code=depot-sauvage",
    "places": "/incidents/places.json?q=Lilas",
}


def _post(client, key, description, address):
    resp = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "depot-sauvage", "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
        "description": description, "address_string": address})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json[0]["service_request_id"]


def _address_bodies(client, incident_id):
    bodies = {}
    for name, url in ADDRESS_CHANNELS.items():
        resp = client.get(url.format(id=incident_id))
        assert resp.status_code == 200, (name, resp.status_code)
        body = resp.get_data(as_text=True)
        bodies[name] = json.dumps(json.loads(body), ensure_ascii=False) if resp.is_json else body
    return bodies


@pytest.fixture
def signalements(connection, session, make_user, territory):
    connection.execute(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence) VALUES ('signalements', "
        "'Signalements', (SELECT id FROM producers WHERE slug = 'proprete'), 'public_incidents', 'ODbL 1.0') "
        "ON CONFLICT (slug) DO UPDATE SET source_table = 'public_incidents'"))
    return issue_token(session, make_user("commercant"), "address")


def test_a_named_persons_house_number_is_not_public(client, session, signalements):
    incident_id = _post(client, signalements, "Mon voisin Jean Dupont jette ses poubelles par la fenêtre",
                        "12 bis rue des Lilas, 75020 Paris")
    session.expire_all()
    for name, body in _address_bodies(client, incident_id).items():
        assert "12 bis rue des Lilas" not in body and "12 bis" not in body, name
        if name != "places":
            assert "rue des Lilas, 75020 Paris" in body, name  # the street stays public
    # The service still has the full address.
    assert session.execute(text("SELECT address FROM incidents WHERE id = :id"),
                           {"id": incident_id}).scalar_one() == "12 bis rue des Lilas, 75020 Paris"


def test_personal_data_in_the_address_itself_is_masked(client, session, signalements):
    incident_id = _post(client, signalements, "Sacs éventrés devant la porte",
                        "chez M. Benhamou, 7 rue des Lilas, 06 12 34 56 78")
    session.expire_all()
    for name, body in _address_bodies(client, incident_id).items():
        for secret in ("Benhamou", "06 12 34 56 78", "7 rue des Lilas"):
            assert secret not in body, (name, secret)


def test_an_address_without_a_named_person_stays_whole(client, session, signalements):
    incident_id = _post(client, signalements, "Dépôt de cartons devant l'immeuble", "12 bis rue des Lilas, 75020 Paris")
    session.expire_all()
    for name, body in _address_bodies(client, incident_id).items():
        assert "12 bis rue des Lilas, 75020 Paris" in body, name


def test_a_moderator_may_publish_the_whole_address(client, session, signalements, make_user):
    incident_id = _post(client, signalements, "Mon voisin Jean Dupont jette ses poubelles par la fenêtre",
                        "12 bis rue des Lilas, 75020 Paris")
    agent = make_user("agent")
    moderation.decide_address(session, incident_id, "approve", actor=agent, reason="adresse d'un commerce")
    session.expire_all()
    assert "12 bis rue des Lilas, 75020 Paris" in _address_bodies(client, incident_id)["ogc_item"]
    audit = session.execute(text("SELECT count(*) FROM audit_log WHERE table_name = 'incidents' "
                                 "AND row_id = :id"), {"id": str(incident_id)}).scalar_one()
    assert audit >= 1
