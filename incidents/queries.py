"""Reading incidents (no Flask): public detail, duplicates nearby, a service's work queue, lists."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from incidents.fields import parse_point
from ova.errors import NotFound
from ova.i18n import gettext as _
from ova.models import OPEN_STATUSES, ChampAction, IncidentCategory, Producer, TacheStandard
from ova.settings import storage_srid

DUPLICATE_RADIUS_M = 50


def is_overdue(status: str, expected_at: dt.datetime | None, resolved_at: dt.datetime | None,
               now: dt.datetime | None = None) -> bool:
    """Open past its deadline, or resolved after it."""
    if expected_at is None or status == "rejected":
        return False
    if status == "resolved":
        return resolved_at is not None and resolved_at > expected_at
    return (now or dt.datetime.now(dt.timezone.utc)) > expected_at


def find_duplicates(session: Session, category: str, lat, lon, *, radius_m: float = DUPLICATE_RADIUS_M,
                    limit: int = 5) -> list[dict]:
    """Open incidents of the same category within ``radius_m`` metres of the point, nearest first."""
    lat, lon = parse_point(lat, lon)
    rows = session.execute(text(
        "WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), CAST(:srid AS integer)) AS g) "
        "SELECT i.id, i.status, i.reported_at, left(i.description, 140) AS description, "
        "round(ST_Distance(i.geom, p.g)::numeric, 0)::int AS distance_m "
        "FROM public_incidents i, p WHERE i.category = :cat AND i.status = ANY (:open) "
        "AND ST_DWithin(i.geom, p.g, :r) ORDER BY ST_Distance(i.geom, p.g), i.id LIMIT :limit"),
        {"lat": lat, "lon": lon, "srid": storage_srid(), "cat": category, "open": list(OPEN_STATUSES), "r": radius_m,
         "limit": limit}).mappings().all()
    return [dict(r, reported_at=r["reported_at"].isoformat()) for r in rows]


def incident_detail(session: Session, incident_id: int) -> dict:
    """Public view of an incident: no personal data (no email, no reporter, no author names).

    Read from ``public_incidents``: ``description`` is the moderated text (None while pending or
    hidden, ``description_state`` says which); the photo and comment only once moderated.
    """
    row = session.execute(text(
        "SELECT i.id, i.status, i.category, c.label_fr AS category_fr, c.label_en AS category_en, "
        "i.description, i.description_state, i.address, i.reported_at, i.acknowledged_at, i.resolved_at, i.updated_at, "
        "i.expected_at, i.times_simulated, i.source, p.name AS producer, p.email AS producer_email, "
        "p.phone AS producer_phone, q.name AS quartier, z.name AS zone, n.label_fr AS norm_fr, "
        "n.label_en AS norm_en, n.delay_value, n.delay_unit, ST_Y(ST_Transform(i.geom, 4326)) AS lat, "
        "ST_X(ST_Transform(i.geom, 4326)) AS lon, "
        "CASE WHEN r.photo_state = 'published' THEN r.photo_path END AS photo_path, "
        "r.photo_path IS NOT NULL AND r.photo_state = 'pending' AS photo_pending, r.confirmation, "
        "r.public_comment AS confirmation_comment, r.confirmation_comment IS NOT NULL "
        "AND r.public_comment IS NULL AS comment_pending, r.confirmed_at "
        "FROM public_incidents i JOIN incident_categories c ON c.code = i.category "
        "LEFT JOIN producers p ON p.id = i.producer_id LEFT JOIN quartiers q ON q.id = i.quartier_id "
        "LEFT JOIN priority_zones z ON z.id = i.zone_id LEFT JOIN norms n ON n.id = i.norm_id "
        "LEFT JOIN incident_reports r ON r.incident_id = i.id WHERE i.id = :id"),
        {"id": incident_id}).mappings().first()
    if row is None:
        raise NotFound(_("pas de signalement n° %(id)s", id=incident_id))
    detail = dict(row)
    detail["overdue"] = is_overdue(row["status"], row["expected_at"], row["resolved_at"])
    detail["events"] = [dict(e) for e in session.execute(text(
        "SELECT e.at, e.from_status, e.to_status, e.note, u.role AS author_role, p.name AS author_service "
        "FROM incident_events e LEFT JOIN users u ON u.id = e.author_id "
        "LEFT JOIN producers p ON p.id = u.producer_id "
        "WHERE e.incident_id = :id ORDER BY e.at, e.id"), {"id": incident_id}).mappings()]
    # Holds are public (the clock stop explains a deadline); who put them is the service, not a name.
    detail["holds"] = [dict(h) for h in session.execute(text(
        "SELECT h.started_at, h.ended_at, h.reason, p.name AS author_service FROM incident_holds h "
        "LEFT JOIN users u ON u.id = h.author_id LEFT JOIN producers p ON p.id = u.producer_id "
        "WHERE h.incident_id = :id ORDER BY h.started_at, h.id"), {"id": incident_id}).mappings()]
    detail["on_hold"] = any(h["ended_at"] is None for h in detail["holds"])
    return detail


def work_queue(session: Session, producer_id: int | None, *, limit: int = 500) -> list[dict]:
    """Open incidents of a service (all when None) and disputed resolutions, earliest deadline first."""
    rows = session.execute(text(
        "SELECT i.id, i.status, i.category, c.label_fr AS category_fr, c.label_en AS category_en, "
        "left(i.description, 200) AS description, i.address, i.reported_at, i.expected_at, "
        "i.resolved_at, q.name AS quartier, i.status = ANY (:open) AND i.expected_at < now() AS overdue, "
        "r.confirmation = 'disputed' AS disputed, "
        "ST_Y(ST_Transform(i.geom, 4326)) AS lat, ST_X(ST_Transform(i.geom, 4326)) AS lon "
        "FROM incidents i JOIN incident_categories c ON c.code = i.category "
        "LEFT JOIN quartiers q ON q.id = i.quartier_id LEFT JOIN incident_reports r ON r.incident_id = i.id "
        "WHERE (i.status = ANY (:open) OR (i.status = 'resolved' AND r.confirmation = 'disputed')) "
        "AND (CAST(:p AS integer) IS NULL OR i.producer_id = :p) "
        "ORDER BY i.expected_at NULLS LAST, i.reported_at, i.id LIMIT :limit"),
        {"open": list(OPEN_STATUSES), "p": producer_id, "limit": limit}).mappings().all()
    return [dict(r, overdue=bool(r["overdue"]), disputed=bool(r["disputed"])) for r in rows]


def work_queue_geojson(session: Session, producer_id: int | None) -> dict:
    """The work queue as a GeoJSON FeatureCollection (WGS 84) for the agent's map."""
    features = []
    for r in work_queue(session, producer_id):
        props = {k: v for k, v in r.items() if k not in ("lat", "lon")}
        for key in ("reported_at", "expected_at", "resolved_at"):
            props[key] = props[key].isoformat() if props[key] else None
        props["overdue_label"] = "oui" if r["overdue"] else "non"
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


def categories(session: Session) -> list[IncidentCategory]:
    """Incident categories in taxonomy order."""
    return list(session.scalars(
        select(IncidentCategory).join(TacheStandard, TacheStandard.code == IncidentCategory.tache_code)
        .join(ChampAction, ChampAction.code == TacheStandard.champ_code)
        .order_by(ChampAction.position, TacheStandard.position, IncidentCategory.label_fr)))


def producer_name(session: Session, producer_id: int | None) -> str | None:
    """Name of a producer, or None."""
    return session.scalar(select(Producer.name).where(Producer.id == producer_id)) if producer_id else None
