"""Incident reports and their workflow, without Flask.

A report is validated completely before anything is written (category, point inside the
territory, description, photo), then stored in one unit of work: the incident, its reporter
side (``incident_reports``, personal data, never published), its creation event, its quartier
and priority zone (``etl.assignment``), its responsible service (competence area, else the
category's default producer) and its deadline (``norms.deadlines``).

Every status change goes through :func:`change_status`, which checks the role and the
transition, records an ``incident_events`` row and then calls the functions registered in
:data:`STATUS_CHANGE_HOOKS` (e.g. the norms engine recomputing compliance).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from etl.assignment import assign_points
from layers import catalogue
from norms.deadlines import refresh_deadlines
from norms.engine import recompute
from ova.errors import Conflict, Forbidden, InvalidInput, NotFound, OvaError
from ova.models import (ChampAction, Incident, IncidentCategory, IncidentEvent, IncidentReport, Producer,
                        TacheStandard)
from ova import audit, ratelimit
from ova.ratelimit import RateLimited, client_hash  # noqa: F401  (the reporting API's names)
from ova.settings import STORAGE_SRID

LOGGER = logging.getLogger(__name__)

SOURCE = "portal"
OPEN_STATUSES = ("new", "acknowledged", "in_progress")
CLOSED_STATUSES = ("resolved", "rejected")
#: Allowed transitions of the workflow (from → set of to).
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged", "rejected"}),
    "acknowledged": frozenset({"in_progress", "rejected"}),
    "in_progress": frozenset({"resolved", "rejected"}),
    # Reopening (e.g. after the reporter disputed the resolution) needs a note.
    "resolved": frozenset({"in_progress"}),
    "rejected": frozenset(),
}
#: Transitions that need a note (the reason given to the public).
NOTE_REQUIRED = frozenset({"rejected"})
#: Roles allowed to handle incidents; agents only those of their own service.
HANDLER_ROLES = frozenset({"agent", "admin"})

DESCRIPTION_MAX = 4000
NOTE_MAX = 2000
EMAIL_MAX = 254
ADDRESS_MAX = 500
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_MAX_SIDE = 2048
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png"}
DUPLICATE_RADIUS_M = 50

#: Called as ``hook(conn, incident_ids)`` after every status change (a new report included), in the
#: same transaction: register the compliance recompute here.
def _recompute_compliance(conn: Connection, incident_ids: Sequence[int]) -> None:
    """Recompute the compliance of the quartier-months these incidents belong to."""
    recompute(conn, incident_ids=incident_ids)


def _invalidate_layers(conn: Connection, incident_ids: Sequence[int]) -> None:
    """Bump the data_version of the catalogue layers over ``incidents`` (tiles, downloads, ETags)."""
    catalogue.touch(conn, "incidents")


STATUS_CHANGE_HOOKS: list[Callable[[Connection, Sequence[int]], None]] = [_recompute_compliance, _invalidate_layers]


@dataclass
class NewReport:
    """What a reporter sends: a point in WGS 84, a category, a description, optional extras."""

    category: str
    lat: float | str | None
    lon: float | str | None
    description: str | None = None
    address: str | None = None
    email: str | None = None
    photo: bytes | None = None
    reporter_id: int | None = None
    client_key: str | None = None
    source: str = SOURCE
    reported_at: dt.datetime | None = None


@dataclass
class Created:
    """A stored report: the incident and the follow-up token (shown once, stored hashed)."""

    incident: Incident
    token: str
    photo_path: str | None = None
    extra: dict = field(default_factory=dict)


# --- validation ------------------------------------------------------------------------------

#: Field names as the reporter knows them (messages are French first, English in the catalogue).
_FIELD_LABELS = {"lat": _l("latitude"), "long": _l("longitude"), "description": _l("description"),
                 "address": _l("adresse"), "email": _l("adresse électronique"), "comment": _l("commentaire"),
                 "note": _l("note")}


def _label(name: str) -> str:
    return str(_FIELD_LABELS.get(name, name))


def _coordinate(value, name: str, low: float, high: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(_("%(name)s manquante : indiquez l'emplacement du problème", name=_label(name)))
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise InvalidInput(_("%(name)s : un nombre de degrés (WGS 84) est attendu, pas %(value)s",
                               name=_label(name), value=repr(str(value)[:40]))) from err
    if not (low <= number <= high) or number != number:
        raise InvalidInput(_("%(name)s %(number)s hors de l'intervalle [%(low)s, %(high)s]",
                             name=_label(name), number=number, low=low, high=high))
    return number


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_point(lat, lon) -> tuple[float, float]:
    """Return ``(lat, lon)`` as floats in WGS 84, or raise InvalidInput."""
    return _coordinate(lat, "lat", -90, 90), _coordinate(lon, "long", -180, 180)


def _point_sql(lat: float, lon: float):
    return func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), STORAGE_SRID)


def check_in_territory(session: Session, lat: float, lon: float) -> int:
    """Return the id of the quartier containing the point, or raise InvalidInput (far away)."""
    quartier_id = session.scalar(text(
        "SELECT q.id FROM quartiers q WHERE ST_Intersects(q.geom, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2154)) ORDER BY q.id LIMIT 1"),
        {"lat": lat, "lon": lon})
    if quartier_id is None:
        raise InvalidInput(_("le point (%(lat)s, %(lon)s) est en dehors des quartiers du territoire",
                             lat=f"{lat:.5f}", lon=f"{lon:.5f}"))
    return quartier_id


def check_category(session: Session, code: str | None) -> IncidentCategory:
    """Return the category ``code`` or raise InvalidInput."""
    category = session.get(IncidentCategory, code) if code else None
    if category is None:
        raise InvalidInput(_("catégorie inconnue (service_code) %(code)s", code=repr(str(code)[:64])))
    return category


def _clean_text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("%(name)s : champ obligatoire", name=_label(name)))
    if len(value) > limit:
        raise InvalidInput(_("%(name)s : trop long (%(n)s caractères, %(limit)s au plus)",
                             name=_label(name), n=len(value), limit=limit))
    # Stored as typed; escaped on output (Jinja autoescape, JSON, XML, text nodes in maps).
    return value or None


def _clean_email(value: str | None) -> str | None:
    value = _clean_text(value, "email", EMAIL_MAX)
    if value and ("@" not in value or value.startswith("@") or value.endswith("@") or " " in value):
        raise InvalidInput(_("l'adresse électronique n'est pas valide"))
    return value.lower() if value else None


def process_photo(data: bytes) -> tuple[bytes, str]:
    """Re-encode a JPEG/PNG photo without any metadata (EXIF, GPS); return (bytes, extension).

    Refuses files over 5 MB, other formats, corrupt data and decompression bombs.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > PHOTO_MAX_BYTES:
        raise InvalidInput(_("la photo est trop lourde (%(size)s Mo, 5 Mo au plus)", size=f"{len(data) / 1048576:.1f}"))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in PHOTO_FORMATS:
                raise InvalidInput(_("la photo doit être au format JPEG ou PNG, pas %(kind)s", kind=kind))
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise InvalidInput(_("la photo a trop de pixels"))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            # Apply the EXIF orientation, then drop every metadata block by copying pixels only.
            image = ImageOps.exif_transpose(image)
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            mode = "RGB" if kind == "JPEG" else ("RGBA" if "A" in image.getbands() else "RGB")
            clean = Image.new(mode, image.size)
            clean.paste(image.convert(mode))
            out = io.BytesIO()
            if kind == "JPEG":
                clean.save(out, "JPEG", quality=85, optimize=True)
            else:
                clean.save(out, "PNG", optimize=True)
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise InvalidInput(_("la photo n'est pas une image JPEG ou PNG lisible")) from err
    return out.getvalue(), PHOTO_FORMATS[kind]


def store_photo(path: Path, data: bytes) -> None:
    """Write a report's photo; a full or read-only store is a clear 503 and leaves no partial file.

    Called before the report's transaction commits, so the caller's rollback stores nothing.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as err:
        LOGGER.error("photo store %s unavailable: %s", path.parent, err)
        try:
            path.unlink(missing_ok=True)  # a partial file written before the disk filled up
        except OSError:
            LOGGER.exception("cannot remove the partial photo %s", path)
        raise OvaError(_("le stockage des photos est plein ou en lecture seule : le signalement n'a pas été "
                         "enregistré ; réessayez plus tard ou envoyez-le sans photo"), status=503) from err


def check_rate_limit(session: Session, client_key: str | None, *, limit: int, window: dt.timedelta) -> None:
    """Refuse a report when ``client_key`` already made ``limit`` reports within ``window``.

    The count is read from ``incident_reports`` (one row per stored report), so the limit holds
    across worker processes and restarts without another table or service (see ``ova.ratelimit``).
    """
    ratelimit.check(session, IncidentReport.client_hash, client_key, IncidentReport.created_at,
                    limit=limit, window=window,
                    message=_("trop de signalements depuis cette connexion : %(limit)s au plus par %(minutes)s "
                              "minutes, réessayez plus tard", limit=limit,
                              minutes=int(window.total_seconds() // 60)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- places (typed address text) -------------------------------------------------------------

PLACE_QUERY_MIN = 3

_PLACES = """
    SELECT label, kind, lat, lon, exact FROM (
        SELECT DISTINCT ON (lower(i.address)) i.address AS label, 'address' AS kind,
               ST_Y(ST_Transform(i.geom, 4326)) AS lat, ST_X(ST_Transform(i.geom, 4326)) AS lon,
               lower(i.address) = lower(:q) AS exact
        FROM incidents i
        WHERE i.address ILIKE :pattern ESCAPE '\\' AND i.quartier_id IS NOT NULL
        ORDER BY lower(i.address), i.reported_at DESC
        LIMIT 200
    ) a
    UNION ALL
    SELECT q.name || coalesce(' (' || q.commune_name || ')', ''), 'quartier',
           ST_Y(ST_Transform(ST_PointOnSurface(q.geom), 4326)), ST_X(ST_Transform(ST_PointOnSurface(q.geom), 4326)),
           lower(q.name) = lower(:q)
    FROM quartiers q WHERE q.name ILIKE :pattern ESCAPE '\\'
    ORDER BY exact DESC, kind, label
    LIMIT :limit
"""


def find_places(session: Session, query: str | None, *, limit: int = 8) -> list[dict]:
    """Places matching typed text: addresses already known from past reports, then quartiers.

    The portal ships no address database and calls no outside geocoder; this local gazetteer
    is what lets a reporter type an address instead of clicking on the map.
    """
    query = (query or "").strip()[:200]
    if len(query) < PLACE_QUERY_MIN:
        return []
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(text(_PLACES), {"q": query, "pattern": pattern, "limit": limit}).mappings()
    return [{"label": r["label"], "kind": r["kind"], "lat": round(r["lat"], 6), "lon": round(r["lon"], 6)}
            for r in rows]


def locate_address(session: Session, address: str | None) -> tuple[float, float]:
    """The point of a typed address: an exact known address, or the single match; else InvalidInput."""
    places = find_places(session, address, limit=2)
    exact = [p for p in places if p["label"].lower() == (address or "").strip().lower()]
    if exact or len(places) == 1:
        place = (exact or places)[0]
        return place["lat"], place["lon"]
    raise InvalidInput(_("adresse inconnue ou ambiguë : choisissez le point sur la carte"))


# --- routing and creation --------------------------------------------------------------------

def route(session: Session, category: IncidentCategory, lat: float, lon: float) -> int | None:
    """The responsible producer: the smallest competence area containing the point that handles
    the category's tâche (or any producer when none handles it), else the category's default."""
    producer_id = session.scalar(text(
        "SELECT p.id FROM producers p WHERE p.competence_area IS NOT NULL "
        "AND ST_Intersects(p.competence_area, ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2154)) "
        "ORDER BY EXISTS (SELECT 1 FROM tache_producers tp WHERE tp.producer_id = p.id "
        "AND tp.tache_code = :tache) DESC, ST_Area(p.competence_area), p.id LIMIT 1"),
        {"lat": lat, "lon": lon, "tache": category.tache_code})
    return producer_id if producer_id is not None else category.producer_id


def create_report(session: Session, report: NewReport, *, photo_dir: Path | None = None,
                  rate_limit: int = 0, rate_window: dt.timedelta = dt.timedelta(hours=1)) -> Created:
    """Validate and store a report; return it with its follow-up token. Nothing is stored on error."""
    category = check_category(session, report.category)
    if _blank(report.lat) and _blank(report.lon) and report.address and report.address.strip():
        lat, lon = locate_address(session, report.address)
    else:
        lat, lon = parse_point(report.lat, report.lon)
    check_in_territory(session, lat, lon)
    description = _clean_text(report.description, "description", DESCRIPTION_MAX)
    address = _clean_text(report.address, "address", ADDRESS_MAX)
    email = _clean_email(report.email)
    photo = process_photo(report.photo) if report.photo else None
    if photo is not None and photo_dir is None:
        raise InvalidInput(_("les photos ne sont pas acceptées ici"))
    check_rate_limit(session, report.client_key, limit=rate_limit, window=rate_window)

    token = secrets.token_urlsafe(24)
    incident = Incident(
        source=report.source, external_id=uuid.uuid4().hex, category=category.code,
        description=description, address=address,
        reported_at=report.reported_at or dt.datetime.now(dt.timezone.utc), status="new",
        producer_id=route(session, category, lat, lon), geom=_point_sql(lat, lon),
    )
    session.add(incident)
    session.flush()
    photo_path = None
    if photo is not None:
        photo_path = f"{incident.id}-{secrets.token_hex(8)}.{photo[1]}"
    session.add(IncidentReport(incident_id=incident.id, reporter_id=report.reporter_id, email=email,
                               token_hash=_digest(token), client_hash=report.client_key,
                               photo_path=photo_path))
    session.add(IncidentEvent(incident_id=incident.id, at=incident.reported_at, from_status=None,
                              to_status="new", author_id=report.reporter_id))
    session.flush()
    conn = session.connection()
    assign_points(conn, "incidents", [incident.id])
    refresh_deadlines(conn, [incident.id])
    for hook in STATUS_CHANGE_HOOKS:
        hook(conn, [incident.id])
    session.refresh(incident)
    if photo is not None:
        # Written last: a failure above leaves no file behind.
        store_photo(photo_dir / photo_path, photo[0])
    LOGGER.info("incident %s reported (category %s, producer %s)", incident.id, category.code,
                incident.producer_id)
    return Created(incident=incident, token=token, photo_path=photo_path)


# --- workflow --------------------------------------------------------------------------------

def can_handle(actor, incident: Incident) -> bool:
    """True when ``actor`` (role, producer_id) may change the status of ``incident``."""
    if actor is None or getattr(actor, "role", None) not in HANDLER_ROLES:
        return False
    if actor.role == "admin":
        return True
    return actor.producer_id is not None and actor.producer_id == incident.producer_id


def allowed_transitions(actor, incident: Incident) -> list[str]:
    """The statuses ``actor`` may move ``incident`` to (empty when none)."""
    if not can_handle(actor, incident):
        return []
    return [s for s in ("acknowledged", "in_progress", "resolved", "rejected")
            if s in TRANSITIONS[incident.status]]


def reporter_contact(session: Session, incident: Incident) -> str | None:
    """The reporter's follow-up email (personal data: only for the service handling the incident)."""
    return session.scalar(select(IncidentReport.email).where(IncidentReport.incident_id == incident.id))


def _audited(incident: Incident) -> dict:
    """The workflow columns of ``incident`` as the audit log keeps them."""
    return {"status": incident.status, "acknowledged_at": incident.acknowledged_at,
            "resolved_at": incident.resolved_at}


def change_status(session: Session, incident_ids: int | Sequence[int], to_status: str, *, actor,
                  note: str | None = None, now: dt.datetime | None = None) -> list[IncidentEvent]:
    """Move incidents to ``to_status``: the single entry point of every status change.

    Checks the actor's right (agents of the responsible service, admins) and the transition for
    every incident first, so a refused one leaves all unchanged; records one time-stamped event
    per incident, sets ``acknowledged_at``/``resolved_at``, then runs :data:`STATUS_CHANGE_HOOKS`.
    """
    ids = [incident_ids] if isinstance(incident_ids, int) else list(dict.fromkeys(incident_ids))
    if not ids:
        return []
    if to_status not in TRANSITIONS:
        raise InvalidInput(_("statut inconnu %(status)s", status=repr(to_status)))
    note = _clean_text(note, "note", NOTE_MAX)
    incidents = session.scalars(select(Incident).where(Incident.id.in_(ids)).with_for_update()).all()
    found = {i.id: i for i in incidents}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(_("pas de signalement n° %(id)s", id=missing[0]))
    for incident in incidents:
        if not can_handle(actor, incident):
            raise Forbidden(_("le signalement n° %(id)s est traité par un autre service", id=incident.id))
        if to_status not in TRANSITIONS[incident.status]:
            raise Conflict(_("le signalement n° %(id)s ne peut pas passer de « %(old)s » à « %(new)s »",
                               id=incident.id, old=incident.status, new=to_status))
        if note is None and (to_status in NOTE_REQUIRED or incident.status in CLOSED_STATUSES):
            raise InvalidInput(_("une note est obligatoire pour passer de « %(old)s » à « %(new)s » (le motif est public)",
                                   old=incident.status, new=to_status))
    now = now or dt.datetime.now(dt.timezone.utc)
    events = []
    changes = []
    for incident in incidents:
        before = _audited(incident)
        event = IncidentEvent(incident_id=incident.id, at=now, from_status=incident.status,
                              to_status=to_status, author_id=actor.id, note=note)
        session.add(event)
        events.append(event)
        if incident.acknowledged_at is None and incident.status == "new":
            incident.acknowledged_at = now
        if to_status == "resolved":
            incident.resolved_at = now
        elif incident.status == "resolved":
            incident.resolved_at = None  # reopened: no longer counted as resolved
        incident.status = to_status
        incident.updated_at = now
        changes.append((incident.id, before, {**_audited(incident), "note": note}))
    session.flush()
    conn = session.connection()
    audit.record_many(conn, actor.id, "incidents", "update", changes)
    for hook in STATUS_CHANGE_HOOKS:
        hook(conn, ids)
    return events


def _report_for(session: Session, incident_id: int, token: str | None, user_id: int | None) -> IncidentReport:
    report = session.get(IncidentReport, incident_id)
    if report is None:
        raise NotFound(_("pas de suivi pour le signalement n° %(id)s", id=incident_id))
    by_token = bool(token) and hmac.compare_digest(report.token_hash, _digest(token))
    by_account = user_id is not None and report.reporter_id == user_id
    if not (by_token or by_account):
        raise Forbidden(_("ce lien de suivi n'est pas valable pour ce signalement"))
    return report


def check_follow_up(session: Session, incident_id: int, token: str | None = None,
                    user_id: int | None = None) -> IncidentReport:
    """Return the reporter side when ``token`` (or the logged-in reporter) matches, else raise."""
    return _report_for(session, incident_id, token, user_id)


def answer_resolution(session: Session, incident_id: int, *, confirmed: bool, comment: str | None = None,
                      token: str | None = None, user_id: int | None = None,
                      now: dt.datetime | None = None) -> IncidentReport:
    """The reporter confirms or disputes a resolution (token from the follow-up link, or account)."""
    report = _report_for(session, incident_id, token, user_id)
    incident = session.get(Incident, incident_id)
    if incident.status != "resolved":
        raise Conflict(_("seul un signalement résolu peut être confirmé ou contesté"))
    comment = _clean_text(comment, "comment", NOTE_MAX, required=not confirmed)
    report.confirmation = "confirmed" if confirmed else "disputed"
    report.confirmation_comment = comment
    report.confirmed_at = now or dt.datetime.now(dt.timezone.utc)
    session.flush()
    return report


# --- reading ---------------------------------------------------------------------------------

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
        "WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2154) AS g) "
        "SELECT i.id, i.status, i.reported_at, left(i.description, 140) AS description, "
        "round(ST_Distance(i.geom, p.g)::numeric, 0)::int AS distance_m "
        "FROM incidents i, p WHERE i.category = :cat AND i.status = ANY (:open) "
        "AND ST_DWithin(i.geom, p.g, :r) ORDER BY ST_Distance(i.geom, p.g), i.id LIMIT :limit"),
        {"lat": lat, "lon": lon, "cat": category, "open": list(OPEN_STATUSES), "r": radius_m,
         "limit": limit}).mappings().all()
    return [dict(r, reported_at=r["reported_at"].isoformat()) for r in rows]


def incident_detail(session: Session, incident_id: int) -> dict:
    """Public view of an incident: no personal data (no email, no reporter, no author names)."""
    row = session.execute(text(
        "SELECT i.id, i.status, i.category, c.label_fr AS category_fr, c.label_en AS category_en, "
        "i.description, i.address, i.reported_at, i.acknowledged_at, i.resolved_at, i.updated_at, "
        "i.expected_at, i.times_simulated, i.source, p.name AS producer, p.email AS producer_email, "
        "p.phone AS producer_phone, q.name AS quartier, z.name AS zone, n.label_fr AS norm_fr, "
        "n.label_en AS norm_en, n.delay_value, n.delay_unit, ST_Y(ST_Transform(i.geom, 4326)) AS lat, "
        "ST_X(ST_Transform(i.geom, 4326)) AS lon, r.photo_path, r.confirmation, "
        "r.confirmation_comment, r.confirmed_at "
        "FROM incidents i JOIN incident_categories c ON c.code = i.category "
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
