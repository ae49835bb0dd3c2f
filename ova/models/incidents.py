"""Incidents: categories, reports, their status history and the reporter's side."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ova.models.base import Base, _in, _now, geometry
from ova.models.reference import TacheStandard

INCIDENT_STATUSES = ("new", "acknowledged", "in_progress", "resolved", "rejected")
#: Statuses of an incident still waiting for the service, and of a closed one.
OPEN_STATUSES = ("new", "acknowledged", "in_progress")
CLOSED_STATUSES = ("resolved", "rejected")
#: Where a citizen's free text (or photo) stands: waiting for the moderator, public, or hidden.
PUBLICATION_STATES = ("pending", "published", "hidden")
#: What a moderator (or the automatic check) decided about one text.
MODERATION_DECISIONS = ("pending", "approved", "edited", "hidden", "auto")
#: The citizens' free texts that are moderated before they become public.
MODERATED_FIELDS = ("description", "confirmation_comment")


class IncidentCategory(Base):
    """An incident category of the OVA taxonomy (champ → tâche → category), in plain French."""

    __tablename__ = "incident_categories"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label_fr: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    tache_code: Mapped[str] = mapped_column(ForeignKey("taches_standard.code", ondelete="RESTRICT"))
    #: Service that handles this category unless a competence area says otherwise.
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="SET NULL"))

    tache: Mapped[TacheStandard] = relationship()


class Incident(Base):
    """A reported problem in public space (DansMaRue, Open311, the portal's own form)."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_incidents_source_external_id"),
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint(_in("description_state", PUBLICATION_STATES), name="description_state"),
        Index("ix_incidents_reported_at", "reported_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(ForeignKey("incident_categories.code", ondelete="RESTRICT"))
    #: The category as the source named it (e.g. DansMaRue type), kept for traceability.
    source_category: Mapped[str | None] = mapped_column(String(255))
    subcategory: Mapped[str | None] = mapped_column(String(255))
    #: The reporter's own words, never public (see :class:`TextModeration` and ``public_incidents``).
    description: Mapped[str | None] = mapped_column(Text)
    #: The moderated description (personal data masked or edited): the only text public channels read.
    public_description: Mapped[str | None] = mapped_column(Text)
    #: pending until a moderator (or the automatic check) decides; then published or hidden.
    description_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    #: What the reporter typed or picked: the service's (the public read ``public_address`` when set).
    address: Mapped[str | None] = mapped_column(String(500))
    #: The address the public channels show instead, when the report names a person or the address
    #: holds personal data: the street without the house number, personal data masked.
    public_address: Mapped[str | None] = mapped_column(String(500))
    #: True once a moderator decided the public address (the automatic check leaves it then).
    address_reviewed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: True when acknowledged_at/resolved_at come from the documented simulation model.
    times_simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    #: Deadline from the strictest response-delay norm applying to it (see norms/deadlines.py).
    expected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    norm_id: Mapped[int | None] = mapped_column(ForeignKey("norms.id", ondelete="SET NULL"))
    #: The request's own deadline as the source system gave it (Open311 ``expected_datetime``).
    source_expected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="SET NULL"))
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="SET NULL"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("priority_zones.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = _now()
    geom = mapped_column(geometry("POINT"), nullable=False)


REPORTER_CONFIRMATIONS = ("confirmed", "disputed")


class IncidentEvent(Base):
    """One time-stamped status transition of an incident, with its author and note."""

    __tablename__ = "incident_events"
    __table_args__ = (
        CheckConstraint(f"from_status IS NULL OR {_in('from_status', INCIDENT_STATUSES)}", name="from_status"),
        CheckConstraint(_in("to_status", INCIDENT_STATUSES), name="to_status"),
        Index("ix_incident_events_incident_id_at", "incident_id", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = _now()
    #: None for the creation of the report.
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)


class IncidentHold(Base):
    """A period an incident waited for a third party (clock stop), put by an agent with a reason.

    Norms with ``pauses_on_hold`` do not count it (norms/deadlines.py); ``ended_at`` is None while
    the incident is still on hold. Holds are part of the incident's public history.
    """

    __tablename__ = "incident_holds"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="period"),
        Index("ix_incident_holds_incident_id", "incident_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(500))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class IncidentReport(Base):
    """The reporter's side of an incident made on the portal or through Open311.

    Kept apart from ``incidents`` (which is published) because it holds personal data: the
    follow-up email, the reporter's account, and a hash of the client address for rate limiting.
    """

    __tablename__ = "incident_reports"
    __table_args__ = (
        CheckConstraint(f"confirmation IS NULL OR {_in('confirmation', REPORTER_CONFIRMATIONS)}",
                        name="confirmation"),
        CheckConstraint(_in("photo_state", PUBLICATION_STATES), name="photo_state"),
        Index("ix_incident_reports_client_hash_created_at", "client_hash", "created_at"),
    )
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(254))
    #: SHA-256 of the secret follow-up token given once to the reporter.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Keyed hash of the client's IP address (never the address itself), for rate limiting.
    client_hash: Mapped[str | None] = mapped_column(String(64))
    #: Path of the re-encoded photo, relative to the photo folder.
    photo_path: Mapped[str | None] = mapped_column(String(200))
    #: The photo is public only once published by a moderator.
    photo_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    #: The photo as received, kept for the service when the moderator blurred ``photo_path``.
    photo_original_path: Mapped[str | None] = mapped_column(String(200))
    confirmation: Mapped[str | None] = mapped_column(String(16))
    #: The reporter's comment as written (private); ``public_comment`` is its moderated text.
    confirmation_comment: Mapped[str | None] = mapped_column(Text)
    public_comment: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _now()


class TextModeration(Base):
    """One citizen's text waiting for (or past) moderation: the original, what was found, the decision.

    Private to the service: the original and the findings are never public. ``public_text`` is
    what was published (copied into ``incidents.public_description`` or
    ``incident_reports.public_comment``), None while pending or when hidden.
    """

    __tablename__ = "text_moderations"
    __table_args__ = (
        UniqueConstraint("incident_id", "field", name="uq_text_moderations_incident_field"),
        CheckConstraint(_in("field", MODERATED_FIELDS), name="field"),
        CheckConstraint(_in("decision", MODERATION_DECISIONS), name="decision"),
        Index("ix_text_moderations_decision", "decision"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    #: The text as written (set to None by the retention purge, once the incident is long closed).
    original: Mapped[str | None] = mapped_column(Text)
    #: The text with what the automatic check found masked (``[téléphone]``, ``[nom]``…).
    masked: Mapped[str | None] = mapped_column(Text)
    #: What the check found: ``[{"type", "start", "end", "score"}]`` over ``original``.
    findings: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    decision: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    public_text: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500))
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = _now()
    moderated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AutoPublication(Base):
    """A producer's choice: texts of this category are published at once when the check finds nothing."""

    __tablename__ = "auto_publications"
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(ForeignKey("incident_categories.code", ondelete="CASCADE"),
                                          primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = _now()


class QuartierIncidentCount(Base):
    """Incidents per (quartier, category, status), kept by statement triggers on ``incidents``.

    The home page's totals and the quartier page's counts read these few hundred rows instead of
    aggregating every incident. ``incidents``' AFTER INSERT/UPDATE/DELETE statement triggers add
    the net change of each statement (one aggregate over its transition tables, whatever wrote the
    rows: the loader's merge, a report, a status change), TRUNCATE empties it; see migration
    ``pages_01``. ``resolved_late``: resolved after the deadline; ``simulated``: simulated times;
    ``resolved``: with a resolution time (the median delays' row count); ``with_deadline``:
    with a deadline (``expected_at``).
    """

    __tablename__ = "quartier_incident_counts"
    quartier_id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)
    resolved_late: Mapped[int] = mapped_column(BigInteger)
    simulated: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[int] = mapped_column(BigInteger)
    with_deadline: Mapped[int] = mapped_column(BigInteger)


#: Open incidents of a quartier whose deadline is ahead (the quartier page's "overdue" is the
#: others with a deadline), index-only over the recent ones.
Index("ix_incidents_open_quartier_expected_at", Incident.quartier_id, Incident.expected_at,
      postgresql_include=["category"],
      postgresql_where="status::text IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")")

#: The resolution delay in hours (the quartier page's medians) and its indexes, overall and per
#: category: the median is read at an OFFSET of the count in quartier_incident_counts.
RESOLUTION_DELAY_HOURS = "(extract(epoch FROM resolved_at - reported_at) / 3600.0)"
Index("ix_incidents_resolved_quartier_delay", Incident.quartier_id, text(RESOLUTION_DELAY_HOURS),
      postgresql_include=["reported_at", "resolved_at"], postgresql_where=text("resolved_at IS NOT NULL"))
Index("ix_incidents_resolved_quartier_category_delay", Incident.quartier_id, Incident.category,
      text(RESOLUTION_DELAY_HOURS), postgresql_include=["reported_at", "resolved_at"],
      postgresql_where=text("resolved_at IS NOT NULL"))
