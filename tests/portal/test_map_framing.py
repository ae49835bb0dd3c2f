"""Every map opens framed on what it shows, never on Paris and Nantes together (350 km apart)."""
import json
import re

import pytest
from sqlalchemy import text

from etl.targets import load
from portal.maps import points_bounds
from tests.builders import GEODATA


@pytest.fixture
def territory(connection):
    """Paris and Nantes quartiers, and the demo zones (in Paris)."""
    load(connection, "quartiers", GEODATA / "paris" / "paris_quartiers_administratifs.geojson", preset="paris-quartiers")
    load(connection, "quartiers", GEODATA / "nantes" / "nantes_metropole_quartiers.geojson", preset="nantes-quartiers")
    load(connection, "zones", GEODATA / "demo" / "zones_commerciales_demo.geojson")


def _fit_bounds(page: str) -> list[list[float]]:
    """The bounds of the Folium map's fitBounds call."""
    found = re.search(r"\.fitBounds\(\s*(\[\[[^\]]+\],\s*\[[^\]]+\]\])", page)
    assert found, "the map is not framed"
    return json.loads(found.group(1))


def _in_paris(bounds) -> bool:
    (south, west), (north, east) = bounds
    return 48.80 <= south < north <= 48.91 and 2.22 <= west < east <= 2.48


@pytest.mark.parametrize("url", ["/incidents/new", "/indicateurs", "/"])
def test_territory_maps_open_on_one_commune(client, territory, url):
    assert _in_paris(_fit_bounds(client.get(url).text))


def test_a_commune_can_be_asked_for(client, territory):
    (south, west), (north, east) = _fit_bounds(client.get("/incidents/new?commune=Nantes").text)
    assert 47.1 < south < north < 47.35 and -1.7 < west < east < -1.4


def test_quartier_page_opens_on_the_quartier(client, territory):
    (south, west), (north, east) = _fit_bounds(client.get("/quartiers/7510102").text)  # Halles
    assert north - south < 0.02 and east - west < 0.03


def test_work_queue_opens_on_its_incidents(login_as, connection, territory):
    connection.execute(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, status, producer_id, geom) "
        "SELECT 'framing', n::text, 'graffiti', now() - interval '1 day', 'new', "
        "(SELECT id FROM producers WHERE slug = 'proprete'), "
        "ST_Transform(ST_SetSRID(ST_MakePoint(2.35 + n * 0.001, 48.86), 4326), 2154) FROM generate_series(1, 5) n"))
    (south, west), (north, east) = _fit_bounds(login_as("agent").get("/incidents/queue").text)
    assert 48.85 < south < 48.86 < north < 48.87 and 2.348 < west < 2.352 and 2.354 < east < 2.358


def test_zone_maps_open_on_the_communes_zones(login_as, territory):
    client = login_as("urbaniste")
    for url in ("/zones/", "/zones/nouvelle"):
        page = client.get(url).text
        bounds = json.loads(re.search(r"data-bounds='([^']+)'", page).group(1))
        # The demo zones lie in the 18e–20e arrondissements.
        assert _in_paris(bounds) and bounds[0][0] > 48.86, url


def test_points_bounds_keeps_the_busier_city():
    paris = [(48.86, 2.35), (48.87, 2.36), (48.85, 2.34)]
    (south, west), (north, east) = points_bounds(paris + [(47.21, -1.55)])
    assert south > 48.84 and west > 2.33 and north < 48.88 and east < 2.37
    assert points_bounds([]) is None
