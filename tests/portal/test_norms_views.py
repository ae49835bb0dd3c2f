"""Dashboard /normes: matrix, drill-down map feed, producer view, grid audit, norm editing, publications."""
import datetime as dt

import pytest
from sqlalchemy import text

from norms.engine import compute_all
from norms.publication import publish_month
from tests.norms.conftest import Fixtures

UTC = dt.timezone.utc


@pytest.fixture
def data(connection):
    fx = Fixtures(connection)
    q = fx.quartier("Q-NORD")
    connection.execute(text("UPDATE quartiers SET name = 'Nord <b>' WHERE id = :q"), {"q": q})
    proprete = connection.scalar(text("SELECT id FROM producers WHERE slug = 'proprete'"))
    n = fx.norm("g48", hours=48, min_sample=1, producer_id=proprete)
    fx.norm("eclairage-x", hours=120, categories=["eclairage"], tache="PS1", min_sample=10)
    t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
    fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q, simulated=True)
    late = fx.incident(t0, t0 + dt.timedelta(hours=100), quartier_id=q, simulated=True)
    fx.incident(t0, t0 + dt.timedelta(hours=1), category="eclairage", quartier_id=q)
    compute_all(connection, as_of=dt.datetime(2024, 4, 1, tzinfo=UTC))
    return {"q": q, "norm": n, "late": late, "producer": proprete, "fx": fx}


def test_dashboard_matrix_states_status_in_words(client, data):
    page = client.get("/normes/?month=2024-03").get_data(as_text=True)
    assert "Nord &lt;b&gt;" in page                       # escaped
    assert "Non atteinte" in page and "50 %" in page and "(1/2)" in page
    assert "Données insuffisantes" in page                # the lighting norm, 1 case < 10
    assert "délais simulés" in page


def test_bad_month_is_a_400(client, data):
    assert client.get("/normes/?month=2024-99").status_code == 400


def test_quartier_drill_down_and_failing_feed(client, data):
    page = client.get(f"/normes/quartier/{data['q']}?month=2024-03")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "rate-chart" in body and "echecs.geojson" in body and "chart.umd.js" in body
    feed = client.get(f"/normes/api/echecs.geojson?norm={data['norm']}&quartier={data['q']}&month=2024-03").get_json()
    assert [f["id"] for f in feed["features"]] == [data["late"]]
    props = feed["features"][0]["properties"]
    assert props["state"] == "résolu en retard" and props["simulated"] == "oui (simulé)"
    assert props["delay_hours"] == 100
    outline = client.get(f"/normes/api/quartier/{data['q']}.geojson").get_json()
    assert outline["features"][0]["properties"]["kind"] == "quartier"


def test_producer_view_for_agents_shows_their_service_only(login_as, data):
    agent = login_as("agent")    # an agent of propreté (see tests/conftest.py)
    body = agent.get("/normes/service?month=2024-03").get_data(as_text=True)
    assert "g48" in body and "eclairage-x" not in body


@pytest.mark.parametrize("role,status", [("citizen", 403), ("commercant", 403), ("agent", 200),
                                         ("urbaniste", 200), ("banque", 403), ("admin", 200)])
def test_producer_view_roles(login_as, data, role, status):
    assert login_as(role).get("/normes/service").status_code == status


def test_norm_editing_is_for_urbanists(client, login_as, data):
    url = f"/normes/normes-qualite/{data['norm']}"
    assert client.get(url).status_code == 302                     # anonymous → login
    assert login_as("citizen").post(url, data={}).status_code == 403
    urbanist = login_as("urbaniste")
    form = {"label_fr": "Graffitis 36 h", "label_en": "Graffiti 36 h", "metric": "response_delay",
            "scope": "territory", "quartier_id": "", "zone_code": "", "category_codes": "graffiti",
            "delay_value": "36", "delay_unit": "hours", "activity_kind": "", "events_required": "", "period": "",
            "target_rate": "0.8", "min_sample": "", "valid_from": "2020-01-01", "valid_to": ""}
    assert urbanist.post(url, data=form).status_code == 302
    row = urbanist.application.extensions["ova_bind"].execute(
        text("SELECT label_fr, delay_value, target_rate FROM norms WHERE id = :n"), {"n": data["norm"]}).one()
    assert (row.label_fr, row.delay_value, float(row.target_rate)) == ("Graffitis 36 h", 36, 0.8)
    bad = urbanist.post(url, data={**form, "category_codes": ""})
    assert "categories" in bad.get_data(as_text=True)


def test_grid_and_yearly_audit(client, login_as, connection, data):
    page = client.get(f"/normes/grille?quartier={data['q']}&year=2024").get_data(as_text=True)
    assert "Entretien – Propreté" in page and "EP2" in page and "Direction de la propreté" in page
    assert login_as("commercant").post(f"/normes/grille/{data['q']}/2024", data={}).status_code == 403
    urbanist = login_as("urbaniste")
    r = urbanist.post(f"/normes/grille/{data['q']}/2024",
                      data={"tache_code": "EP2", "clear_commitment": "non", "comment": "pas d'engagement"})
    assert r.status_code == 302
    row = connection.execute(text("SELECT clear_commitment, comment FROM tache_audits WHERE year = 2024")).one()
    assert row == (False, "pas d'engagement")
    page = client.get(f"/normes/grille?quartier={data['q']}&year=2024").get_data(as_text=True)
    assert "NON" in page and "pas d&#39;engagement" in page


def test_publications_page(client, connection, data):
    publish_month(connection, dt.date(2024, 3, 1))
    body = client.get("/normes/publications").get_data(as_text=True)
    assert "2024-03" in body and "conformite-2024-03-v1" in body and "non (échéance 2024-04-05)" in body


def test_activity_and_delivery_entry(login_as, connection, data):
    connection.execute(text("INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, activity_kind, "
                            "events_required, period, target_rate, valid_from) VALUES ('sweep', 'EP1', 'Balayage', "
                            "'Sweeping', 'frequency', 'territory', 'balayage', 1, 'month', 1, '2020-01-01')"))
    guide = connection.scalar(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, target_rate, valid_from) VALUES "
        "('guide', 'IG1', 'Guide', 'Guide', 'document', 'territory', 1, '2020-01-01') RETURNING id"))
    assert login_as("citizen").get("/normes/activites").status_code == 403
    agent = login_as("agent")
    assert agent.get("/normes/activites").status_code == 200
    r = agent.post("/normes/activites", data={"a-kind": "balayage", "a-quartier_id": str(data["q"]),
                                              "a-occurred_at": "2024-03-05T07:30", "a-note": "rue <x>"})
    assert r.status_code == 302
    row = connection.execute(text("SELECT occurred_at, producer_id FROM activities WHERE kind = 'balayage'")).one()
    assert row.occurred_at == dt.datetime(2024, 3, 5, 6, 30, tzinfo=UTC) and row.producer_id == data["producer"]
    sweep = connection.execute(text("SELECT status FROM compliance_results r JOIN norms n ON n.id = r.norm_id "
                                    "WHERE n.code = 'sweep' AND r.month = '2024-03-01'")).scalar()
    assert sweep == "met"
    r = agent.post("/normes/activites", data={"d-norm_id": str(guide), "d-quartier_id": "",
                                              "d-delivered_on": "2024-03-10", "d-note": ""})
    assert r.status_code == 302
    status = connection.execute(text("SELECT status FROM compliance_results WHERE norm_id = :n AND month = '2024-03-01'"),
                                {"n": guide}).scalar()
    assert status == "met"
    assert "rue &lt;x&gt;" in agent.get("/normes/activites").get_data(as_text=True)


def test_dashboard_opens_on_the_largest_commune_and_filters_by_commune(client, connection, data):
    fx = data["fx"]
    for code, commune in (("Q-A1", "Alpha"), ("Q-A2", "Alpha"), ("Q-B1", "Beta")):
        q = fx.quartier(code, x0=660000 + 2000 * len(code + commune), y0=6860000)
        connection.execute(text("UPDATE quartiers SET commune_name = :c WHERE id = :q"), {"c": commune, "q": q})
        t0 = dt.datetime(2024, 3, 5, 10, tzinfo=UTC)
        fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q)
    compute_all(connection, as_of=dt.datetime(2024, 4, 1, tzinfo=UTC))

    def shown(url):
        page = client.get(url).get_data(as_text=True)
        return {code for code in ("Q-A1", "Q-A2", "Q-B1", "Nord &lt;b&gt;") if f">{code}</a>" in page}

    assert shown("/normes/?month=2024-03") == {"Q-A1", "Q-A2"}            # Alpha has most quartiers
    assert shown("/normes/?month=2024-03&commune=Beta") == {"Q-B1"}
    assert shown("/normes/?month=2024-03&commune=") == {"Q-A1", "Q-A2", "Q-B1", "Nord &lt;b&gt;"}
    assert shown("/normes/?month=2024-03&commune=Nowhere") == {"Q-A1", "Q-A2"}
    page = client.get("/normes/?month=2024-03").get_data(as_text=True)
    assert '<option value="Beta"' in page and '<option value=""' in page
