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


# --- framing: every map opens on what it shows, one commune at a time ---------------------------

def _bounds(row) -> list[list[float]] | None:
    return None if row is None or row[0] is None else [[row[1], row[0]], [row[3], row[2]]]


_EXTENT_SQL = ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform("
               "ST_SetSRID(ST_Extent({geom})::geometry, min(ST_SRID({geom}))), 4326) AS e FROM {source}) s")


def main_commune(session: Session, asked: str | None = None, default: str | None = None) -> str | None:
    """The commune a map opens on: ``asked`` if it has quartiers, else ``default`` (the configured
    territory), else the one with most quartiers; None without quartiers."""
    communes = list(session.scalars(text(
        "SELECT commune_name FROM quartiers WHERE commune_name IS NOT NULL "
        "GROUP BY commune_name ORDER BY count(*) DESC, commune_name")))
    return next((c for c in (asked, default) if c and c in communes), communes[0] if communes else None)


def commune_extent(session: Session, commune: str | None) -> list[list[float]] | None:
    """[[south, west], [north, east]] (WGS 84) of the quartiers of ``commune`` (all when None)."""
    source = "quartiers WHERE CAST(:commune AS text) IS NULL OR commune_name = :commune"
    return _bounds(session.execute(text(_EXTENT_SQL.format(geom="geom", source=source)),
                                   {"commune": commune}).first())


def zones_extent(session: Session, commune: str | None) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the priority zones of ``commune``, else of its quartiers."""
    source = ("priority_zones z JOIN quartiers q ON q.id = z.quartier_id "
              "WHERE CAST(:commune AS text) IS NULL OR q.commune_name = :commune")
    found = _bounds(session.execute(text(_EXTENT_SQL.format(geom="z.geom", source=source)),
                                    {"commune": commune}).first())
    return found or commune_extent(session, commune)
