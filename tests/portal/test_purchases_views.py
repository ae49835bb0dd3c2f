"""Planned purchases in the portal: pages, buyer-scoped editing (audited), feeds, alerts, diagnostic
(rolled-back test database; the purchases are inserted here, not loaded)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import text

from tests.builders import add_quartier, add_user

NANTES = "21440109300015"      # the city (buyer of the test agents' service)
METROPOLE = "24440040400129"   # another buyer of the territory
ATOM = "{http://www.w3.org/2005/Atom}"


def _purchase(conn, buyer=NANTES, external_id="P1", **values):
    row = {"object": "Réfection de la cour de l'école", "cpv_code": "45233140", "amount": 120000,
           "place_commune": "44109", "status": "planned", "buyer_name": "Ville de Nantes", **values}
    return conn.scalar(text(
        "INSERT INTO planned_purchases (source, external_id, buyer_siret, buyer_name, object, cpv_code, amount, "
        "place_commune, status, expected_quarter) VALUES ('test', :e, :b, :bn, :o, :cpv, :a, :pc, :st, '2025-T3') "
        "RETURNING id"),
        {"e": external_id, "b": buyer, "bn": row["buyer_name"], "o": row["object"], "cpv": row["cpv_code"],
         "a": row["amount"], "pc": row["place_commune"], "st": row["status"]})


@pytest.fixture
def buyer_agent(app, session, producer, connection):
    """A client logged in as an agent of the cleaning service, which buys for the Ville de Nantes."""
    connection.execute(text("UPDATE producers SET buyer_siret = :b WHERE id = :p"), {"b": NANTES, "p": producer.id})
    user = add_user(session, "agent", email="acheteur@example.org", producer_id=producer.id)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    return client, user


FORM = {"buyer_siret": NANTES, "object": "Nettoyage des vitres des écoles", "cpv_code": "90911300",
        "amount_min": "40 000", "amount_max": "60 000,50", "expected_quarter": "T4 2025", "place_commune": "44109",
        "status": "planned", "lots": "2", "contact": "achats@nantes.example"}


def test_public_pages_list_by_sector_and_place(client, connection):
    first = _purchase(connection)
    _purchase(connection, buyer=METROPOLE, external_id="P2", object="Collecte des déchets <verts>", cpv_code="90500000",
              amount=900000, buyer_name="Nantes Métropole")
    page = client.get("/achats/a-venir")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Travaux de construction" in html and "Assainissement, déchets, nettoyage, environnement" in html
    assert "Collecte des déchets &lt;verts&gt;" in html        # escaped
    only_city = client.get(f"/achats/a-venir?acheteur={NANTES}").get_data(as_text=True)
    assert "Réfection de la cour" in only_city and "Collecte des déchets" not in only_city
    by_amount = client.get("/achats/a-venir?min=500000").get_data(as_text=True)
    assert "Réfection de la cour" not in by_amount and "Collecte des déchets" in by_amount
    one = client.get(f"/achats/a-venir/{first}")
    assert one.status_code == 200 and "120 000 €" in one.get_data(as_text=True)
    assert client.get("/achats/a-venir/999999").status_code == 404
    assert client.get("/achats/a-venir?division=4").status_code == 400


def test_the_buyers_agent_enters_a_purchase_audited_and_placed(buyer_agent, connection):
    client, user = buyer_agent
    add_quartier(connection, "NQ1", "Quartier nantais", x0=355000, y0=6689000)
    connection.execute(text("UPDATE quartiers SET commune_insee = '44109' WHERE code = 'NQ1'"))
    response = client.post("/achats/a-venir/nouveau", data=FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    row = connection.execute(text("SELECT * FROM planned_purchases WHERE source = 'portail'")).mappings().one()
    assert (str(row["amount_min"]), str(row["amount_max"]), row["expected_quarter"], str(row["expected_on"])) == (
        "40000.00", "60000.50", "2025-T4", "2025-10-01")
    assert row["place_basis"] == "commune" and row["geom"] is not None     # the commune's quartiers
    entry = connection.execute(text("SELECT actor_id, action FROM audit_log WHERE table_name = 'planned_purchases' "
                                    "AND row_id = :id"), {"id": str(row["id"])}).one()
    assert tuple(entry) == (user.id, "create")
    published = {**FORM, "status": "published", "notice_url": "https://marches.example/avis/1"}
    assert client.post(f"/achats/a-venir/{row['id']}/modifier", data=published).status_code == 302
    assert connection.scalar(text("SELECT status FROM planned_purchases WHERE id = :id"), {"id": row["id"]}) == "published"
    assert connection.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'planned_purchases'")) == 2


def test_an_agent_edits_only_the_purchases_of_its_buyer(buyer_agent, connection):
    client, _user = buyer_agent
    other = _purchase(connection, buyer=METROPOLE, external_id="M1", buyer_name="Nantes Métropole")
    assert client.get(f"/achats/a-venir/{other}/modifier").status_code == 403
    assert client.post(f"/achats/a-venir/{other}/modifier", data={**FORM, "buyer_siret": METROPOLE}).status_code == 403
    # nor create one for another buyer
    assert client.post("/achats/a-venir/nouveau", data={**FORM, "buyer_siret": METROPOLE}).status_code == 403
    # nor move one of its own to another buyer
    own = _purchase(connection, external_id="N1")
    assert client.post(f"/achats/a-venir/{own}/modifier", data={**FORM, "buyer_siret": METROPOLE}).status_code == 403
    assert connection.scalar(text("SELECT buyer_siret FROM planned_purchases WHERE id = :id"), {"id": own}) == NANTES
    assert connection.scalar(text("SELECT count(*) FROM planned_purchases WHERE source = 'portail'")) == 0


def test_agents_of_a_service_without_buyer_and_other_roles_cannot_edit(login_as, connection):
    own = _purchase(connection)
    agent = login_as("agent")              # the cleaning service has no buyer SIRET here
    assert "rattaché à aucun acheteur" in agent.get("/achats/a-venir/nouveau").get_data(as_text=True)
    assert agent.get(f"/achats/a-venir/{own}/modifier").status_code == 403
    assert agent.post("/achats/a-venir/nouveau", data=FORM).status_code == 403
    for role in ("citizen", "commercant", "urbaniste", "banque"):
        assert login_as(role).post("/achats/a-venir/nouveau", data=FORM).status_code == 403


def test_admins_edit_any_buyer(login_as, connection):
    admin = login_as("admin")
    assert admin.post("/achats/a-venir/nouveau", data={**FORM, "buyer_siret": METROPOLE}).status_code == 302


@pytest.mark.parametrize("change,message", [
    ({"cpv_code": "4523"}, "code CPV"),
    ({"amount_min": "50 000", "amount_max": "10 000"}, "fourchette"),
    ({"expected_quarter": "2025-T9"}, "trimestre illisible"),
    ({"status": "published"}, "lien de son avis"),
    ({"status": "awarded"}, "identifiant de son marché"),
    ({"status": "awarded", "decp_id": "NOPE"}, "aucun marché DECP"),
    ({"place_commune": "4410"}, "code INSEE"),
])
def test_bad_values_are_refused_with_the_field(buyer_agent, change, message):
    client, _user = buyer_agent
    response = client.post("/achats/a-venir/nouveau", data={**FORM, **change})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_an_awarded_purchase_links_to_its_decp_record(buyer_agent, connection):
    client, _user = buyer_agent
    connection.execute(text(
        "INSERT INTO public_contracts (decp_id, buyer_siret, buyer_name, object, cpv_code, amount, supplier_id, source) "
        "VALUES ('N-2025-7', :b, 'Ville de Nantes', 'Nettoyage des vitres des écoles', '90911300', 52000, "
        "'11111111100011', 'test')"), {"b": NANTES})
    own = _purchase(connection, external_id="V1", object="Nettoyage des vitres des écoles", cpv_code="90911300")
    page = client.get(f"/achats/a-venir/{own}").get_data(as_text=True)
    assert "N-2025-7" in page                                  # proposed as a candidate to its buyer's agents
    awarded = {**FORM, "status": "awarded", "decp_id": "N-2025-7"}
    assert client.post(f"/achats/a-venir/{own}/modifier", data=awarded).status_code == 302
    assert "N-2025-7 — Nettoyage des vitres" in client.get(f"/achats/a-venir/{own}").get_data(as_text=True)


def _feed(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    return ET.fromstring(response.get_data())


def test_atom_feeds_per_sector_and_per_commune(client, connection):
    _purchase(connection)
    _purchase(connection, external_id="P2", object="Collecte <verte>", cpv_code="90500000", place_commune="44143")
    sector = _feed(client, "/achats/a-venir/secteur/45.atom")
    assert [e.find(f"{ATOM}title").text for e in sector.iter(f"{ATOM}entry")] == ["Réfection de la cour de l'école (prévu)"]
    assert "Travaux de construction" in sector.find(f"{ATOM}title").text
    commune = _feed(client, "/achats/a-venir/commune/44143.atom")
    titles = [e.find(f"{ATOM}title").text for e in commune.iter(f"{ATOM}entry")]
    assert titles == ["Collecte <verte> (prévu)"]             # XML-escaped in the document, parsed back
    assert client.get("/achats/a-venir/secteur/4x.atom").status_code == 400
    assert client.get("/achats/a-venir/commune/ABCDE.atom").status_code == 400


def test_firms_alerts_double_opt_in_then_a_message_per_change(client, buyer_agent, connection):
    response = client.post("/achats/a-venir/alertes", data={"email": "PME@example.org", "divisions": ["90"],
                                                             "communes": "44109", "locale": "fr"})
    assert response.status_code == 201
    confirmations = connection.execute(text(
        "SELECT template, recipient FROM outbox ORDER BY id")).all()
    assert [tuple(c) for c in confirmations] == [("subscription_confirm", "pme@example.org")] * 2
    tokens = connection.scalars(text("SELECT token FROM subscriptions WHERE email = 'pme@example.org'")).all()
    agent, _user = buyer_agent
    agent.post("/achats/a-venir/nouveau", data=FORM)
    assert connection.scalar(text("SELECT count(*) FROM outbox WHERE template = 'purchase_changed'")) == 0  # unconfirmed
    for token in tokens:
        assert client.get(f"/abonnements/confirmer/{token}").status_code == 200
    purchase_id = connection.scalar(text("SELECT id FROM planned_purchases WHERE source = 'portail'"))
    agent.post(f"/achats/a-venir/{purchase_id}/modifier", data={**FORM, "amount_max": "70 000"})
    message = connection.execute(text(
        "SELECT recipient, context FROM outbox WHERE template = 'purchase_changed'")).one()   # one per address
    assert message.recipient == "pme@example.org"
    assert message.context["object"] == FORM["object"] and message.context["new"] is False


def test_diagnostic_page_shows_join_rate_chart_and_strategic_flag(client, connection):
    from indicators.procurement import load_commune_epci

    load_commune_epci(connection)
    _purchase(connection, cpv_code="45233140")
    page = client.get("/achats/diagnostic?commune=44109")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="diagnostic-chart"' in html and "Taux de jointure avec SIRENE" in html
    assert "45 – Travaux de construction" in html
    assert client.get("/api/achats/diagnostic.geojson?commune=44109").status_code == 200


def test_catalogue_layer_serves_the_planned_purchases(client, connection):
    from layers.catalogue import seed_layers

    seed_layers(connection)
    add_quartier(connection, "NQ1", "Quartier nantais", x0=355000, y0=6689000)
    connection.execute(text("UPDATE quartiers SET commune_insee = '44109' WHERE code = 'NQ1'"))
    purchase = _purchase(connection)
    from indicators.purchases import place_geometries

    assert place_geometries(connection) == 1
    items = client.get("/ogc/collections/achats-a-venir/items").get_json()
    feature, = items["features"]
    assert feature["properties"]["object"] == "Réfection de la cour de l'école" and feature["id"] == purchase
    assert feature["geometry"]["type"] == "MultiPolygon"
    csv = client.get("/catalogue/achats-a-venir/download.csv")
    assert csv.status_code == 200 and "Réfection de la cour" in csv.get_data(as_text=True)
    geojson = client.get("/catalogue/achats-a-venir/download.geojson")
    assert geojson.status_code == 200 and geojson.get_json()["features"][0]["properties"]["cpv_code"] == "45233140"
    assert client.get("/catalogue/achats-a-venir").status_code == 200


def test_cli_ties_a_service_to_its_buyer(runner, connection):
    result = runner.invoke(args=["purchases", "set-buyer", "voirie", NANTES])
    assert result.exit_code == 0, result.output
    assert connection.scalar(text("SELECT buyer_siret FROM producers WHERE slug = 'voirie'")) == NANTES
    assert connection.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'producers'")) == 1
    bad = runner.invoke(args=["purchases", "set-buyer", "voirie", "123"])
    assert bad.exit_code != 0 and "invalid SIRET" in bad.output
    from ova.seed import seed_producers

    seed_producers(connection)                 # reseeding keeps it
    assert connection.scalar(text("SELECT buyer_siret FROM producers WHERE slug = 'voirie'")) == NANTES


def test_pages_in_english(client, connection):
    _purchase(connection)
    html = client.get("/achats/a-venir?lang=en").get_data(as_text=True)
    assert "Upcoming public purchases" in html and "By sector" in html
    assert "Be told of upcoming public purchases" in client.get("/achats/a-venir/alertes?lang=en").get_data(as_text=True)


def test_cli_matches_awarded_purchases_with_the_decp(runner, connection):
    connection.execute(text(
        "INSERT INTO public_contracts (decp_id, buyer_siret, object, cpv_code, amount, supplier_id, source) VALUES "
        "('N-9', :b, 'Réfection de la cour de l''école', '45233140-2', 110000, 'X', 'test'), "
        "('N-10', :b, 'Peinture des couloirs de la mairie', '45442100', 20000, 'Y', 'test')"), {"b": NANTES})
    own = _purchase(connection)
    other = _purchase(connection, external_id="P2", object="Achat de vélos", cpv_code="34430000")
    listed = runner.invoke(args=["purchases", "match"])
    assert listed.exit_code == 0 and "N-9" in listed.output and "N-10" not in listed.output
    assert connection.scalar(text("SELECT status FROM planned_purchases WHERE id = :id"), {"id": own}) == "planned"
    applied = runner.invoke(args=["purchases", "match", "--apply"])
    assert "1 purchase(s) marked awarded" in applied.output
    rows = dict(connection.execute(text("SELECT id, decp_id FROM planned_purchases")).all())
    assert rows == {own: "N-9", other: None}
    assert connection.scalar(text("SELECT action FROM audit_log WHERE table_name = 'planned_purchases'")) == "update"


def test_feeds_of_one_buyer_and_account_page_lists_alerts(client, login_as, connection):
    _purchase(connection)
    _purchase(connection, buyer=METROPOLE, external_id="M1", object="Voirie métropolitaine", buyer_name="Nantes Métropole")
    both = _feed(client, "/achats/a-venir/secteur/45.atom")
    assert len(list(both.iter(f"{ATOM}entry"))) == 2
    one = _feed(client, f"/achats/a-venir/secteur/45.atom?acheteur={METROPOLE}")
    assert [e.find(f"{ATOM}title").text for e in one.iter(f"{ATOM}entry")] == ["Voirie métropolitaine (prévu)"]
    firm = login_as("commercant")
    assert firm.post("/achats/a-venir/alertes", data={"divisions": ["45"], "locale": "fr"}).status_code == 201
    account = firm.get("/compte").get_data(as_text=True)
    assert "achats à venir de la division CPV 45" in account and "/achats/a-venir/secteur/45.atom" in account


def test_saving_unchanged_values_logs_and_alerts_nothing(buyer_agent, connection):
    client, _user = buyer_agent
    client.post("/achats/a-venir/nouveau", data=FORM)
    purchase_id = connection.scalar(text("SELECT id FROM planned_purchases WHERE source = 'portail'"))
    stamp = connection.scalar(text("SELECT updated_at FROM planned_purchases WHERE id = :id"), {"id": purchase_id})
    assert client.post(f"/achats/a-venir/{purchase_id}/modifier", data=FORM).status_code == 302
    assert connection.scalar(text("SELECT updated_at FROM planned_purchases WHERE id = :id"), {"id": purchase_id}) == stamp
    assert connection.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'planned_purchases'")) == 1


def test_a_notice_link_that_is_not_http_is_not_a_link(client, connection):
    purchase = _purchase(connection)
    connection.execute(text("UPDATE planned_purchases SET notice_url = 'javascript:alert(1)' WHERE id = :id"),
                       {"id": purchase})
    html = client.get(f"/achats/a-venir/{purchase}").get_data(as_text=True)
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html


def test_a_refused_form_keeps_the_drawn_area_escaped(buyer_agent):
    client, _user = buyer_agent
    drawn = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"x": "</script><b>"}, '
             '"geometry": {"type": "Polygon", "coordinates": [[[5.3, 43.2], [5.31, 43.2], [5.31, 43.21], [5.3, 43.2]]]}}]}')
    response = client.post("/achats/a-venir/nouveau", data={**FORM, "geometry": drawn})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "en dehors des quartiers" in html
    assert "</script><b>" not in html and "\\u003c/script>" in html


def test_redrawing_the_place_is_a_change(buyer_agent, connection, territory):
    client, _user = buyer_agent
    square = ('{"type": "Polygon", "coordinates": [[[2.345, 48.85], [2.355, 48.85], [2.355, 48.856], [2.345, 48.856], '
              '[2.345, 48.85]]]}')
    assert client.post("/achats/a-venir/nouveau", data={**FORM, "geometry": square}).status_code == 302
    purchase_id = connection.scalar(text("SELECT id FROM planned_purchases WHERE source = 'portail'"))
    assert client.post(f"/achats/a-venir/{purchase_id}/modifier", data={**FORM, "geometry": square}).status_code == 302
    assert connection.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'planned_purchases'")) == 1
    smaller = square.replace("2.355", "2.350")
    assert client.post(f"/achats/a-venir/{purchase_id}/modifier", data={**FORM, "geometry": smaller}).status_code == 302
    assert connection.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'planned_purchases'")) == 2
    basis = connection.scalar(text("SELECT place_basis FROM planned_purchases WHERE id = :id"), {"id": purchase_id})
    assert basis == "drawn"
