"""The incident workflow (no Flask): who may handle an incident, status transitions, hooks, follow-up.

Every status change goes through :func:`change_status`, which checks the role and the
transition, records an ``incident_events`` row and then calls the functions registered in
:data:`STATUS_CHANGE_HOOKS` (e.g. the norms engine recomputing compliance). The reporter follows
up with the token given at creation (stored hashed) or from their account.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from incidents.fields import NOTE_MAX, clean_text
from norms.engine import recompute
from ova import audit, dataversion
from ova.errors import Conflict, Forbidden, InvalidInput, NotFound
from ova.i18n import gettext as _
from ova.models import CLOSED_STATUSES, Incident, IncidentEvent, IncidentReport

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

def _recompute_compliance(conn: Connection, incident_ids: Sequence[int]) -> None:
    """Recompute the compliance of the quartier-months these incidents belong to."""
    recompute(conn, incident_ids=incident_ids)


def _invalidate_layers(conn: Connection, incident_ids: Sequence[int]) -> None:
    """Bump the data_version of the catalogue layers over ``incidents`` (tiles, downloads, ETags)."""
    dataversion.touch(conn, "incidents")


#: Called as ``hook(conn, incident_ids)`` after every status change (a new report included), in the
#: same transaction: register the compliance recompute here.
STATUS_CHANGE_HOOKS: list[Callable[[Connection, Sequence[int]], None]] = [_recompute_compliance, _invalidate_layers]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    note = clean_text(note, "note", NOTE_MAX)
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
    by_token = bool(token) and hmac.compare_digest(report.token_hash, token_digest(token))
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
    comment = clean_text(comment, "comment", NOTE_MAX, required=not confirmed)
    report.confirmation = "confirmed" if confirmed else "disputed"
    report.confirmation_comment = comment
    report.confirmed_at = now or dt.datetime.now(dt.timezone.utc)
    session.flush()
    return report
