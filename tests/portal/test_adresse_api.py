"""/api/adresse/: the BAN API's routes, parameters and answers, on the shipped Paris addresses."""
import pytest


@pytest.fixture
def api(app, ban, client):
    app.config["ADDRESS_INDEX_RECHECK_SECONDS"] = 0
    return client


def test_search_answers_like_the_ban_api(api):
    resp = api.get("/api/adresse/search/?q=8+bd+de+s%C3%A9bastopol&limit=2")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = resp.get_json()
    assert (body["type"], body["limit"], body["attribution"], body["licence"]) == ("FeatureCollection", 2, "BAN",
                                                                                   "ETALAB-2.0")
    assert len(body["features"]) == 2
    feature = body["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    props = feature["properties"]
    assert {"label", "score", "housenumber", "street", "postcode", "citycode", "city", "type", "id", "name",
            "x", "y", "context"} <= set(props)
    assert props["label"] == "8 Boulevard de Sébastopol 75004 Paris" and props["type"] == "housenumber"


def test_search_filters_and_position(api):
    body = api.get("/api/adresse/search/?q=rue+de+rivoli&citycode=75104&type=street").get_json()
    assert {f["properties"]["citycode"] for f in body["features"]} == {"75104"}
    assert body["filters"] == {"citycode": "75104", "type": "street"}
    near = api.get("/api/adresse/search/?q=rue+de+rivoli&lat=48.8566&lon=2.3540&limit=1").get_json()
    assert near["features"][0]["properties"]["citycode"] == "75104" and near["center"] == [2.354, 48.8566]


def test_reverse_answers_like_the_ban_api(api):
    body = api.get("/api/adresse/reverse/?lon=2.348766&lat=48.859081").get_json()
    props = body["features"][0]["properties"]
    assert (props["label"], props["distance"], props["type"]) == ("8 Boulevard de Sébastopol 75004 Paris", 0,
                                                                  "housenumber")
    assert len(api.get("/api/adresse/reverse/?lon=2.348766&lat=48.859081&limit=4").get_json()["features"]) == 4


@pytest.mark.parametrize("url,message", [
    ("/api/adresse/search/", "at least 3 characters"),
    ("/api/adresse/search/?q=ab", "at least 3 characters"),
    ("/api/adresse/search/?q=rue+de+rivoli&limit=abc", "limit must be a positive integer"),
    ("/api/adresse/search/?q=rue+de+rivoli&limit=500", "limit must be between"),
    ("/api/adresse/search/?q=rue+de+rivoli&lat=48.8", "lat and lon go together"),
    ("/api/adresse/search/?q=rue+de+rivoli&lat=nan&lon=2", "lat must be between"),
    ("/api/adresse/search/?q=rue+de+rivoli&citycode=75%27%3B", "citycode must be a 5-character code"),
    ("/api/adresse/search/?q=rue+de+rivoli&type=city", "type must be one of"),
    ("/api/adresse/reverse/?lon=2.3", "lon and lat are required"),
    ("/api/adresse/reverse/?lon=2.3&lat=91", "lat must be between"),
])
def test_bad_parameters_are_400_with_a_message(api, url, message):
    resp = api.get(url)
    assert resp.status_code == 400
    assert message in resp.get_json()["description"]


def test_html_in_the_query_comes_back_as_json_text(api):
    body = api.get("/api/adresse/search/?q=%3Cscript%3Ealert(1)%3C/script%3E").get_json()
    assert body["query"] == "<script>alert(1)</script>"  # JSON text; nothing here interprets it
    assert all(f["properties"]["score"] < 0.6 for f in body["features"])  # nothing like an address


def test_the_address_api_counts_against_the_api_rate_limit(api, app):
    app.config["API_REQUESTS_PER_MINUTE"] = 2
    codes = [api.get("/api/adresse/reverse/?lon=2.348766&lat=48.859081").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
