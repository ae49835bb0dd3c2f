"""Quartier outlines as GeoJSON, generated in PostGIS."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# Simplification tolerance in metres (Lambert-93): invisible at city scale, 5-10x lighter.
SIMPLIFY_M = 2.0

_QUARTIERS_SQL = text(
    """
    SELECT json_build_object(
        'type', 'FeatureCollection',
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'id', q.code,
            'geometry', ST_AsGeoJSON(ST_Transform(ST_Multi(ST_SimplifyPreserveTopology(q.geom, :tol)), 4326), 6)::json,
            'properties', json_build_object(
                'code', q.code, 'name', q.name, 'commune', q.commune_name,
                'area_km2', round((ST_Area(q.geom) / 1e6)::numeric, 3),
                'incidents', (SELECT count(*) FROM incidents i WHERE i.quartier_id = q.id)
            )
        ) ORDER BY q.code), '[]'::json)
    )::text
    FROM quartiers q
    """
)


def quartiers_geojson(session: Session) -> str:
    """Return every quartier as a WGS 84 FeatureCollection (text), simplified for display."""
    return session.execute(_QUARTIERS_SQL, {"tol": SIMPLIFY_M}).scalar_one()


def quartier_extent(session: Session) -> list[list[float]] | None:
    """Return [[south, west], [north, east]] of all quartiers in WGS 84, or None when empty."""
    row = session.execute(
        text(
            "SELECT ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e) FROM "
            "(SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, 2154), 4326) AS e FROM quartiers) s"
        )
    ).one()
    if row[0] is None:
        return None
    return [[row[0], row[1]], [row[2], row[3]]]
