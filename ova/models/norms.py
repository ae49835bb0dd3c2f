"""Quality norms and compliance: norms, audits, activities, deliveries, results, publications."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Interval,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ova.models.base import Base, _in, _now, geometry
from ova.models.incidents import Incident
from ova.models.reference import TacheStandard

NORM_METRICS = ("response_delay", "frequency", "document")
NORM_SCOPES = ("territory", "quartier", "priority_zones", "zone")
NORM_PERIODS = ("week", "month", "quarter", "year")
#: Units of a response-delay norm's delay: elapsed hours, working days or working hours of its
#: calendar, or the deadline the source system gave each request (``incidents.source_expected_at``).
DELAY_UNITS = ("hours", "working_days", "working_hours", "source")


class Calendar(Base):
    """A working calendar: the weekdays that count, the public holidays, optional service hours.

    Its days are materialised in ``calendar_days`` (see norms/calendars.py) so that deadlines in
    working days or hours are joins, not loops. ``opens``/``closes`` are local times of day as
    intervals from midnight (0 and 24 h when the calendar has no service hours).
    """

    __tablename__ = "calendars"
    __table_args__ = (
        CheckConstraint("closes > opens AND opens >= interval '0' AND closes <= interval '24 hours'",
                        name="service_hours"),
        CheckConstraint("cardinality(weekdays) > 0", name="weekdays"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label_fr: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    #: ISO weekdays that are working days (1 = Monday … 7 = Sunday).
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    #: ``holidays`` country and subdivision (``FR``, ``FR-57``, ``DE-SN``); None: the territory's
    #: (``OVA_HOLIDAYS``); ``none``: public holidays are working days.
    holidays: Mapped[str | None] = mapped_column(String(32))
    opens: Mapped[dt.timedelta] = mapped_column(Interval, server_default="0")
    closes: Mapped[dt.timedelta] = mapped_column(Interval, server_default="24:00:00")
    #: The calendar of norms that name none.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[dt.datetime] = _now()


class CalendarClosedDay(Base):
    """A day a calendar's service is closed besides the public holidays (a strike, a local holiday)."""

    __tablename__ = "calendar_closed_days"
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))


class CalendarDay(Base):
    """One day of a calendar: its working-day ordinal (None when closed) and the days worked so far."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("calendar_id", "ordinal", name="uq_calendar_days_calendar_id_ordinal"),)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    #: 1 for the calendar's first working day, 2 for the next…; None on a closed day.
    ordinal: Mapped[int | None] = mapped_column(Integer)
    #: Working days up to and including this one.
    worked_through: Mapped[int] = mapped_column(Integer)
    #: Why the day is closed (holiday name, closed-day reason, "weekend"); None when working.
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    #: The calendar's opening and closing times on this day as instants (the territory's time
    #: zone when the days were built), so that deadlines never convert a local time per incident.
    opens_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Norm(Base):
    """A norme de qualité: a measurable result objective of a tâche standard, over a scope.

    Metrics: ``response_delay`` (share of incidents of ``category_codes`` resolved within
    ``delay_value`` ``delay_unit``: see norms/deadlines.py), ``frequency`` (``events_required``
    activities of ``activity_kind`` per
    ``period``), ``document`` (a document delivered, yes/no with a date).
    Scopes: the whole ``territory``, one ``quartier``, the ``priority_zones`` (of the quartier
    when one is given, else all of them), or one ``zone`` (all versions sharing ``zone_code``).
    """

    __tablename__ = "norms"
    __table_args__ = (
        CheckConstraint(_in("metric", NORM_METRICS), name="metric"),
        CheckConstraint(_in("scope", NORM_SCOPES), name="scope"),
        CheckConstraint(f"period IS NULL OR {_in('period', NORM_PERIODS)}", name="period"),
        CheckConstraint("metric <> 'response_delay' OR (cardinality(category_codes) > 0 "
                        "AND (delay_unit = 'source' OR delay_value > 0))", name="response_delay"),
        CheckConstraint(_in("delay_unit", DELAY_UNITS), name="delay_unit"),
        CheckConstraint("metric <> 'frequency' OR (events_required > 0 AND period IS NOT NULL "
                        "AND activity_kind IS NOT NULL)", name="frequency"),
        CheckConstraint("scope <> 'quartier' OR quartier_id IS NOT NULL", name="quartier_scope"),
        CheckConstraint("scope <> 'zone' OR zone_code IS NOT NULL", name="zone_scope"),
        CheckConstraint("target_rate > 0 AND target_rate <= 1", name="target_rate"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    tache_code: Mapped[str] = mapped_column(ForeignKey("taches_standard.code", ondelete="RESTRICT"))
    label_fr: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    metric: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="CASCADE"))
    zone_code: Mapped[str | None] = mapped_column(String(64))
    category_codes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    #: The delay, in ``delay_unit`` (None for a norm judged by the source's deadline).
    delay_value: Mapped[int | None] = mapped_column(Integer)
    delay_unit: Mapped[str] = mapped_column(String(16), default="hours", server_default="hours")
    #: The working calendar of working-day/hour delays (None: the territory's default calendar).
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id", ondelete="RESTRICT"))
    #: True when the time an incident is on hold (waiting for a third party) does not count.
    pauses_on_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    activity_kind: Mapped[str | None] = mapped_column(String(64))
    events_required: Mapped[int | None] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(8))
    #: Share of cases that must comply for the norm to be met (1 = every case).
    target_rate: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.9"), server_default="0.9")
    #: Minimum number of cases below which the status is "insufficient data" (None: engine default).
    min_sample: Mapped[int | None] = mapped_column(Integer)
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="SET NULL"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = _now()

    tache: Mapped[TacheStandard] = relationship()


COMPLIANCE_STATUSES = ("met", "not_met", "insufficient_data")

#: Lookups of compliance results by quartier and month (incremental recompute, dashboard) and of
#: incidents by quartier-month (the engine's incremental path reads only those, index-only: the
#: columns it judges are included, the id and source deadline for the deadlines of norms).
Index("ix_incidents_quartier_id_reported_at", Incident.quartier_id, Incident.reported_at,
      postgresql_include=["category", "status", "zone_id", "resolved_at", "times_simulated", "id",
                          "source_expected_at"])


class TacheAudit(Base):
    """The yearly OVA audit of a tâche standard in a quartier: clear responsibility and commitment?"""

    __tablename__ = "tache_audits"
    __table_args__ = (
        UniqueConstraint("quartier_id", "tache_code", "year", name="uq_tache_audits_quartier_tache_year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    quartier_id: Mapped[int] = mapped_column(ForeignKey("quartiers.id", ondelete="CASCADE"))
    tache_code: Mapped[str] = mapped_column(ForeignKey("taches_standard.code", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    #: "Responsabilité claire et engagement public ?" OUI (True) / NON (False).
    clear_commitment: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = _now()


class Activity(Base):
    """One logged activity (a street sweeping round, a meeting …) measured by frequency norms."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_activities_source_external_id"),
        Index("ix_activities_kind_occurred_at", "kind", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="SET NULL"))
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="SET NULL"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("priority_zones.id", ondelete="SET NULL"))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(64), default="portal", server_default="portal")
    external_id: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()


class DocumentDelivery(Base):
    """A document delivered for a ``document`` norm (e.g. the services guide), in a quartier or everywhere."""

    __tablename__ = "document_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    norm_id: Mapped[int] = mapped_column(ForeignKey("norms.id", ondelete="CASCADE"))
    #: None: delivered in every quartier.
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="CASCADE"))
    delivered_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()


class ComplianceResult(Base):
    """Compliance of one norm in one quartier (and optionally one zone version) for one month.

    ``zone_id`` NULL is the whole scope of the norm in the quartier; a row per zone version gives
    the detail. ``cases`` are the judged cases (resolved incidents and open overdue ones; weeks
    or periods for frequency norms; 1 for documents); ``rate`` = compliant / cases.
    """

    __tablename__ = "compliance_results"
    __table_args__ = (
        CheckConstraint(_in("status", COMPLIANCE_STATUSES), name="status"),
        Index("ix_compliance_results_quartier_id_month", "quartier_id", "month"),
        Index("ix_compliance_results_norm_id_month", "norm_id", "month"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    norm_id: Mapped[int] = mapped_column(ForeignKey("norms.id", ondelete="CASCADE"))
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="CASCADE"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("priority_zones.id", ondelete="CASCADE"))
    #: First day of the month (calendar of the territory, ``OVA_TIMEZONE``).
    month: Mapped[dt.date] = mapped_column(Date)
    incidents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cases: Mapped[int] = mapped_column(Integer)
    compliant: Mapped[int] = mapped_column(Integer)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 5))
    median_delay_hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    p90_delay_hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    open_overdue: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    simulated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(20))
    computed_at: Mapped[dt.datetime] = _now()


class CompliancePublication(Base):
    """A frozen monthly publication of compliance results; a new version supersedes the old one."""

    __tablename__ = "compliance_publications"
    __table_args__ = (UniqueConstraint("month", "version", name="uq_compliance_publications_month_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = _now()
    #: Last day a publication counts as "on time" (the 5th of the following month by default).
    due_on: Mapped[dt.date] = mapped_column(Date)
    published_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("compliance_publications.id", ondelete="RESTRICT"))
    layer_id: Mapped[int | None] = mapped_column(ForeignKey("layers.id", ondelete="SET NULL"))
    row_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PublishedResult(Base):
    """A frozen compliance result of a publication (never updated: a new version is published)."""

    __tablename__ = "published_results"
    __table_args__ = (Index("ix_published_results_publication_id", "publication_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("compliance_publications.id", ondelete="RESTRICT"))
    norm_code: Mapped[str] = mapped_column(String(64))
    norm_label: Mapped[str] = mapped_column(String(300))
    quartier_code: Mapped[str | None] = mapped_column(String(32))
    quartier_name: Mapped[str | None] = mapped_column(String(200))
    zone_code: Mapped[str | None] = mapped_column(String(64))
    month: Mapped[dt.date] = mapped_column(Date)
    cases: Mapped[int] = mapped_column(Integer)
    compliant: Mapped[int] = mapped_column(Integer)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 5))
    target_rate: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    median_delay_hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    p90_delay_hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    open_overdue: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    geom = mapped_column(geometry("MULTIPOLYGON"), nullable=True)
