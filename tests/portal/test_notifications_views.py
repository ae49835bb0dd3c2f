"""Subscription pages, Atom feeds, the account page and /admin/outbox (rolled-back test database)."""
import json

import pytest
from sqlalchemy import text

from incidents import reports, workflow
from incidents.reports import NewReport
from notifications import outbox

INSIDE = (48.8530, 2.3499)
SQUARE = {"type": "Polygon", "coordinates": [[[2.345, 48.85], [2.355, 48.85], [2.355, 48.856], [2.345, 48.856],
                                               [2.345, 48.85]]]}


def _outbox(connection, template=None):
    return [dict(r) for r in connection.execute(text(
        "SELECT * FROM outbox WHERE (CAST(:t AS text) IS NULL OR template = :t) ORDER BY id"),
        {"t": template}).mappings()]


def _subscribe(client, **data):
    values = {"email": "voisin@example.org", "kind": "quartier", "quartier": "T-CITE", "frequency": "immediate",
              "locale": "fr"}
    values.update(data)
    return client.post("/abonnements/", data=values)


def test_subscription_form_lists_the_selections(client, territory):
    page = client.get("/abonnements/?quartier=T-CITE")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<option selected value="T-CITE">Cité (test)</option>' in html
    assert 'id="zone-map"' in html and "leaflet.draw.js" in html


def test_anonymous_subscription_sends_only_a_confirmation(client, connection, territory):
    response = _subscribe(client, email="Voisin@Example.org")
    assert response.status_code == 201
    assert "Vérifiez votre messagerie" in response.get_data(as_text=True)
    message, = _outbox(connection)
    assert (message["template"], message["recipient"]) == ("subscription_confirm", "voisin@example.org")
    assert message["context"]["selection"] == "quartier Cité (test)"
    # Asking again does not subscribe twice, and says the same (no way to probe an address).
    again = _subscribe(client, email="voisin@example.org")
    assert again.status_code == 201
    assert connection.scalar(text("SELECT count(*) FROM subscriptions")) == 1


@pytest.mark.parametrize("data,message", [
    ({"email": "pas-une-adresse"}, "adresse électronique invalide"),
    ({"quartier": "NOPE"}, "quartier inconnu"),
    ({"kind": "area", "geometry": ""}, "choisissez ce que vous voulez suivre"),
    ({"kind": "area", "geometry": json.dumps({"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.9]]})},
     "dessinez au moins un polygone"),
    ({"kind": "area", "geometry": json.dumps({"type": "Polygon", "coordinates": [[[1, 45], [4, 45], [4, 50], [1, 45]]]})},
     "zone dessinée trop grande"),
    ({"kind": "area", "geometry": json.dumps({"type": "Polygon", "coordinates": [[[5.3, 43.2], [5.31, 43.2],
                                                                                 [5.31, 43.21], [5.3, 43.2]]]})},
     "en dehors des quartiers"),
    ({"kind": "area", "geometry": "{not json"}, "illisible"),
])
def test_bad_subscriptions_are_refused_and_nothing_is_stored(client, connection, territory, data, message):
    response = _subscribe(client, **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert connection.scalar(text("SELECT count(*) FROM subscriptions")) == 0
    assert _outbox(connection) == []


def test_confirmation_link_then_alerts_then_one_click_unsubscribe(client, session, connection, territory):
    _subscribe(client, kind="area", geometry=json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": SQUARE}]}))
    confirm, = _outbox(connection)
    assert confirm["context"]["selection"].startswith("zone dessinée de 0,")
    assert client.get("/abonnements/confirmer/wrong").status_code == 404
    page = client.get(confirm["context"]["confirm_path"])
    assert page.status_code == 200 and "Abonnement confirmé" in page.get_data(as_text=True)

    reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1], description="abc"))
    alert, = _outbox(connection, "area_new_report")
    assert alert["recipient"] == "voisin@example.org"
    page = client.get(f"/abonnements/desabonner/{alert['token']}")
    assert page.status_code == 200 and "Vous êtes désabonné" in page.get_data(as_text=True)
    assert connection.scalar(text("SELECT unsubscribed_at IS NOT NULL FROM subscriptions"))
    reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0] + 0.001, lon=INSIDE[1],
                                             description="abc"))
    assert len(_outbox(connection, "area_new_report")) == 1
    # Changed their mind: one button restores it.
    assert client.post(f"/abonnements/desabonner/{alert['token']}/annuler").status_code == 302
    assert connection.scalar(text("SELECT unsubscribed_at IS NULL FROM subscriptions"))


def test_rfc8058_one_click_post_without_csrf(app, client, connection, territory):
    app.config["WTF_CSRF_ENABLED"] = True
    outbox.enqueue(connection, "a@example.org", "digest", {"count": 0}, "k")
    token = _outbox(connection)[0]["token"]
    response = client.post(f"/abonnements/desabonner/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert client.post("/abonnements/desabonner/unknown").status_code == 404


def test_atom_feed_of_a_quartier_has_no_free_text(client, session, territory):
    created = reports.create_report(session, NewReport(
        category="graffiti", lat=INSIDE[0], lon=INSIDE[1], description="Tag signé Dupont",
        address="chez Dupont", email="secret@example.org"))
    feed = client.get("/abonnements/flux.atom?quartier=T-CITE")
    body = feed.get_data(as_text=True)
    assert feed.status_code == 200 and feed.mimetype == "application/atom+xml"
    assert f"/incidents/{created.incident.id}</id>" in body
    assert "Graffitis, tags" in body and "Cité (test)" in body and "Nouveau" in body
    assert "Dupont" not in body and "secret@" not in body
    area = client.get("/abonnements/flux.atom", query_string={"area": json.dumps(SQUARE), "lang": "en"})
    assert area.status_code == 200 and "Graffiti, tags" in area.get_data(as_text=True)
    assert client.get("/abonnements/flux.atom?category=graffiti").status_code == 200
    assert client.get("/abonnements/flux.atom").status_code == 400
    assert client.get("/abonnements/flux.atom?quartier=NOPE").status_code == 400


def test_account_page_subscribe_and_end(login_as, connection, territory):
    client = login_as("commercant")
    response = client.post("/abonnements/", data={"kind": "category", "category": "graffiti",
                                                  "frequency": "daily", "locale": "en"})
    assert response.status_code == 201
    assert _outbox(connection) == []  # an account is confirmed at once
    page = client.get("/compte").get_data(as_text=True)
    assert "catégorie Graffitis, tags" in page and "résumé quotidien" in page
    assert "/abonnements/flux.atom?category=graffiti" in page
    sub_id = connection.scalar(text("SELECT id FROM subscriptions WHERE kind = 'category'"))
    assert client.post(f"/compte/abonnements/{sub_id}/fin").status_code == 302
    assert "Aucun abonnement." in client.get("/compte").get_data(as_text=True)


def test_agents_choose_immediate_daily_or_none(login_as, connection):
    client = login_as("agent")
    assert "Messages de ma file de travail" in client.get("/compte").get_data(as_text=True)
    assert client.post("/compte", data={"pref-frequency": "daily", "pref-locale": "en"}).status_code == 302
    row = connection.execute(text("SELECT frequency, locale, unsubscribed_at FROM subscriptions "
                                  "WHERE kind = 'queue'")).one()
    assert (row.frequency, row.locale, row.unsubscribed_at) == ("daily", "en", None)
    client.post("/compte", data={"pref-frequency": "off", "pref-locale": "fr"})
    assert connection.scalar(text("SELECT unsubscribed_at IS NOT NULL FROM subscriptions WHERE kind = 'queue'"))


def test_admin_outbox_shows_messages_without_smtp(login_as, session, connection, territory, monkeypatch, make_user):
    monkeypatch.delenv("OVA_SMTP_URL", raising=False)
    agent = make_user("agent", "agent@example.org")
    created = reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                       description="abc", email="moi@example.org", locale="en"))
    workflow.change_status(session, created.incident.id, "rejected", actor=agent, note="Pas <chez nous>")
    admin = login_as("admin")
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "OVA_SMTP_URL" in page and "report_accepted" in page and "moi@example.org" in page
    status_message = _outbox(connection, "report_status")[0]
    detail = admin.get(f"/admin/outbox/{status_message['id']}").get_data(as_text=True)
    assert f"Report no. {created.incident.id}: rejected" in detail
    assert "Reason for the rejection: Pas &lt;chez nous&gt;" in detail  # escaped in the page
    assert 'sandbox=""' in detail
    assert admin.get("/admin/outbox?status=nope").status_code == 400
    assert admin.get("/admin/outbox/999999").status_code == 404
