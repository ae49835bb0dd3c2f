"""Quartier pages: key figures, recent incidents, norms, "Qui contacter ?", light bbox feeds."""
import pytest
from sqlalchemy import text

from ova.errors import InvalidInput
from portal.quartiers import services
from tests.builders import add_establishment, add_incident, add_norm, add_quartier


def test_key_figures(session, connection, quartier):
    add_incident(connection, quartier, status="new", expected_in_hours=2, hours_ago=10)        # overdue
    add_incident(connection, quartier, status="in_progress", expected_in_hours=48, hours_ago=10)
    add_incident(connection, quartier, status="resolved", resolved_after_hours=10, expected_in_hours=48)
    add_incident(connection, quartier, status="resolved", resolved_after_hours=30, expected_in_hours=24,
                 hours_ago=40, simulated=True)                                                     # late
    add_establishment(connection, quartier, "Boulangerie")
    f = services.key_figures(session, quartier)
    assert (f["total"], f["open"], f["overdue"], f["resolved_late"], f["simulated"]) == (4, 2, 1, 1, 1)
    assert f["median_delay_hours"] == pytest.approx(20.0)
    assert f["establishments"] == 1
    assert services.incidents_by_status(session, quartier) == {"new": 1, "in_progress": 1, "resolved": 2}
    add_incident(connection, quartier, category="proprete", status="resolved", resolved_after_hours=4)
    [graffiti, proprete] = services.incidents_by_category(session, quartier)
    assert (graffiti["category"], graffiti["total"], graffiti["open"], graffiti["overdue"]) == ("graffiti", 4, 2, 1)
    assert graffiti["median_delay_hours"] == pytest.approx(20.0)
    assert (proprete["total"], proprete["open"], proprete["median_delay_hours"]) == (1, 0, pytest.approx(4.0))


def test_norms_apply_by_scope(session, connection, quartier):
    other = add_quartier(connection, "Q2", "Ailleurs", x0=655000)
    add_norm(connection, "terr", "EP2", "Graffitis enlevés sous 7 jours", delay_hours=168)
    add_norm(connection, "ici", "EP1", "Propreté sous 24 h ici", scope="quartier", quartier_id=quartier,
             categories=("proprete",), delay_hours=24)
    add_norm(connection, "labas", "EP1", "Propreté ailleurs", scope="quartier", quartier_id=other,
             categories=("proprete",))
    add_norm(connection, "zp", "EP2", "Graffitis enlevés sous 48 h en zone prioritaire", scope="priority_zones")
    codes = {n["code"] for n in services.applicable_norms(session, quartier)}
    assert codes == {"terr", "ici"}  # no priority zone in the quartier yet
    connection.execute(text("""
        INSERT INTO priority_zones (code, name, quartier_id, valid_from, status, geom)
        VALUES ('ZP1', 'Rue commerçante', :q, '2020-01-01', 'approved',
                ST_Multi(ST_MakeEnvelope(651100, 6862100, 651300, 6862300, 2154)))
    """), {"q": quartier})
    codes = {n["code"] for n in services.applicable_norms(session, quartier)}
    assert codes == {"terr", "ici", "zp"}


def test_contacts_list_every_tache_with_its_services_and_commitments(session, connection, quartier):
    add_norm(connection, "zp", "EP2", "Graffitis enlevés sous 48 h en zone prioritaire")
    champs = services.contacts(session, quartier)
    assert len(champs) == 4 and sum(len(c["taches"]) for c in champs) == 20
    ep2 = next(t for c in champs for t in c["taches"] if t["code"] == "EP2")
    assert ep2["services"][0]["email"] == "proprete@ville.example"
    assert [n["code"] for n in ep2["norms"]] == ["zp"]


def test_quartier_page_shows_figures_contacts_norms_and_recent_incidents(client, connection, quartier):
    add_norm(connection, "zp", "EP2", "Graffitis enlevés sous 48 h en zone prioritaire")
    add_incident(connection, quartier, description="Tag <b>énorme</b>", simulated=True)
    page = client.get("/quartiers/Q1")
    assert page.status_code == 200
    html = page.text
    assert "Les Halles-Test" in html and "Qui contacter ?" in html
    assert "proprete@ville.example" in html and 'href="tel:3975"' in html
    assert "Graffitis enlevés sous 48 h en zone prioritaire" in html
    assert "Tag &lt;b&gt;énorme&lt;/b&gt;" in html and "<b>énorme</b>" not in html
    assert "badge-simulated" in html
    # Large layers are fetched, never embedded.
    assert "/api/quartiers/Q1/incidents.geojson" in html and "Tag sur" not in html.split("<script>")[-1]


def test_quartier_page_in_english_formats_numbers_and_labels(client, connection, quartier):
    connection.execute(text("UPDATE quartiers SET population = 12345 WHERE id = :q"), {"q": quartier})
    fr = client.get("/quartiers/Q1").text
    en = client.get("/quartiers/Q1?lang=en").text
    assert "12\u202f345" in fr or "12\xa0345" in fr
    assert "12,345" in en
    assert "Who to contact?" in en and "Graffiti and fly-posting removal" in en


def test_unknown_quartier_is_404(client):
    assert client.get("/quartiers/nope").status_code == 404
    assert client.get("/api/quartiers/nope/incidents.geojson").status_code == 404


def test_incidents_feed_by_bbox_with_limit(client, connection, quartier):
    inside = add_incident(connection, quartier, x=651100, y=6862100, hours_ago=1)
    add_incident(connection, quartier, x=651900, y=6862900, hours_ago=2)
    add_incident(connection, quartier, x=651150, y=6862150, hours_ago=3)
    all_ = client.get("/api/quartiers/Q1/incidents.geojson").get_json()
    assert len(all_["features"]) == 3 and all_["truncated"] is False
    assert all_["features"][0]["properties"]["category_label"] == "Graffitis, tags"
    # bbox around the south-west corner only (WGS 84)
    row = connection.execute(text("""
        SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Transform(
            ST_MakeEnvelope(651000, 6862000, 651400, 6862400, 2154), 4326) AS b) s""")).one()
    bbox = ",".join(f"{v:.6f}" for v in row)
    some = client.get(f"/api/quartiers/Q1/incidents.geojson?bbox={bbox}").get_json()
    assert len(some["features"]) == 2
    one = client.get(f"/api/quartiers/Q1/incidents.geojson?bbox={bbox}&limit=1").get_json()
    assert [f["id"] for f in one["features"]] == [inside] and one["truncated"] is True


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "3,2,1,4", "0,0,0,0"])
def test_bad_bbox_is_rejected(client, quartier, bbox):
    r = client.get(f"/api/quartiers/Q1/incidents.geojson?bbox={bbox}")
    assert r.status_code == 400 and r.get_json()["code"] == "InvalidParameterValue"


def test_limit_is_capped():
    assert services.parse_limit(None) == services.FEED_LIMIT
    assert services.parse_limit("999999") == services.FEED_MAX_LIMIT
    with pytest.raises(InvalidInput, match="positive"):
        services.parse_limit("0")


def test_establishments_and_outline_feeds(client, connection, quartier):
    add_establishment(connection, quartier, "Café <i>du</i> coin")
    est = client.get("/api/quartiers/Q1/establishments.geojson").get_json()
    assert est["features"][0]["properties"]["name"] == "Café <i>du</i> coin"
    out = client.get("/api/quartiers/Q1/outline.geojson").get_json()
    assert out["features"][0]["properties"]["name"] == "Les Halles-Test"
    assert client.get("/api/quartiers/Q1/zones.geojson").get_json()["features"] == []


def generate_incidents(conn, quartier_id: int, n: int) -> None:
    """Insert ``n`` incidents spread over the 1 km test square, in one set-based statement (moderated)."""
    conn.execute(text("""
        INSERT INTO incidents (source, external_id, category, description, address, reported_at, resolved_at,
                               expected_at, times_simulated, status, quartier_id, geom)
        SELECT 'bulk', g::text,
               (ARRAY['graffiti','proprete','eclairage','voirie','depot-sauvage','encombrants'])[1 + g % 6],
               'Signalement généré n° ' || g || repeat(' texte', 20), g || ' rue du Volume',
               now() - make_interval(mins => g),
               CASE WHEN g % 3 = 0 THEN now() - make_interval(mins => g) + interval '20 hours' END,
               now() - make_interval(mins => g) + interval '48 hours', g % 2 = 0,
               (ARRAY['new','acknowledged','in_progress','resolved'])[1 + g % 4], :q,
               ST_SetSRID(ST_MakePoint(651000 + (g::bigint * 7919) % 1000, 6862000 + (g::bigint * 104729) % 1000), 2154)
        FROM generate_series(1, :n) g
    """), {"q": quartier_id, "n": n})
    conn.execute(text("UPDATE incidents SET public_description = description, description_state = 'published' "
                      "WHERE source = 'bulk'"))


def test_quartier_page_stays_light_with_50000_incidents(client, connection, quartier):
    generate_incidents(connection, quartier, 50_000)
    page = client.get("/quartiers/Q1")
    assert page.status_code == 200
    assert "50\u202f000" in page.text or "50\xa0000" in page.text  # the total, formatted for fr
    assert len(page.data) < 300_000, f"quartier page is {len(page.data)} bytes"
    assert page.text.count("Signalement généré") == services.RECENT_LIMIT
    feed = client.get("/api/quartiers/Q1/incidents.geojson").get_json()
    assert len(feed["features"]) == services.FEED_LIMIT and feed["truncated"] is True
    home = client.get("/")
    assert len(home.data) < 300_000


def test_contacts_respect_competence_areas(session, connection, quartier):
    other = add_quartier(connection, "Q2", "Ailleurs", x0=655000)
    # The street-lighting service only covers the square of Q2.
    connection.execute(text("""
        UPDATE producers SET competence_area = ST_Multi(ST_MakeEnvelope(655000, 6862000, 656000, 6863000, 2154))
        WHERE slug = 'eclairage'
    """))

    def ps1(qid):
        return next(t for c in services.contacts(session, qid) for t in c["taches"] if t["code"] == "PS1")

    assert ps1(quartier)["services"] == []
    assert [s["name"] for s in ps1(other)["services"]] == ["Service de l'éclairage public"]


def test_incidents_can_be_filtered_by_category(client, connection, quartier):
    add_incident(connection, quartier, category="graffiti")
    add_incident(connection, quartier, category="proprete")
    feed = client.get("/api/quartiers/Q1/incidents.geojson?category=proprete").get_json()
    assert [f["properties"]["category"] for f in feed["features"]] == ["proprete"]
    assert client.get("/api/quartiers/Q1/incidents.geojson?category=nope").status_code == 400
    page = client.get("/quartiers/Q1?category=proprete").text
    assert "/api/quartiers/Q1/incidents.geojson?lang=fr&category=proprete" in page.replace("\\u0026", "&")
    assert '<option value="proprete" selected>' in page
