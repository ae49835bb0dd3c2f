"""Requests from anywhere on Earth: a world bbox or a z0 tile is clipped to the territory's extent.

A zoomed-out map or a GIS client asks for ``bbox=-180,-90,180,90``; transforming that box into the
storage CRS (defined around its area of use only) failed with HTTP 500, and the z0 tile was empty.
"""
from __future__ import annotations

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from layers.catalogue import seed_layers
from tests.builders import add_central_quartier, add_incident

WORLD = "-180,-90,180,90"


@pytest.fixture
def world(connection):
    seed_layers(connection)
    quartier = add_central_quartier(connection, "T-WORLD", "Monde (test)")
    x, y = connection.execute(text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM quartiers "
                                   "WHERE id = :q) s"), {"q": quartier}).one()
    incident = add_incident(connection, quartier, x=x, y=y, hours_ago=1)
    return quartier, incident


@pytest.mark.parametrize("collection", ["signalements", "quartiers"])
def test_world_bbox_on_ogc_items_answers_the_features(client, world, collection):
    quartier, incident = world
    response = client.get(f"/ogc/collections/{collection}/items?bbox={WORLD}&limit=1000")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    ids = {f["id"] for f in response.get_json()["features"]}
    assert (incident if collection == "signalements" else quartier) in ids


def test_world_bbox_in_web_mercator_and_lat_first(client, world):
    _, incident = world
    m = 20037508.34
    mercator = client.get(f"/ogc/collections/signalements/items?bbox={-m},{-m},{m},{m}"
                          "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857&limit=1000")
    assert mercator.status_code == 200 and incident in {f["id"] for f in mercator.get_json()["features"]}
    latlon = client.get("/ogc/collections/signalements/items?bbox=-90,-180,90,180"
                        "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326&limit=1000")
    assert latlon.status_code == 200 and incident in {f["id"] for f in latlon.get_json()["features"]}


def test_bbox_far_from_the_territory_answers_nothing(client, world):
    response = client.get("/ogc/collections/signalements/items?bbox=-75,40,-73,41")  # New York
    assert response.status_code == 200 and response.get_json()["features"] == []


def test_world_bbox_on_the_quartier_feed(client, connection, world):
    _, incident = world
    response = client.get(f"/api/quartiers/T-WORLD/incidents.geojson?bbox={WORLD}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert [f["id"] for f in response.get_json()["features"]] == [incident]


def test_z0_tile_carries_every_quartier(client, world):
    response = client.get("/tiles/quartiers/0/0/0.pbf")
    assert response.status_code == 200
    layers = mapbox_vector_tile.decode(response.data)
    assert sum(len(layer["features"]) for layer in layers.values()) >= 1
