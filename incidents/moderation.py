"""Moderation of citizens' words and photos before they become public (no Flask).

The rule: a citizen's description (``incidents.description``) and follow-up comment
(``incident_reports.confirmation_comment``) are private; what the public channels read is their
moderated text (``incidents.public_description``, ``incident_reports.public_comment``), set only
here. The public relation is the view ``public_incidents`` (the ``signalements`` layer, the
incident page, Open311, the quartier maps): it has the moderated description in its
``description`` column and nothing else of the citizen's words. A photo is served only once
``photo_state`` is ``published``.

Each text gets a :class:`ova.models.TextModeration` row: the original, the findings of
:mod:`ova.pii` and the text with them masked. A moderator (agent of the responsible
service, or admin) approves the masked text, publishes an edited text, or hides it, with a
reason; every decision goes to the audit log. A producer may publish at once, per category,
the texts in which the check finds nothing (:class:`ova.models.AutoPublication`).
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from pathlib import Path

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from ova import pii
from incidents.fields import DESCRIPTION_MAX, clean_text
from ova import audit, dataversion
from ova.errors import Forbidden, InvalidInput, NotFound
from ova.i18n import gettext as _
from ova.models import (AutoPublication, Incident, IncidentCategory, IncidentReport, MODERATED_FIELDS,
                        TextModeration)

LOGGER = logging.getLogger(__name__)

ACTIONS = ("approve", "edit", "hide")
REASON_MAX = 500
#: Moderation decisions that need a reason (the service's record of why).
REASON_REQUIRED = ("edit", "hide")
HANDLER_ROLES = ("agent", "admin")


def can_moderate(actor, producer_id: int | None) -> bool:
    """Admins, and agents of the incident's responsible service."""
    role = getattr(actor, "role", None)
    if role == "admin":
        return True
    return role == "agent" and actor.producer_id is not None and actor.producer_id == producer_id


def _stopwords(session: Session) -> list[str]:
    """Words never taken as names: the categories' labels ("Dépôt sauvage", "Graffitis"…)."""
    return [w for row in session.execute(select(IncidentCategory.label_fr, IncidentCategory.label_en)) for w in row if w]


def mask_public(session: Session, value: str | None) -> str | None:
    """An agent's public text (status note, hold reason) with the personal data masked."""
    if not value:
        return value
    return pii.analyse(value, stopwords=_stopwords(session))[0]


def _row(session: Session, incident_id: int, field: str) -> TextModeration | None:
    return session.scalar(select(TextModeration).where(TextModeration.incident_id == incident_id,
                                                       TextModeration.field == field))


def _original(session: Session, incident: Incident, field: str) -> str | None:
    if field == "description":
        return incident.description
    report = session.get(IncidentReport, incident.id)
    return report.confirmation_comment if report else None


def _set_public(session: Session, incident: Incident, field: str, value: str | None, state: str) -> None:
    if field == "description":
        incident.public_description = value
        incident.description_state = state
        # The public layer's rows changed: tiles and downloads caches follow.
        session.flush()
        dataversion.touch(session.connection(), "incidents")
    else:
        report = session.get(IncidentReport, incident.id)
        report.public_comment = value


def _check_field(field: str) -> None:
    if field not in MODERATED_FIELDS:
        raise InvalidInput(_("champ à modérer inconnu : %(field)s", field=field[:40]))


def submit(session: Session, incident_id: int, field: str = "description") -> TextModeration | None:
    """(Re)check the citizen's text ``field`` of an incident and put it in the moderation queue.

    Runs the automatic detection; when it finds nothing and the responsible producer chose
    automatic publication for the category, the text is published at once (decision ``auto``).
    Returns None when there is no text.
    """
    _check_field(field)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(_("pas de signalement n° %(id)s", id=incident_id))
    original = _original(session, incident, field)
    row = _row(session, incident_id, field)
    stopwords = _stopwords(session)
    findings = pii.detect(original, stopwords=stopwords) if original else []
    if field == "description":
        _check_address(session, incident, findings, stopwords)
    if not original:
        if row is not None:
            session.delete(row)
        _set_public(session, incident, field, None, "pending")
        return None
    masked = pii.mask(original, findings)
    if row is None:
        row = TextModeration(incident_id=incident_id, field=field)
        session.add(row)
    row.original, row.masked = original, masked
    row.findings = [f.as_dict() for f in findings]
    row.decision, row.public_text, row.reason, row.moderator_id, row.moderated_at = "pending", None, None, None, None
    auto = not findings and incident.producer_id is not None and session.get(
        AutoPublication, (incident.producer_id, incident.category)) is not None
    if auto:
        row.decision, row.public_text = "auto", original
        row.moderated_at = dt.datetime.now(dt.timezone.utc)
        _set_public(session, incident, field, original, "published")
    else:
        _set_public(session, incident, field, None, "pending")
    session.flush()
    return row


def _check_address(session: Session, incident: Incident, findings, stopwords) -> None:
    """The public form of the typed address (issue #24: a named person's home is private): the street
    only when the description names a person or the address holds personal data; unless a moderator
    decided it (``address_reviewed``)."""
    if incident.address_reviewed:
        return
    public = pii.public_address(incident.address, findings, stopwords=stopwords)
    public = None if public == incident.address else public
    if public != incident.public_address:
        incident.public_address = public
        session.flush()
        dataversion.touch(session.connection(), "incidents")


ADDRESS_ACTIONS = ("approve", "edit", "mask")


def _locked_for(session: Session, incident_id: int, actor) -> Incident:
    """The incident, locked for the decision, when ``actor`` may moderate it (else NotFound/Forbidden)."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if incident is None:
        raise NotFound(_("pas de signalement n° %(id)s", id=incident_id))
    if not can_moderate(actor, incident.producer_id):
        raise Forbidden(_("le signalement n° %(id)s est traité par un autre service", id=incident_id))
    return incident


def decide_address(session: Session, incident_id: int, action: str, *, actor, text: str | None = None,
                   reason: str | None = None) -> str | None:
    """A moderator's decision on the public address, with a reason (audited): ``approve`` publishes
    the address as typed, ``edit`` publishes ``text``, ``mask`` goes back to the automatic rule.
    Returns the public address."""
    if action not in ADDRESS_ACTIONS:
        raise InvalidInput(_("action de modération inconnue : %(action)s", action=action[:20]))
    incident = _locked_for(session, incident_id, actor)
    reason = clean_text(reason, "reason", REASON_MAX, required=True)
    before = {"public_address": incident.public_address, "address_reviewed": incident.address_reviewed}
    if action == "approve":
        incident.public_address, incident.address_reviewed = None, True
    elif action == "edit":
        incident.public_address = clean_text(text, "text", 500, required=True)
        incident.address_reviewed = True
    else:
        incident.address_reviewed = False
        stopwords = _stopwords(session)
        _check_address(session, incident, pii.detect(incident.description, stopwords=stopwords), stopwords)
    session.flush()
    dataversion.touch(session.connection(), "incidents")
    # The typed address itself is never copied into the audit log (it may hold personal data).
    audit.record(session.connection(), actor.id, "incidents", incident.id, "update",
                 {"address_reviewed": before["address_reviewed"],
                  "public_address_set": before["public_address"] is not None},
                 {"address_reviewed": incident.address_reviewed, "public_address": incident.public_address,
                  "action": action, "reason": reason})
    return incident.public_address or incident.address


def item(session: Session, incident_id: int, field: str = "description", *, actor=None) -> dict:
    """One text for the moderator: original, findings (highlighted pieces), proposal, decision, photo."""
    _check_field(field)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(_("pas de signalement n° %(id)s", id=incident_id))
    if actor is not None and not can_moderate(actor, incident.producer_id):
        raise Forbidden(_("le signalement n° %(id)s est traité par un autre service", id=incident_id))
    row = _row(session, incident_id, field)
    original = _original(session, incident, field)
    if original and (row is None or (row.original is not None and row.original != original)):
        row = submit(session, incident_id, field)  # loaded (or reloaded) by the ETL: checked on first view
    report = session.get(IncidentReport, incident_id)
    return {
        "incident_id": incident_id, "field": field, "category": incident.category, "status": incident.status,
        "reported_at": incident.reported_at, "producer_id": incident.producer_id,
        "original": row.original if row else None, "masked": row.masked if row else None,
        "findings": row.findings if row else [], "decision": row.decision if row else None,
        "public_text": row.public_text if row else None, "reason": row.reason if row else None,
        "moderated_at": row.moderated_at if row else None,
        "pieces": pii.highlight(row.original, row.findings) if row and row.original else [],
        "address": incident.address, "public_address": incident.public_address,
        "address_reviewed": incident.address_reviewed,
        "photo_path": report.photo_path if report else None,
        "photo_state": report.photo_state if report else None,
        "photo_blurred": bool(report and report.photo_original_path),
    }


def _snapshot(row: TextModeration) -> dict:
    # The original text is never copied into the audit log (it holds the personal data).
    return {"field": row.field, "incident_id": row.incident_id, "decision": row.decision,
            "public_text": row.public_text, "reason": row.reason, "findings": len(row.findings or [])}


def decide(session: Session, incident_id: int, field: str, action: str, *, actor, text: str | None = None,
           reason: str | None = None) -> TextModeration:
    """Approve (publish the masked text), edit (publish ``text``) or hide a citizen's text, with a reason.

    The original stays in ``text_moderations`` (the service's only); the decision is audited.
    """
    _check_field(field)
    if action not in ACTIONS:
        raise InvalidInput(_("action de modération inconnue : %(action)s", action=action[:20]))
    incident = _locked_for(session, incident_id, actor)
    row = _row(session, incident_id, field) or submit(session, incident_id, field)
    if row is None:
        raise NotFound(_("pas de texte à modérer pour le signalement n° %(id)s", id=incident_id))
    reason = clean_text(reason, "reason", REASON_MAX, required=action in REASON_REQUIRED)
    before = _snapshot(row)
    if action == "approve":
        public, decision, state = row.masked, "approved", "published"
    elif action == "edit":
        public = clean_text(text, "text", DESCRIPTION_MAX, required=True)
        decision, state = "edited", "published"
    else:
        public, decision, state = None, "hidden", "hidden"
    row.decision, row.public_text, row.reason = decision, public, reason
    row.moderator_id, row.moderated_at = actor.id, dt.datetime.now(dt.timezone.utc)
    _set_public(session, incident, field, public, state)
    session.flush()
    audit.record(session.connection(), actor.id, "text_moderations", row.id, "update", before, _snapshot(row))
    LOGGER.info("incident %s %s: %s by user %s", incident_id, field, decision, actor.id)
    return row


def queue(session: Session, producer_id: int | None, *, limit: int = 200) -> list[dict]:
    """Texts and photos waiting for moderation of a service (all when None), oldest first.

    Descriptions loaded by the ETL have no moderation row yet: they are listed too (checked when opened).
    """
    rows = session.execute(text("""
        WITH waiting AS (
            SELECT i.id AS incident_id, 'description' AS field, i.description AS original, m.findings,
                   i.reported_at AS since
            FROM incidents i LEFT JOIN text_moderations m ON m.incident_id = i.id AND m.field = 'description'
            WHERE i.description IS NOT NULL AND i.description_state = 'pending'
              AND (CAST(:p AS integer) IS NULL OR i.producer_id = :p)
            UNION ALL
            SELECT m.incident_id, m.field, m.original, m.findings, m.created_at
            FROM text_moderations m JOIN incidents i ON i.id = m.incident_id
            WHERE m.field <> 'description' AND m.decision = 'pending'
              AND (CAST(:p AS integer) IS NULL OR i.producer_id = :p)
            UNION ALL
            SELECT r.incident_id, 'photo', NULL, NULL, r.created_at
            FROM incident_reports r JOIN incidents i ON i.id = r.incident_id
            WHERE r.photo_path IS NOT NULL AND r.photo_state = 'pending'
              AND (CAST(:p AS integer) IS NULL OR i.producer_id = :p)
        )
        SELECT w.incident_id, w.field, left(w.original, 300) AS original,
               coalesce(jsonb_array_length(w.findings), -1) AS findings, w.since,
               i.category, c.label_fr AS category_fr, c.label_en AS category_en
        FROM waiting w JOIN incidents i ON i.id = w.incident_id JOIN incident_categories c ON c.code = i.category
        ORDER BY w.since, w.incident_id, w.field LIMIT :limit
    """), {"p": producer_id, "limit": limit}).mappings().all()
    return [dict(r) for r in rows]


# --- per-category automatic publication ------------------------------------------------------

def auto_categories(session: Session, producer_id: int) -> set[str]:
    """The categories whose texts the producer publishes at once when nothing is found."""
    return set(session.scalars(select(AutoPublication.category).where(AutoPublication.producer_id == producer_id)))


def set_auto_categories(session: Session, producer_id: int, categories: set[str], *, actor) -> None:
    """Replace the producer's automatic-publication categories (audited)."""
    if not can_moderate(actor, producer_id):
        raise Forbidden(_("réglage réservé aux agents du service"))
    known = set(session.scalars(select(IncidentCategory.code)))
    unknown = sorted(set(categories) - known)
    if unknown:
        raise InvalidInput(_("catégorie inconnue : %(code)s", code=unknown[0][:64]))
    before = sorted(auto_categories(session, producer_id))
    session.execute(delete(AutoPublication).where(AutoPublication.producer_id == producer_id))
    session.add_all([AutoPublication(producer_id=producer_id, category=c, author_id=actor.id) for c in sorted(categories)])
    session.flush()
    if before != sorted(categories):
        audit.record(session.connection(), actor.id, "auto_publications", producer_id, "update",
                     {"categories": before}, {"categories": sorted(categories)})


# --- photos ----------------------------------------------------------------------------------

def decide_photo(session: Session, incident_id: int, publish: bool, *, actor, reason: str | None = None) -> None:
    """Publish or hide a report's photo (audited)."""
    report, incident = _photo_report(session, incident_id, actor)
    reason = clean_text(reason, "reason", REASON_MAX, required=not publish)
    before = {"photo_state": report.photo_state}
    report.photo_state = "published" if publish else "hidden"
    session.flush()
    audit.record(session.connection(), actor.id, "incident_reports", incident_id, "update", before,
                 {"photo_state": report.photo_state, "reason": reason})


def _photo_report(session: Session, incident_id: int, actor) -> tuple[IncidentReport, Incident]:
    incident = session.get(Incident, incident_id)
    report = session.get(IncidentReport, incident_id)
    if incident is None or report is None or not report.photo_path:
        raise NotFound(_("pas de photo pour le signalement n° %(id)s", id=incident_id))
    if not can_moderate(actor, incident.producer_id):
        raise Forbidden(_("le signalement n° %(id)s est traité par un autre service", id=incident_id))
    return report, incident


def blur_photo(session: Session, incident_id: int, box: tuple[float, float, float, float], *, actor,
               photo_dir: Path, radius: int = 24) -> str:
    """Blur a region of a report's photo on the server (Pillow); the original is kept for the service.

    ``box`` is ``(left, top, width, height)`` in fractions of the image (0–1), as the moderator
    draws it whatever the size shown. The blurred image becomes ``photo_path`` (what the public
    gets once published); the first original is kept as ``photo_original_path``, deleted by the
    retention purge. Returns the new path.
    """
    from PIL import Image, ImageFilter

    from incidents.reports import store_photo

    report, _incident = _photo_report(session, incident_id, actor)
    try:
        left, top, width, height = (float(v) for v in box)
    except (TypeError, ValueError) as err:
        raise InvalidInput(_("zone à flouter invalide")) from err
    if not (0 <= left < 1 and 0 <= top < 1 and 0 < width <= 1 - left + 1e-9 and 0 < height <= 1 - top + 1e-9):
        raise InvalidInput(_("zone à flouter invalide : fractions de l'image entre 0 et 1"))
    source = photo_dir / report.photo_path
    with Image.open(source) as img:
        img.load()
        fmt = img.format or "JPEG"
        w, h = img.size
        region = (int(left * w), int(top * h), max(int(left * w) + 1, round((left + width) * w)),
                  max(int(top * h) + 1, round((top + height) * h)))
        blurred = img.copy()
    # Pixelate then blur: a strong Gaussian blur alone can leave a plate readable.
    patch = blurred.crop(region)
    small = patch.resize((max(1, patch.width // 16), max(1, patch.height // 16)), Image.Resampling.BILINEAR)
    patch = small.resize(patch.size, Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(radius))
    blurred.paste(patch, region[:2])
    ext = report.photo_path.rsplit(".", 1)[-1]
    new_path = f"{incident_id}-{secrets.token_hex(8)}.{ext}"
    import io

    out = io.BytesIO()
    blurred.save(out, format=fmt, **({"quality": 88} if fmt == "JPEG" else {}))
    store_photo(photo_dir / new_path, out.getvalue())
    before = {"photo_path": report.photo_path, "photo_original_path": report.photo_original_path}
    if report.photo_original_path is None:
        report.photo_original_path = report.photo_path
    else:
        (photo_dir / report.photo_path).unlink(missing_ok=True)  # an earlier blurred version
    report.photo_path = new_path
    session.flush()
    audit.record(session.connection(), actor.id, "incident_reports", incident_id, "update", before,
                 {"photo_path": new_path, "photo_original_path": report.photo_original_path,
                  "blurred": [round(v, 4) for v in (left, top, width, height)]})
    return new_path
