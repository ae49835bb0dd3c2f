"""Priority-zone versions (no Flask): drafts from drawn or uploaded GeoJSON, approval, re-assignment.

Versions of one zone share its ``code``. A draft can be redrawn freely; approving it closes the
version in force (its ``valid_to`` becomes the new ``valid_from``), places again the incidents
reported since the new version's first day, refreshes their deadlines and recomputes only their
quartier-months. Incidents reported before keep the version valid on their day, and a version
cannot start inside an already published (frozen) month, so past compliance is never rewritten.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ova import dataversion
from ova.errors import Conflict, InvalidInput, NotFound
from ova.settings import storage_srid, timezone_name

LOGGER = logging.getLogger(__name__)

#: Largest accepted GeoJSON text (characters), drawn or uploaded.
MAX_GEOJSON_CHARS = 2_000_000


def parse_geometry(raw: str | bytes) -> str:
    """Return the (multi)polygon geometry of a GeoJSON text (Feature, FeatureCollection or geometry) as JSON."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInput("the file is not UTF-8 GeoJSON") from err
    if len(raw) > MAX_GEOJSON_CHARS:
        raise InvalidInput("the GeoJSON is too large")
    try:
        doc = json.loads(raw)
    except ValueError as err:
        raise InvalidInput(f"invalid GeoJSON: {err}") from err
    except RecursionError as err:  # e.g. "[[[[…" nested deeper than any geometry
        raise InvalidInput("invalid GeoJSON: nested too deeply") from err
    if not isinstance(doc, dict):
        raise InvalidInput("invalid GeoJSON: expected an object")
    if doc.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in doc.get("features") or [] if isinstance(f, dict)]
    elif doc.get("type") == "Feature":
        geoms = [doc.get("geometry")]
    else:
        geoms = [doc]
    polygons = []
    for g in geoms:
        if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
            raise InvalidInput("a priority zone must be made of polygons")
        polygons += [g["coordinates"]] if g["type"] == "Polygon" else list(g["coordinates"])
    if not polygons:
        raise InvalidInput("no polygon in the GeoJSON")
    for polygon in polygons:
        _check_polygon(polygon)
    return json.dumps({"type": "MultiPolygon", "coordinates": polygons})


def _check_polygon(polygon) -> None:
    """Rings of WGS 84 positions: finite numbers, longitude within ±180 and latitude within ±90."""
    if not isinstance(polygon, list) or not polygon:
        raise InvalidInput("invalid GeoJSON: a polygon is a list of rings")
    for ring in polygon:
        if not isinstance(ring, list) or len(ring) < 4:
            raise InvalidInput("invalid GeoJSON: a ring has at least 4 positions")
        for position in ring:
            if not isinstance(position, list) or len(position) not in (2, 3) or not all(
                    isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and math.isfinite(v)
                    for v in position):
                raise InvalidInput(f"invalid GeoJSON position {str(position)[:60]}: expected [longitude, latitude]")
            lon, lat = position[0], position[1]
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise InvalidInput(f"coordinates out of range ({str(lon)[:20]}, {str(lat)[:20]}): "
                                   "the GeoJSON must be in WGS 84 longitude/latitude")


def _geom_sql() -> str:
    return f"ST_Multi(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(:geojson), 4326), {storage_srid()}))"


def _check_geometry(conn: Connection, geojson: str) -> None:
    ok, reason = conn.execute(text(f"SELECT ST_IsValid(g), ST_IsValidReason(g) FROM (SELECT {_geom_sql()} AS g) s"),
                              {"geojson": geojson}).one()
    if not ok:
        raise InvalidInput(f"invalid polygon: {reason}")


def create_draft(conn: Connection, *, code: str, name: str, valid_from: dt.date, geojson: str,
                 source: str = "portal") -> int:
    """Create a draft version of zone ``code``; its quartier is the one containing most of it."""
    code = code.strip()
    if not code or len(code) > 64:
        raise InvalidInput("code: 1 to 64 characters")
    _check_geometry(conn, geojson)
    if conn.scalar(text("SELECT count(*) FROM priority_zones WHERE code = :c AND valid_from = :vf"),
                   {"c": code, "vf": valid_from}):
        raise Conflict(f"zone {code} already has a version starting on {valid_from}")
    zone_id = conn.scalar(text(
        f"WITH g AS (SELECT {_geom_sql()} AS geom) "
        "INSERT INTO priority_zones (code, name, quartier_id, valid_from, status, source, geom) "
        "SELECT :code, :name, (SELECT q.id FROM quartiers q WHERE ST_Intersects(q.geom, g.geom) "
        "  ORDER BY ST_Area(ST_Intersection(q.geom, g.geom)) DESC LIMIT 1), :vf, 'draft', :source, g.geom "
        "FROM g RETURNING id"),
        {"code": code, "name": name.strip() or code, "vf": valid_from, "source": source, "geojson": geojson})
    dataversion.touch(conn, "priority_zones")
    return zone_id


def get_version(conn: Connection, zone_id: int) -> dict:
    row = conn.execute(text(
        "SELECT id, code, name, quartier_id, valid_from, valid_to, status, source, "
        "ST_AsGeoJSON(ST_Transform(geom, 4326), 7) AS geojson FROM priority_zones WHERE id = :id"),
        {"id": zone_id}).mappings().first()
    if row is None:
        raise NotFound(f"zone version {zone_id} not found")
    return dict(row)


def update_draft(conn: Connection, zone_id: int, *, name: str | None = None, valid_from: dt.date | None = None,
                 geojson: str | None = None) -> None:
    """Redraw or rename a draft; approved versions are never edited (make a new version)."""
    zone = get_version(conn, zone_id)
    if zone["status"] != "draft":
        raise Conflict("an approved version cannot be edited: create a new version")
    if geojson is not None:
        _check_geometry(conn, geojson)
        conn.execute(text(f"UPDATE priority_zones SET geom = {_geom_sql()} WHERE id = :id"),
                     {"geojson": geojson, "id": zone_id})
    conn.execute(text("UPDATE priority_zones SET name = coalesce(:n, name), valid_from = coalesce(:vf, valid_from) "
                      "WHERE id = :id"), {"n": name, "vf": valid_from, "id": zone_id})
    dataversion.touch(conn, "priority_zones")


def new_version(conn: Connection, zone_id: int, valid_from: dt.date) -> int:
    """Copy a version's polygon into a new draft of the same zone starting on ``valid_from``."""
    zone = get_version(conn, zone_id)
    return create_draft(conn, code=zone["code"], name=zone["name"], valid_from=valid_from,
                        geojson=zone["geojson"], source="portal")


def approve(conn: Connection, zone_id: int) -> dict:
    """Approve a draft: close the version in force, re-place affected incidents, recompute their months."""
    from ova.assignment import assign_points
    from norms.deadlines import refresh_deadlines
    from norms.engine import keys_of_incidents, recompute

    zone = get_version(conn, zone_id)
    if zone["status"] != "draft":
        raise Conflict("this version is already approved")
    frozen = conn.scalar(text("SELECT max(month) FROM compliance_publications"))
    if frozen is not None and zone["valid_from"] < (frozen.replace(day=28) + dt.timedelta(days=4)).replace(day=1):
        raise Conflict(f"{frozen:%Y-%m} is published: a new version must start after that month")
    later = conn.scalar(text(
        "SELECT min(valid_from) FROM priority_zones WHERE code = :c AND status = 'approved' AND valid_from >= :vf"),
        {"c": zone["code"], "vf": zone["valid_from"]})
    if later is not None:
        raise Conflict(f"an approved version of {zone['code']} already starts on {later}")
    closed = conn.execute(text(
        "UPDATE priority_zones SET valid_to = :vf WHERE code = :c AND status = 'approved' AND id <> :id "
        "AND valid_from < :vf AND (valid_to IS NULL OR valid_to > :vf)"),
        {"c": zone["code"], "vf": zone["valid_from"], "id": zone_id}).rowcount
    conn.execute(text("UPDATE priority_zones SET status = 'approved' WHERE id = :id"), {"id": zone_id})
    ids = list(conn.scalars(text(
        "SELECT id FROM incidents WHERE reported_at >= (CAST(:vf AS date)::timestamp AT TIME ZONE CAST(:tz AS text))"),
        {"vf": zone["valid_from"], "tz": timezone_name()}))
    placed = {"changed": 0}
    if ids:
        old_keys = keys_of_incidents(conn, ids)
        placed = assign_points(conn, "incidents", ids)
        refresh_deadlines(conn, ids)
        recompute(conn, incident_ids=ids, keys=old_keys)
    dataversion.touch(conn, "priority_zones")
    if placed["changed"]:
        dataversion.touch(conn, "incidents")
    LOGGER.info("zone %s version %s approved: %s closed, %s incidents re-placed",
                zone["code"], zone_id, closed, placed["changed"])
    return {"closed": closed, "incidents": len(ids), "changed": placed["changed"]}


def versions(conn: Connection) -> list[dict]:
    """Every zone version, grouped by code in order of validity."""
    rows = conn.execute(text(
        "SELECT z.id, z.code, z.name, z.valid_from, z.valid_to, z.status, z.source, q.name AS quartier_name, "
        "round((ST_Area(z.geom) / 10000)::numeric, 2) AS area_ha "
        "FROM priority_zones z LEFT JOIN quartiers q ON q.id = z.quartier_id ORDER BY z.code, z.valid_from"))
    return [dict(r) for r in rows.mappings()]


def versions_geojson(conn: Connection, zone_id: int | None = None) -> str:
    """Zone versions (all, or one) as a WGS 84 FeatureCollection."""
    return conn.execute(text(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object("
        "'type', 'Feature', 'id', id, 'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), 6)::json, "
        "'properties', json_build_object('id', id, 'code', code, 'name', name, 'status', status, "
        "'valid_from', valid_from, 'valid_to', valid_to)) ORDER BY code, valid_from), '[]'::json))::text "
        "FROM priority_zones WHERE CAST(:id AS integer) IS NULL OR id = :id"), {"id": zone_id}).scalar_one()
