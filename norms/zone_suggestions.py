"""Candidate priority zones from the density of commercial establishments (no Flask).

Set-based in PostGIS: the active commercial establishments (retail and food NAF codes, placed at
their address) of each quartier are clustered with ``ST_ClusterDBSCAN`` on their Lambert-93
points (``distance`` metres, at least ``min_points`` establishments); each cluster becomes a
concave hull buffered by half the distance and clipped to its quartier, with its counts. A
candidate is named by its *seed*, the smallest establishment id of the cluster, so that the
urbanist's click can be recomputed on the server and turned into a draft zone version. A cluster
whose establishments all share one address is not a candidate.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from norms import zones
from ova.errors import InvalidInput, NotFound

#: NAF codes of active commerce (LIKE patterns): retail trade (47), food and drink service (56),
#: and the food crafts that keep a shop (bakeries, pastry, butcher-delicatessen).
COMMERCE_NAF = ("47%", "56%", "10.71C", "10.71D", "10.13B")
RETAIL_NAF = "47%"
FOOD_NAF = "56%"


@dataclass(frozen=True)
class Parameters:
    """DBSCAN parameters, validated: ``distance`` in metres, ``min_points`` establishments."""

    distance: int = 50
    min_points: int = 8

    DISTANCE_RANGE = (10, 500)
    MIN_POINTS_RANGE = (3, 500)

    def __post_init__(self):
        for field, (low, high) in (("distance", self.DISTANCE_RANGE), ("min_points", self.MIN_POINTS_RANGE)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"{field}: an integer from {low} to {high} (got {value!r})")


_CANDIDATES = """
    WITH pts AS (
        SELECT e.id, e.name, e.naf_code, e.quartier_id, e.zone_id, e.geom
        FROM establishments e
        WHERE e.geom IS NOT NULL AND e.quartier_id IS NOT NULL AND e.geo_precision = 'address'
          AND (e.closed_on IS NULL OR e.closed_on > current_date)
          AND e.naf_code LIKE ANY (CAST(:naf AS text[]))
          AND (CAST(:quartier_id AS integer) IS NULL OR e.quartier_id = :quartier_id)
    ),
    clustered AS (
        SELECT p.*, ST_ClusterDBSCAN(p.geom, eps => :distance, minpoints => :min_points)
                        OVER (PARTITION BY p.quartier_id) AS cluster
        FROM pts p
    ),
    clusters AS (
        SELECT c.quartier_id, min(c.id) AS seed, count(*) AS establishments,
               count(*) FILTER (WHERE c.naf_code LIKE :retail) AS retail,
               count(*) FILTER (WHERE c.naf_code LIKE :food) AS food,
               count(*) FILTER (WHERE c.zone_id IS NOT NULL) AS in_zone,
               count(DISTINCT ST_AsBinary(c.geom)) AS addresses,
               (array_agg(c.name ORDER BY c.name) FILTER (WHERE c.name IS NOT NULL))[1:5] AS examples,
               bool_or(c.id = CAST(:contains AS bigint)) AS has_wanted,
               ST_Buffer(ST_ConcaveHull(ST_Collect(c.geom), 0.8), :distance / 2.0) AS hull
        FROM clustered c
        WHERE c.cluster IS NOT NULL
        GROUP BY c.quartier_id, c.cluster
        -- Establishments stacked on one address (a mall, a dark kitchen, a domiciliation office)
        -- make a building, not a zone.
        HAVING count(DISTINCT ST_AsBinary(c.geom)) > 1
    )
    SELECT k.seed, k.establishments, k.retail, k.food, k.in_zone, k.addresses, k.examples, k.has_wanted,
           q.id AS quartier_id, q.code AS quartier_code, q.name AS quartier_name, s.geom,
           round((ST_Area(s.geom) / 10000)::numeric, 2) AS area_ha
    FROM clusters k
    JOIN quartiers q ON q.id = k.quartier_id
    CROSS JOIN LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_Intersection(k.hull, q.geom), 3)) AS geom) s
    WHERE NOT ST_IsEmpty(s.geom)
"""

_PROPS = ("seed", "establishments", "addresses", "retail", "food", "in_zone", "examples", "quartier_id", "quartier_code",
          "quartier_name", "area_ha")


def _params(params: Parameters, quartier_id: int | None = None, contains: int | None = None) -> dict:
    return {"naf": list(COMMERCE_NAF), "retail": RETAIL_NAF, "food": FOOD_NAF, "distance": params.distance,
            "min_points": params.min_points, "quartier_id": quartier_id, "contains": contains}


def candidates_geojson(conn: Connection, params: Parameters) -> str:
    """Every candidate zone as a WGS 84 FeatureCollection, densest first (properties: counts, ha, names)."""
    props = ", ".join(f"'{p}', c.{p}" for p in _PROPS)
    return conn.execute(text(
        f"SELECT json_build_object('type', 'FeatureCollection', 'parameters', "
        f"json_build_object('distance', CAST(:distance AS integer), 'min_points', CAST(:min_points AS integer)), "
        f"'features', coalesce(json_agg(json_build_object('type', 'Feature', 'id', c.seed, "
        f"'geometry', ST_AsGeoJSON(ST_Transform(c.geom, 4326), 6)::json, "
        f"'properties', json_build_object({props}, 'density_per_ha', "
        f"round(c.establishments / nullif(c.area_ha, 0), 1))) "
        f"ORDER BY c.establishments DESC, c.seed), '[]'::json))::text "
        f"FROM ({_CANDIDATES}) c"), _params(params)).scalar_one()


def create_draft_from_candidate(conn: Connection, seed: int, params: Parameters, *,
                                valid_from: dt.date) -> int:
    """Recompute the candidate containing establishment ``seed`` and save it as a draft zone version."""
    quartier_id = conn.scalar(text("SELECT quartier_id FROM establishments WHERE id = :id"), {"id": seed})
    if quartier_id is None:
        raise NotFound(f"establishment {seed} is not placed in a quartier")
    row = conn.execute(text(
        f"SELECT c.seed, c.establishments, c.quartier_code, c.quartier_name, "
        f"ST_AsGeoJSON(ST_Transform(c.geom, 4326), 7) AS geojson FROM ({_CANDIDATES}) c WHERE c.has_wanted"),
        _params(params, quartier_id, seed)).mappings().first()
    if row is None:
        raise NotFound(f"no candidate zone contains establishment {seed} with these parameters")
    return zones.create_draft(
        conn, code=f"SUG-{row['quartier_code']}-{row['seed']}"[:64],
        name=f"Pôle commercial {row['quartier_name']} ({row['establishments']} établissements)"[:200],
        valid_from=valid_from, geojson=row["geojson"], source="suggestion")
