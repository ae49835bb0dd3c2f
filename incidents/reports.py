"""Incident reports (no Flask): validation, photos, places, routing and creation.

A report is validated completely before anything is written (category, point inside the
territory, description, photo), then stored in one unit of work: the incident, its reporter
side (``incident_reports``, personal data, never published), its creation event, its quartier
and priority zone (``ova.assignment``), its responsible service (competence area, else the
category's default producer) and its deadline (``norms.deadlines``); then the workflow's
:data:`incidents.workflow.STATUS_CHANGE_HOOKS` run, as after every status change.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, text
from sqlalchemy.orm import Session

from incidents.fields import (ADDRESS_MAX, DESCRIPTION_MAX, is_blank, clean_email, clean_text,
                              parse_point)
from incidents import moderation, workflow
from notifications import events as notify
from norms.deadlines import refresh_deadlines
from ova import ratelimit
from ova.assignment import assign_points
from ova.errors import InvalidInput, OvaError
from ova.i18n import gettext as _
from ova.models import Incident, IncidentCategory, IncidentEvent, IncidentReport
from ova.settings import storage_srid

LOGGER = logging.getLogger(__name__)

SOURCE = "portal"
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_MAX_SIDE = 2048
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png"}


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
    #: Language of the reporter's messages (fr, en).
    locale: str = "fr"


@dataclass
class Created:
    """A stored report: the incident and the follow-up token (shown once, stored hashed)."""

    incident: Incident
    token: str
    photo_path: str | None = None
    extra: dict = field(default_factory=dict)


def _point_sql(lat: float, lon: float):
    return func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), storage_srid())


def check_in_territory(session: Session, lat: float, lon: float) -> int:
    """Return the id of the quartier containing the point, or raise InvalidInput (far away)."""
    quartier_id = session.scalar(text(
        "SELECT q.id FROM quartiers q WHERE ST_Intersects(q.geom, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), CAST(:srid AS integer))) ORDER BY q.id LIMIT 1"),
        {"lat": lat, "lon": lon, "srid": storage_srid()})
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


# --- places (typed address text) -------------------------------------------------------------

PLACE_QUERY_MIN = 3

_PLACES = """
    SELECT label, kind, lat, lon, exact FROM (
        SELECT DISTINCT ON (lower(i.address)) i.address AS label, 'address' AS kind,
               ST_Y(ST_Transform(i.geom, 4326)) AS lat, ST_X(ST_Transform(i.geom, 4326)) AS lon,
               lower(i.address) = lower(:q) AS exact
        FROM public_incidents i
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
    """Places matching typed text: addresses already known from past reports (their public form:
    without the house number of a report that names a person), then quartiers.

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
        "AND ST_Intersects(p.competence_area, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), CAST(:srid AS integer))) "
        "ORDER BY EXISTS (SELECT 1 FROM tache_producers tp WHERE tp.producer_id = p.id "
        "AND tp.tache_code = :tache) DESC, ST_Area(p.competence_area), p.id LIMIT 1"),
        {"lat": lat, "lon": lon, "srid": storage_srid(), "tache": category.tache_code})
    return producer_id if producer_id is not None else category.producer_id


def create_report(session: Session, report: NewReport, *, photo_dir: Path | None = None,
                  rate_limit: int = 0, rate_window: dt.timedelta = dt.timedelta(hours=1)) -> Created:
    """Validate and store a report; return it with its follow-up token. Nothing is stored on error."""
    category = check_category(session, report.category)
    if is_blank(report.lat) and is_blank(report.lon) and report.address and report.address.strip():
        lat, lon = locate_address(session, report.address)
    else:
        lat, lon = parse_point(report.lat, report.lon)
    check_in_territory(session, lat, lon)
    description = clean_text(report.description, "description", DESCRIPTION_MAX)
    address = clean_text(report.address, "address", ADDRESS_MAX)
    email = clean_email(report.email)
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
                               token_hash=workflow.token_digest(token), client_hash=report.client_key,
                               photo_path=photo_path))
    session.add(IncidentEvent(incident_id=incident.id, at=incident.reported_at, from_status=None,
                              to_status="new", author_id=report.reporter_id))
    session.flush()
    conn = session.connection()
    assign_points(conn, "incidents", [incident.id])
    refresh_deadlines(conn, [incident.id])
    for hook in workflow.STATUS_CHANGE_HOOKS:
        hook(conn, [incident.id])
    # The description is public only once moderated (or published at once when the check finds
    # nothing and the producer chose so for the category); the photo only once a moderator publishes it.
    moderation.submit(session, incident.id, "description")
    notify.report_created(conn, incident.id, email=email, locale=report.locale, follow_up_token=token)
    session.refresh(incident)
    if photo is not None:
        # Written last: a failure above leaves no file behind.
        store_photo(photo_dir / photo_path, photo[0])
    LOGGER.info("incident %s reported (category %s, producer %s)", incident.id, category.code,
                incident.producer_id)
    return Created(incident=incident, token=token, photo_path=photo_path)
