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

from incidents import moderation
from incidents.fields import NOTE_MAX, clean_text
from norms.engine import recompute
from notifications import events as notify
from ova import audit, dataversion
from ova.errors import Conflict, Forbidden, InvalidInput, NotFound
from ova.i18n import gettext as _
from ova.models import CLOSED_STATUSES, OPEN_STATUSES, Incident, IncidentEvent, IncidentHold, IncidentReport

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
    """The stored form of a follow-up token (SHA-256, hex)."""
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
    # The note is public (page, Open311, subscribers' e-mails): personal data masked automatically.
    note = moderation.mask_public(session, clean_text(note, "note", NOTE_MAX))
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
    held = []
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
        if to_status in CLOSED_STATUSES and _end_holds(session, incident.id, now):
            held.append(incident.id)
    session.flush()
    conn = session.connection()
    if held:  # the wait ended with the incident: its deadline counts the hold up to now
        from norms.deadlines import refresh_deadlines
        refresh_deadlines(conn, held)
    audit.record_many(conn, actor.id, "incidents", "update", changes)
    for hook in STATUS_CHANGE_HOOKS:
        hook(conn, ids)
    notify.status_changed(conn, [(e.id, e.incident_id, e.from_status, e.to_status, e.note) for e in events])
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
    moderation.submit(session, incident_id, "confirmation_comment")  # public once moderated
    notify.resolution_answered(session.connection(), incident_id, confirmed=confirmed, answered_at=report.confirmed_at)
    return report


#: Longest hold reason (public: it is shown in the incident's history).
HOLD_REASON_MAX = 500


def _end_holds(session: Session, incident_id: int, now: dt.datetime) -> int:
    """End the open hold of an incident (closing it ends the wait); returns the holds ended."""
    holds = session.scalars(select(IncidentHold).where(IncidentHold.incident_id == incident_id,
                                                       IncidentHold.ended_at.is_(None))).all()
    for hold in holds:
        hold.ended_at = max(now, hold.started_at)
    return len(holds)


def put_on_hold(session: Session, incident_id: int, *, actor, reason: str,
                now: dt.datetime | None = None) -> IncidentHold:
    """Stop the clock of an open incident while it waits for a third party (the reason is public).

    Norms with ``pauses_on_hold`` do not count the time on hold; the deadline is recomputed and the
    compliance of its quartier-month with it, in the same transaction, and the change is audited.
    """
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(_("pas de signalement n° %(id)s", id=incident_id))
    if not can_handle(actor, incident):
        raise Forbidden(_("le signalement n° %(id)s est traité par un autre service", id=incident.id))
    if incident.status not in OPEN_STATUSES:
        raise Conflict(_("le signalement n° %(id)s est clos : il ne peut pas être mis en attente", id=incident.id))
    reason = moderation.mask_public(session, clean_text(reason, "reason", HOLD_REASON_MAX))
    if not reason:
        raise InvalidInput(_("le motif de la mise en attente est obligatoire (il est public)"))
    if session.scalar(select(IncidentHold.id).where(IncidentHold.incident_id == incident_id,
                                                    IncidentHold.ended_at.is_(None))):
        raise Conflict(_("le signalement n° %(id)s est déjà en attente", id=incident.id))
    now = now or dt.datetime.now(dt.timezone.utc)
    hold = IncidentHold(incident_id=incident_id, started_at=now, reason=reason, author_id=actor.id)
    session.add(hold)
    incident.updated_at = now
    session.flush()
    _after_hold_change(session, incident_id, actor, "on_hold", None, {"on_hold_since": now, "reason": reason})
    return hold


def release_hold(session: Session, incident_id: int, *, actor, now: dt.datetime | None = None) -> IncidentHold:
    """Restart the clock of an incident on hold; its deadline moves by the time on hold."""
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(_("pas de signalement n° %(id)s", id=incident_id))
    if not can_handle(actor, incident):
        raise Forbidden(_("le signalement n° %(id)s est traité par un autre service", id=incident.id))
    hold = session.scalar(select(IncidentHold).where(IncidentHold.incident_id == incident_id,
                                                     IncidentHold.ended_at.is_(None)))
    if hold is None:
        raise Conflict(_("le signalement n° %(id)s n'est pas en attente", id=incident.id))
    now = now or dt.datetime.now(dt.timezone.utc)
    hold.ended_at = max(now, hold.started_at)
    incident.updated_at = now
    session.flush()
    _after_hold_change(session, incident_id, actor, "hold_released", {"on_hold_since": hold.started_at},
                       {"hold_ended_at": hold.ended_at})
    return hold


def _after_hold_change(session: Session, incident_id: int, actor, what: str, before, after) -> None:
    from norms.deadlines import refresh_deadlines

    conn = session.connection()
    refresh_deadlines(conn, [incident_id])
    audit.record(conn, actor.id, "incidents", incident_id, "update", before or {}, {**after, "action": what})
    for hook in STATUS_CHANGE_HOOKS:
        hook(conn, [incident_id])
