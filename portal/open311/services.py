"""Open311 GeoReport v2 data, without Flask: service list, service requests in and out.

Mapping: a *service* is an incident category (``service_code`` = category code); a *service
request* is an incident (``service_request_id`` = incident id). Statuses new/acknowledged/
in_progress are ``open``, resolved/rejected are ``closed``. ``expected_datetime`` is the deadline
set by the applicable quality norm. Extension (ignored by standard clients): ``overdue``.
"""
from __future__ import annotations

import datetime as dt
from sqlalchemy import text
from sqlalchemy.orm import Session

from incidents.queries import is_overdue
from ova.errors import InvalidInput, NotFound
from ova.models import CLOSED_STATUSES, OPEN_STATUSES

#: Open311 status → our statuses.
STATUS_MAP = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}
DEFAULT_WINDOW = dt.timedelta(days=90)
MAX_REQUESTS = 1000
MAX_IDS = 200


def services_list(session: Session) -> list[dict]:
    """Every incident category as an Open311 service (no extra attributes: ``metadata`` false)."""
    rows = session.execute(text(
        "SELECT c.code, c.label_fr, t.label_fr AS tache, ch.label_fr AS champ "
        "FROM incident_categories c JOIN taches_standard t ON t.code = c.tache_code "
        "JOIN champs_action ch ON ch.code = t.champ_code ORDER BY ch.position, t.position, c.label_fr")).all()
    return [{"service_code": r.code, "service_name": r.label_fr, "description": r.tache, "metadata": False,
             "type": "realtime", "keywords": r.tache, "group": r.champ} for r in rows]


def service_definition(session: Session, code: str) -> dict:
    """The definition of service ``code`` (no attributes), or NotFound."""
    if not any(s["service_code"] == code for s in services_list(session)):
        raise NotFound(f"unknown service_code {code[:64]!r}")
    return {"service_code": code, "attributes": []}


def _w3c(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds") if value else None


def parse_datetime(value: str | None, name: str) -> dt.datetime | None:
    """Parse a W3C datetime parameter (timezone required: naive values are taken as UTC)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidInput(f"{name} is not a W3C datetime (e.g. 2024-03-01T00:00:00Z): {value[:40]!r}") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


_SELECT = """
    SELECT i.id, i.status, i.category, c.label_fr AS service_name, i.description, p.name AS agency,
           i.reported_at, i.updated_at, i.expected_at, i.resolved_at, i.address,
           ST_Y(ST_Transform(i.geom, 4326)) AS lat, ST_X(ST_Transform(i.geom, 4326)) AS lon,
           CASE WHEN r.photo_state = 'published' THEN r.photo_path END AS photo_path,
           (SELECT e.note FROM incident_events e WHERE e.incident_id = i.id AND e.note IS NOT NULL
             ORDER BY e.at DESC, e.id DESC LIMIT 1) AS status_notes
    FROM public_incidents i JOIN incident_categories c ON c.code = i.category
    LEFT JOIN producers p ON p.id = i.producer_id
    LEFT JOIN incident_reports r ON r.incident_id = i.id
    WHERE {where}
    ORDER BY i.reported_at DESC, i.id DESC
    LIMIT :limit
"""


def find_requests(session: Session, *, service_request_id: str | None = None, service_code: str | None = None,
                  start_date: str | None = None, end_date: str | None = None, status: str | None = None,
                  now: dt.datetime | None = None) -> list[dict]:
    """Service requests matching the GeoReport v2 query parameters (ids override the others)."""
    params: dict = {"limit": MAX_REQUESTS}
    if service_request_id:
        try:
            ids = [int(v) for v in _split(service_request_id)]
        except ValueError as err:
            raise InvalidInput("service_request_id must be a comma-separated list of numbers") from err
        if len(ids) > MAX_IDS:
            raise InvalidInput(f"at most {MAX_IDS} service_request_id values")
        return _rows(session, "i.id = ANY (:ids)", {"ids": ids, "limit": MAX_IDS})
    clauses = []
    codes = _split(service_code)
    if codes:
        clauses.append("i.category = ANY (:codes)")
        params["codes"] = codes
    statuses = _split(status)
    unknown = [s for s in statuses if s not in STATUS_MAP]
    if unknown:
        raise InvalidInput(f"status must be open or closed, not {unknown[0][:20]!r}")
    if statuses:
        clauses.append("i.status = ANY (:statuses)")
        params["statuses"] = [s for key in statuses for s in STATUS_MAP[key]]
    start = parse_datetime(start_date, "start_date")
    end = parse_datetime(end_date, "end_date")
    if start is None and end is None:
        start = (now or dt.datetime.now(dt.timezone.utc)) - DEFAULT_WINDOW
    elif start is None:
        start = end - DEFAULT_WINDOW
    if end is not None and end < start:
        raise InvalidInput("end_date is before start_date")
    clauses.append("i.reported_at >= :start")
    params["start"] = start
    if end is not None:
        clauses.append("i.reported_at <= :end")
        params["end"] = end
    return _rows(session, " AND ".join(clauses), params)


def get_request(session: Session, request_id: int) -> dict:
    """One service request, or NotFound."""
    rows = _rows(session, "i.id = :id", {"id": request_id, "limit": 1})
    if not rows:
        raise NotFound(f"no service request {request_id}")
    return rows[0]


def _rows(session: Session, where: str, params: dict) -> list[dict]:
    rows = session.execute(text(_SELECT.format(where=where)), params).mappings().all()
    return [{
        "service_request_id": r["id"],
        "status": "closed" if r["status"] in CLOSED_STATUSES else "open",
        "status_notes": r["status_notes"],
        "service_name": r["service_name"],
        "service_code": r["category"],
        "description": r["description"],
        "agency_responsible": r["agency"],
        "service_notice": None,
        "requested_datetime": _w3c(r["reported_at"]),
        "updated_datetime": _w3c(r["updated_at"]),
        "expected_datetime": _w3c(r["expected_at"]),
        "address": r["address"],
        "address_id": None,
        "zipcode": None,
        "lat": round(r["lat"], 7),
        "long": round(r["lon"], 7),
        "media_url": r["photo_path"],  # relative; the view turns it into a URL
        "overdue": is_overdue(r["status"], r["expected_at"], r["resolved_at"]),
    } for r in rows]

