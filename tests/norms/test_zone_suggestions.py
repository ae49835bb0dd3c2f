"""Candidate zones from the density of establishments: two clusters and noise give exactly two candidates."""
import datetime as dt
import json

import pytest
from sqlalchemy import text

from norms.zone_suggestions import Parameters, candidates_geojson, create_draft_from_candidate
from ova.errors import InvalidInput, NotFound
from tests.norms.conftest import Shops

PARAMS = Parameters(distance=30, min_points=5)


@pytest.fixture
def shops(connection, fx):
    """Quartier Q1 (1 km²): a retail street of 10 shops, a food square of 6, and everything that must not count."""
    q = fx.quartier("Q1")
    street, square = Shops(connection, q).two_clusters_and_noise()
    return q, street, square


def _candidates(connection, params=PARAMS):
    return json.loads(candidates_geojson(connection, params))["features"]


def test_two_clusters_and_noise_give_exactly_two_candidates(connection, shops):
    q, street, square = shops
    features = _candidates(connection)
    got = [(f["id"], f["properties"]["establishments"], f["properties"]["addresses"], f["properties"]["retail"],
            f["properties"]["food"]) for f in features]
    # Densest first; the food square has its 6 kebabs plus the retail shop standing among them.
    assert got == [(street[0], 10, 10, 10, 0), (square[0], 7, 7, 1, 6)]
    first = features[0]
    assert first["properties"]["quartier_code"] == "Q1" and first["geometry"]["type"] == "MultiPolygon"
    assert first["properties"]["examples"] == ["Épicerie <b>fine</b>"] * 5
    # The hull covers the 30 × 20 m grid plus 15 m around it, and stays inside the quartier.
    hull = connection.execute(text(
        "SELECT ST_Area(g) AS area, ST_Covers(q.geom, g) AS inside, "
        "(SELECT bool_and(ST_Covers(g, e.geom)) FROM establishments e WHERE e.id = ANY (:ids)) AS all_in "
        "FROM (SELECT ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326), 2154) AS g) s, quartiers q "
        "WHERE q.id = :q"), {"g": json.dumps(first["geometry"]), "ids": street, "q": q}).one()
    assert hull.all_in and hull.inside and 30 * 20 < hull.area < 70 * 60


def test_stricter_parameters_leave_only_the_street(connection, shops):
    assert [f["properties"]["establishments"] for f in _candidates(connection, Parameters(30, 8))] == [10]
    assert _candidates(connection, Parameters(10, 20)) == []


@pytest.mark.parametrize("kwargs, field", [({"distance": 5}, "distance"), ({"distance": 501}, "distance"),
                                           ({"min_points": 2}, "min_points"), ({"min_points": "8"}, "min_points"),
                                           ({"distance": True}, "distance")])
def test_parameters_are_validated(kwargs, field):
    with pytest.raises(InvalidInput, match=f"^{field}: an integer"):
        Parameters(**kwargs)


def test_a_candidate_becomes_a_draft_zone_version(connection, shops):
    q, street, square = shops
    zone_id = create_draft_from_candidate(connection, square[0], PARAMS, valid_from=dt.date(2030, 1, 1))
    zone = connection.execute(text(
        "SELECT code, name, status, source, quartier_id, valid_from, "
        "(SELECT count(*) FROM establishments e WHERE ST_Covers(z.geom, e.geom) AND e.naf_code = '56.10C') AS kebabs "
        "FROM priority_zones z WHERE id = :z"), {"z": zone_id}).mappings().one()
    assert dict(zone) == {"code": f"SUG-Q1-{square[0]}", "name": "Pôle commercial Q1 (7 établissements)",
                          "status": "draft", "source": "suggestion", "quartier_id": q,
                          "valid_from": dt.date(2030, 1, 1), "kebabs": 6}
    with pytest.raises(NotFound, match="no candidate zone contains"):
        create_draft_from_candidate(connection, square[0], Parameters(30, 8), valid_from=dt.date(2030, 1, 1))
