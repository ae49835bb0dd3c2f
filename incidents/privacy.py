"""GDPR duties on reporters' personal data (no Flask): retention purge, export and erasure by e-mail.

What is personal in a report: the reporter's follow-up e-mail and account link, the keyed hash
of their address (rate limiting), the original words (description and comment, before
moderation) and the original photo (before blurring, or never published). The moderated public
text and a published (blurred) photo are what was published: they stay.

- :func:`purge` (``ova privacy purge``, daily from cron or a systemd timer): for the reports
  closed more than ``months`` months ago, deletes all of the above.
- :func:`export` (``ova privacy export --email``): everything held about an e-mail address.
- :func:`erase` (``ova privacy erase --email``): deletes it at once, whatever the incident's state.

Each run is written to the audit log (table ``privacy``) without the address itself: a SHA-256
of it, so that an erasure can be proven without keeping what was erased.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from ova import audit, dataversion
from ova.models import CLOSED_STATUSES

LOGGER = logging.getLogger(__name__)

DEFAULT_RETENTION_MONTHS = 12


def email_digest(email: str) -> str:
    """The form an address takes in the audit log (SHA-256 of the trimmed lower-case address)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _reports_of(email: str) -> str:
    # The reports made with this follow-up address, or from the account that has it.
    return ("SELECT r.incident_id FROM incident_reports r LEFT JOIN users u ON u.id = r.reporter_id "
            "WHERE lower(r.email) = :email OR lower(u.email) = :email")


def _forget_reports(session: Session, ids: list[int], photo_dir: Path | None) -> dict:
    """Delete the personal data of the reports ``ids``; returns counts (photos removed from disk too)."""
    if not ids:
        return {"reports": 0, "texts": 0, "photos": 0}
    files = session.execute(text(
        "SELECT photo_original_path FROM incident_reports WHERE incident_id = ANY (:ids) "
        "AND photo_original_path IS NOT NULL UNION ALL "
        "SELECT photo_path FROM incident_reports WHERE incident_id = ANY (:ids) AND photo_path IS NOT NULL "
        "AND photo_state <> 'published'"), {"ids": ids}).scalars().all()
    reports = session.execute(text(
        "UPDATE incident_reports SET email = NULL, reporter_id = NULL, client_hash = NULL, "
        "confirmation_comment = NULL, photo_original_path = NULL, "
        "photo_path = CASE WHEN photo_state = 'published' THEN photo_path END "
        "WHERE incident_id = ANY (:ids) AND (email IS NOT NULL OR reporter_id IS NOT NULL OR client_hash IS NOT NULL "
        "OR confirmation_comment IS NOT NULL OR photo_original_path IS NOT NULL "
        "OR (photo_path IS NOT NULL AND photo_state <> 'published'))"), {"ids": ids}).rowcount
    # The original words go; the moderated public text (personal data masked) is what remains.
    texts = session.execute(text(
        "UPDATE incidents SET description = public_description WHERE id = ANY (:ids) "
        "AND description IS DISTINCT FROM public_description"), {"ids": ids}).rowcount
    texts += session.execute(text(
        "UPDATE text_moderations SET original = NULL, findings = '[]' WHERE incident_id = ANY (:ids) "
        "AND original IS NOT NULL"), {"ids": ids}).rowcount
    # Follow-up messages still waiting for this incident's reporter are no longer anyone's.
    if photo_dir is not None:
        for name in files:
            (photo_dir / name).unlink(missing_ok=True)
    if texts:
        dataversion.touch(session.connection(), "incidents")
    return {"reports": reports, "texts": texts, "photos": len(files)}


def purge(session: Session, *, months: int = DEFAULT_RETENTION_MONTHS, photo_dir: Path | None = None,
          now: dt.datetime | None = None) -> dict:
    """Delete reporters' personal data of incidents closed more than ``months`` months ago (idempotent)."""
    if months < 1:
        raise ValueError("the retention period is at least one month")
    now = now or dt.datetime.now(dt.timezone.utc)
    ids = session.execute(text(
        "SELECT i.id FROM incidents i JOIN incident_reports r ON r.incident_id = i.id "
        "WHERE i.status = ANY (:closed) AND coalesce("
        "  (SELECT max(e.at) FROM incident_events e WHERE e.incident_id = i.id AND e.to_status = ANY (:closed)),"
        "  i.resolved_at, i.updated_at) < CAST(:now AS timestamptz) - make_interval(months => :months)"),
        {"closed": list(CLOSED_STATUSES), "now": now, "months": months}).scalars().all()
    counts = _forget_reports(session, list(ids), photo_dir)
    # Sent e-mails are kept as long as the reports they are about, no longer.
    counts["messages"] = session.execute(text(
        "DELETE FROM outbox WHERE status <> 'pending' AND created_at < CAST(:now AS timestamptz) "
        "- make_interval(months => :months)"), {"now": now, "months": months}).rowcount
    if any(counts.values()):
        audit.record(session.connection(), None, "privacy", "purge", "delete", None, {"months": months, **counts})
    LOGGER.info("privacy purge (%s months): %s", months, counts)
    return counts


def export(session: Session, email: str) -> dict:
    """Everything the portal holds about ``email``: reports, subscriptions, messages, account (logged)."""
    email = email.strip().lower()
    reports = [dict(r) for r in session.execute(text(
        "SELECT i.id AS incident_id, i.category, i.reported_at, i.status, i.address, "
        "i.description AS description_original, i.public_description, r.email, r.confirmation, "
        "r.confirmation_comment, r.public_comment, r.photo_path, r.photo_original_path, r.photo_state, "
        "r.created_at FROM incident_reports r JOIN incidents i ON i.id = r.incident_id "
        f"WHERE r.incident_id IN ({_reports_of(email)}) ORDER BY i.reported_at, i.id"), {"email": email}).mappings()]
    subscriptions = [dict(r) for r in session.execute(text(
        "SELECT s.id, s.kind, s.quartier_id, s.zone_code, s.category, s.incident_id, s.frequency, s.locale, "
        "s.created_at, s.confirmed_at, s.unsubscribed_at FROM subscriptions s LEFT JOIN users u ON u.id = s.user_id "
        "WHERE lower(s.email) = :email OR lower(u.email) = :email ORDER BY s.id"), {"email": email}).mappings()]
    messages = [dict(r) for r in session.execute(text(
        "SELECT id, template, locale, status, created_at, sent_at FROM outbox WHERE lower(recipient) = :email "
        "ORDER BY id"), {"email": email}).mappings()]
    account = session.execute(text(
        "SELECT id, email, name, role, active, created_at FROM users WHERE lower(email) = :email"),
        {"email": email}).mappings().first()
    data = audit.jsonable({"email": email, "exported_at": dt.datetime.now(dt.timezone.utc), "reports": reports,
                           "subscriptions": subscriptions, "messages": messages,
                           "account": dict(account) if account else None})
    audit.record(session.connection(), None, "privacy", email_digest(email), "create", None,
                 {"export": {"reports": len(reports), "subscriptions": len(subscriptions), "messages": len(messages)}})
    return data


def erase(session: Session, email: str, *, photo_dir: Path | None = None) -> dict:
    """Erase the personal data of ``email`` now: reports' side, subscriptions, messages; a citizen's
    account is deactivated and anonymised (staff accounts are left to the administrator). Logged."""
    email = email.strip().lower()
    ids = session.execute(text(_reports_of(email)), {"email": email}).scalars().all()
    counts = _forget_reports(session, list(ids), photo_dir)
    counts["subscriptions"] = session.execute(text(
        "DELETE FROM subscriptions s USING (SELECT s2.id FROM subscriptions s2 LEFT JOIN users u ON u.id = s2.user_id "
        "WHERE lower(s2.email) = :email OR lower(u.email) = :email) d WHERE s.id = d.id"), {"email": email}).rowcount
    counts["messages"] = session.execute(text("DELETE FROM outbox WHERE lower(recipient) = :email"),
                                         {"email": email}).rowcount
    counts["accounts"] = session.execute(text(
        "UPDATE users SET email = 'efface-' || id || '@invalid', name = 'compte effacé', active = false "
        "WHERE lower(email) = :email AND role IN ('citizen', 'commercant')"), {"email": email}).rowcount
    audit.record(session.connection(), None, "privacy", email_digest(email), "delete", None, {"erase": counts})
    LOGGER.info("privacy erase: %s", counts)
    return counts
