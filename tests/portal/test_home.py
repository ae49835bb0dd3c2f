"""The territory map: indicators in one query, server-side class breaks, search, catalogue overlays."""
import pytest
from sqlalchemy import text

from portal.home import services
from portal.maps import class_breaks, class_colours, class_of
from tests.builders import add_establishment, add_incident, add_quartier


def test_class_breaks_are_quantiles_and_unique():
    assert class_breaks([]) == []
    assert class_breaks([0, 0, 0, 0]) == [0]
    breaks = class_breaks(list(range(1, 11)))
    assert breaks == [2, 4, 6, 8, 10]
    assert class_of(1, breaks) == 0 and class_of(10, breaks) == 4 and class_of(None, breaks) is None
    assert class_colours([0]) == ["#ffffb2"]
    assert class_colours(breaks)[0] == "#ffffb2" and class_colours(breaks)[-1] == "#bd0026"


def test_indicators_are_computed_per_quartier(session, connection):
    a = add_quartier(connection, "A", "Alpha")
    add_quartier(connection, "B", "Bêta", x0=653000)
    add_incident(connection, a, status="new")
    add_incident(connection, a, status="resolved", resolved_after_hours=5)
    add_establishment(connection, a, "Chez Test")
    rows = {r["code"]: r for r in services.quartier_indicators(session)}
    assert rows["A"]["incidents"] == 2 and rows["A"]["open_incidents"] == 1
    assert rows["A"]["incident_density"] == pytest.approx(2.0)
    assert rows["A"]["establishments"] == 1
    assert rows["B"]["incidents"] == 0 and rows["B"]["establishments"] == 0


@pytest.mark.parametrize("indicator", ["open_incidents", "incident_density", "establishments", "bogus"])
def test_home_page_and_choropleth_feed(client, connection, indicator):
    a = add_quartier(connection, "A", "Alpha")
    add_quartier(connection, "B", "Bêta", x0=653000)
    add_incident(connection, a)
    page = client.get(f"/?indicator={indicator}")
    assert page.status_code == 200
    assert "ova-legend" in page.text and "Alpha" in page.text
    assert "/api/territory.geojson?indicator=" in page.text
    feed = client.get(f"/api/territory.geojson?indicator={indicator}").get_json()
    props = {f["properties"]["code"]: f["properties"] for f in feed["features"]}
    assert props["A"]["fill"].startswith("#")
    if indicator == "open_incidents":
        assert props["A"]["value"] == 1 and props["B"]["value"] == 0
        assert props["A"]["fill"] != props["B"]["fill"]


def test_home_attributes_data_to_ville_de_paris(client, quartier):
    page = client.get("/").text
    assert "Ville de Paris (ODbL)" in page


@pytest.mark.parametrize("query, target", [("les halles-test", "/quartiers/Q1"), ("HALLES TEST", "/quartiers/Q1"),
                                           ("q1", "/quartiers/Q1")])
def test_search_goes_to_the_quartier_page(client, quartier, query, target):
    r = client.get("/quartiers/", query_string={"q": query})
    assert r.status_code == 302 and r.headers["Location"].endswith(target)


def test_search_lists_several_matches_and_escapes_the_query(client, connection):
    add_quartier(connection, "S1", "Saint-Ambroise")
    add_quartier(connection, "S2", "Saint-Merri", x0=653000)
    r = client.get("/quartiers/", query_string={"q": "saint"})
    assert r.status_code == 200 and "Saint-Ambroise" in r.text and "Saint-Merri" in r.text
    r = client.get("/quartiers/", query_string={"q": "<script>x</script>"})
    assert "<script>x</script>" not in r.text and "&lt;script&gt;" in r.text


def _add_layer(conn, slug, title, restricted=(), published=True):
    conn.execute(text("""
        INSERT INTO layers (slug, title, licence, producer_id, source_table, geometry_type, restricted_to, published)
        VALUES (:slug, :title, 'Licence Ouverte 2.0', (SELECT id FROM producers WHERE slug = 'sig'), 'incidents',
                'Point', :r, :p)
    """), {"slug": slug, "title": title, "r": list(restricted), "p": published})


@pytest.mark.parametrize("role, visible", [
    (None, {"Couche publique"}),
    ("citizen", {"Couche publique"}),
    ("urbaniste", {"Couche publique", "Couche des urbanistes"}),
    ("admin", {"Couche publique", "Couche des urbanistes"}),
])
def test_layer_control_lists_catalogue_layers_the_role_may_read(app, connection, login_as, role, visible):
    _add_layer(connection, "publique", "Couche publique")
    _add_layer(connection, "urba", "Couche des urbanistes", restricted=("urbaniste",))
    _add_layer(connection, "brouillon", "Couche non publiée", published=False)
    c = login_as(role) if role else app.test_client()
    page = c.get("/").text
    shown = {t for t in ("Couche publique", "Couche des urbanistes", "Couche non publiée") if t in page}
    assert shown == visible
    assert "/ogc/collections/publique/items?limit=1000" in page


def test_basemap_is_configurable_and_optional(db_url, connection, quartier):
    from portal import create_app, database

    tiles = "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png"
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x", "BASEMAP_URL": tiles,
                      "BASEMAP_ATTRIBUTION": "© OpenStreetMap contributors"})
    database.bind(app, connection)
    with_tiles = app.test_client().get("/quartiers/Q1").text
    database.dispose(app)
    assert tiles in with_tiles and "OpenStreetMap contributors" in with_tiles
    # No OVA_BASEMAP_URL: the portal's own street tiles, and outlines with name labels as before.
    app2 = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x", "BASEMAP_URL": ""})
    database.bind(app2, connection)
    for page in (app2.test_client().get("/").text, app2.test_client().get("/quartiers/Q1").text):
        assert "/basemap/{z}/{x}/{y}{r}.png" in page and "tile.openstreetmap" not in page and tiles not in page
        assert '"labelField": "name"' in page
    database.dispose(app2)


def test_language_switch_keeps_the_other_parameters(client, quartier):
    page = client.get("/?indicator=establishments").text
    assert 'href="/?indicator=establishments&amp;lang=en"' in page
    en = client.get("/quartiers/Q1?lang=en").text
    assert 'href="/quartiers/Q1?lang=fr"' in en and '<html lang="en">' in en
    # A query parameter named like a path parameter does not break the page.
    assert client.get("/quartiers/Q1?code=other&lang=en").status_code == 200


def test_home_shows_one_commune_at_a_time(client, connection):
    add_quartier(connection, "P1", "Parisien", commune="Paris")
    add_quartier(connection, "P2", "Parisien bis", commune="Paris", x0=653000)
    add_quartier(connection, "N1", "Nantais", commune="Nantes", x0=355000, y0=6690000)
    page = client.get("/").text  # the configured territory (Paris) first
    assert "Parisien" in page and "Nantais" not in page.split('aria-labelledby="quartiers-table-title"')[1]
    assert "commune=Nantes" in page
    nantes = client.get("/?commune=Nantes").text
    assert "Nantais" in nantes.split('aria-labelledby="quartiers-table-title"')[1]
    feed = client.get("/api/territory.geojson?commune=Nantes").get_json()
    assert [f["id"] for f in feed["features"]] == ["N1"]


def test_credit_follows_the_source_of_the_quartiers(session, connection):
    add_quartier(connection, "N1", "Nantais", commune="Nantes", x0=355000, y0=6690000)
    connection.execute(text("UPDATE quartiers SET source = 'nantes_metropole_quartiers.geojson' WHERE code = 'N1'"))
    assert services.data_credit(session, "Nantes") == "Quartiers : Nantes Métropole (ODbL)"
    assert "Ville de Paris" in services.data_credit(session, "Paris")  # none loaded: the default credit
