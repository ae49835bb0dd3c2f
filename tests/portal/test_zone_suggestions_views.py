"""Candidate zones on the zones page: urbanists only, validated parameters, one POST to a draft (audited)."""
import datetime as dt

import pytest
from sqlalchemy import text

from portal import create_app, database
from tests.norms.conftest import Fixtures, Shops

PARAMS = {"distance": 30, "min_points": 5}


@pytest.fixture
def shops(connection):
    q = Fixtures(connection).quartier("SQ1")
    street, square = Shops(connection, q).two_clusters_and_noise()
    return q, street, square


@pytest.mark.parametrize("role,status", [("citizen", 403), ("commercant", 403), ("agent", 403),
                                         ("urbaniste", 200), ("banque", 403), ("admin", 200)])
def test_suggestions_feed_and_draft_are_for_urbanists(login_as, connection, shops, role, status):
    _, street, _ = shops
    c = login_as(role)
    assert c.get("/zones/api/suggestions.geojson", query_string=PARAMS).status_code == status
    r = c.post("/zones/suggestions/brouillon", data={"seed": street[0], **PARAMS})
    assert r.status_code == (302 if status == 200 else 403)
    drafts = connection.scalar(text("SELECT count(*) FROM priority_zones WHERE source = 'suggestion'"))
    assert drafts == (1 if status == 200 else 0)


def test_anonymous_is_sent_to_login(client, shops):
    assert client.get("/zones/api/suggestions.geojson").status_code == 302
    r = client.post("/zones/suggestions/brouillon", data={"seed": shops[1][0], **PARAMS})
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_feed_lists_the_two_candidates(login_as, shops):
    _, street, square = shops
    doc = login_as("urbaniste").get("/zones/api/suggestions.geojson", query_string=PARAMS).get_json()
    assert [(f["id"], f["properties"]["establishments"]) for f in doc["features"]] == [(street[0], 10), (square[0], 7)]
    assert doc["parameters"] == PARAMS


@pytest.mark.parametrize("query, message", [({"distance": "abc"}, "distance: an integer"),
                                            ({"distance": 9}, "distance: an integer from 10 to 500"),
                                            ({"min_points": 1000}, "min_points: an integer from 3 to 500")])
def test_bad_parameters_are_refused_with_the_field_named(login_as, query, message):
    c = login_as("urbaniste")
    r = c.get("/zones/api/suggestions.geojson", query_string=query, headers={"Accept": "application/json"})
    assert r.status_code == 400 and message in r.get_json()["description"]
    page = c.get("/zones/", query_string=query)
    assert page.status_code == 200 and message in page.get_data(as_text=True)


def test_zones_page_offers_the_overlay(login_as, shops):
    page = login_as("urbaniste").get("/zones/", query_string=PARAMS).get_data(as_text=True)
    assert 'id="suggestion-map"' in page and "ova-zone-suggestions.js" in page
    assert "/zones/api/suggestions.geojson?distance=30&amp;min_points=5" in page
    assert 'name="distance"' in page and 'value="30"' in page


def test_draft_from_a_suggestion_is_audited_and_opens_in_the_editor(login_as, connection, shops):
    q, _, square = shops
    r = login_as("urbaniste").post("/zones/suggestions/brouillon", data={"seed": square[0], **PARAMS})
    zone = connection.execute(text(
        "SELECT id, code, status, quartier_id, valid_from FROM priority_zones WHERE source = 'suggestion'")).one()
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/zones/{zone.id}")
    today = dt.date.today()
    assert (zone.code, zone.status, zone.quartier_id) == (f"SUG-SQ1-{square[0]}", "draft", q)
    assert zone.valid_from > today and zone.valid_from.day == 1
    log = connection.execute(text(
        "SELECT action, after->>'source', after->>'status' FROM audit_log WHERE table_name = 'priority_zones' "
        "AND row_id = :z"), {"z": str(zone.id)}).all()
    assert [tuple(x) for x in log] == [("create", "suggestion", "draft")]


def test_draft_of_an_unknown_candidate_is_refused(login_as, connection, shops):
    c = login_as("urbaniste")
    r = c.post("/zones/suggestions/brouillon", data={"seed": shops[1][0], "distance": 30, "min_points": 50},
               follow_redirects=True)
    assert "no candidate zone contains" in r.get_data(as_text=True)
    r = c.post("/zones/suggestions/brouillon", data={"seed": shops[1][0], "distance": 5, "min_points": 5},
               follow_redirects=True)
    assert "distance" in r.get_data(as_text=True)
    assert connection.scalar(text("SELECT count(*) FROM priority_zones")) == 0


def test_draft_needs_a_csrf_token(db_url, connection, make_user, shops):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x", "SERVER_NAME": "localhost"})
    database.bind(app, connection)
    user = make_user("urbaniste")
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    r = c.post("/zones/suggestions/brouillon", data={"seed": shops[1][0], **PARAMS})
    assert r.status_code == 400
    assert connection.scalar(text("SELECT count(*) FROM priority_zones")) == 0
