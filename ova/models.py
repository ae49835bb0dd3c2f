"""Typed SQLAlchemy 2 models of the OVA schema.

Every geometry is stored in Lambert-93 (``STORAGE_SRID``) with a GiST index; web clients get
WGS 84 through ``ST_Transform`` at query time. Enumerations are text columns with CHECK
constraints so that adding a value is a plain migration.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from geoalchemy2 import Geometry
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
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ova.settings import STORAGE_SRID

ROLES = ("citizen", "commercant", "agent", "urbaniste", "banque", "admin")
INCIDENT_STATUSES = ("new", "acknowledged", "in_progress", "resolved", "rejected")
ZONE_STATUSES = ("draft", "approved")
NORM_METRICS = ("response_delay", "frequency", "document")
NORM_SCOPES = ("territory", "quartier", "priority_zones", "zone")
NORM_PERIODS = ("week", "month", "quarter", "year")
#: Units of a response-delay norm's delay: elapsed hours, working days or working hours of its
#: calendar, or the deadline the source system gave each request (``incidents.source_expected_at``).
DELAY_UNITS = ("hours", "working_days", "working_hours", "source")
GEO_PRECISIONS = ("address", "commune_centroid", "arrondissement_centroid", "unknown")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def geometry(kind: str) -> Geometry:
    """A geometry column type of ``kind`` in the storage SRID, with a GiST index."""
    return Geometry(kind, srid=STORAGE_SRID, spatial_index=True)


def _now():
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Producer(Base):
    """A producteur public d'information: a city service that publishes layers and handles incidents."""

    __tablename__ = "producers"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    url: Mapped[str | None] = mapped_column(String(500))
    competence_area = mapped_column(geometry("MULTIPOLYGON"), nullable=True)
    created_at: Mapped[dt.datetime] = _now()


class ChampAction(Base):
    """One of the four OVA champs d'action (Entretien–Propreté, Prévention–Sécurité, …)."""

    __tablename__ = "champs_action"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    label_fr: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class TacheStandard(Base):
    """A tâche standard of a champ d'action, with the producers responsible for it."""

    __tablename__ = "taches_standard"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    champ_code: Mapped[str] = mapped_column(ForeignKey("champs_action.code", ondelete="RESTRICT"))
    label_fr: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer)

    champ: Mapped[ChampAction] = relationship()
    producers: Mapped[list["Producer"]] = relationship(secondary="tache_producers")


class TacheProducer(Base):
    """Which producers are responsible for a tâche standard."""

    __tablename__ = "tache_producers"
    tache_code: Mapped[str] = mapped_column(ForeignKey("taches_standard.code", ondelete="CASCADE"), primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id", ondelete="CASCADE"), primary_key=True)


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


class Quartier(Base):
    """A neighbourhood polygon of a commune."""

    __tablename__ = "quartiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    commune_insee: Mapped[str | None] = mapped_column(String(5))
    commune_name: Mapped[str | None] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = _now()
    geom = mapped_column(geometry("MULTIPOLYGON"), nullable=False)

    producer: Mapped[Producer | None] = relationship()


class PriorityZone(Base):
    """One version of a zone commerciale prioritaire; versions of a zone share its ``code``."""

    __tablename__ = "priority_zones"
    __table_args__ = (
        UniqueConstraint("code", "valid_from", name="uq_priority_zones_code_valid_from"),
        CheckConstraint(_in("status", ZONE_STATUSES), name="status"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="SET NULL"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _now()
    geom = mapped_column(geometry("MULTIPOLYGON"), nullable=False)

    quartier: Mapped[Quartier | None] = relationship()


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


class Norm(Base):
    """A norme de qualité: a measurable result objective of a tâche standard, over a scope.

    Metrics: ``response_delay`` (share of incidents of ``category_codes`` resolved within
    ``delay_value`` ``delay_unit``: see norms/deadlines.py), ``frequency`` (``events_required`` activities of ``activity_kind`` per
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


class Incident(Base):
    """A reported problem in public space (DansMaRue, Open311, the portal's own form)."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_incidents_source_external_id"),
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status"),
        Index("ix_incidents_reported_at", "reported_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(ForeignKey("incident_categories.code", ondelete="RESTRICT"))
    #: The category as the source named it (e.g. DansMaRue type), kept for traceability.
    source_category: Mapped[str | None] = mapped_column(String(255))
    subcategory: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(500))
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


class Establishment(Base):
    """A business establishment (SIRENE), placed at its address or at a commune centroid."""

    __tablename__ = "establishments"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_establishments_source_external_id"),
        CheckConstraint(_in("geo_precision", GEO_PRECISIONS), name="geo_precision"),
        Index("ix_establishments_siret", "siret"),
        Index("ix_establishments_siren", "siren"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    siret: Mapped[str | None] = mapped_column(String(14))
    siren: Mapped[str] = mapped_column(String(9))
    name: Mapped[str | None] = mapped_column(String(300))
    naf_code: Mapped[str | None] = mapped_column(String(8))
    size_class: Mapped[str | None] = mapped_column(String(8))
    commune_insee: Mapped[str | None] = mapped_column(String(5))
    created_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    geo_precision: Mapped[str] = mapped_column(String(32), default="address", server_default="address")
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="SET NULL"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("priority_zones.id", ondelete="SET NULL"))
    geom = mapped_column(geometry("POINT"), nullable=True)


class PublicContract(Base):
    """One DECP contract × supplier (titulaire) row."""

    __tablename__ = "public_contracts"
    __table_args__ = (
        UniqueConstraint("decp_id", "supplier_id", name="uq_public_contracts_decp_id_supplier_id"),
        Index("ix_public_contracts_buyer_siret", "buyer_siret"),
        Index("ix_public_contracts_supplier_id", "supplier_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    decp_id: Mapped[str] = mapped_column(String(128))
    buyer_siret: Mapped[str | None] = mapped_column(String(14))
    buyer_name: Mapped[str | None] = mapped_column(String(300))
    object: Mapped[str | None] = mapped_column(Text)
    nature: Mapped[str | None] = mapped_column(String(100))
    procedure: Mapped[str | None] = mapped_column(String(200))
    cpv_code: Mapped[str | None] = mapped_column(String(10))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    notified_on: Mapped[dt.date | None] = mapped_column(Date)
    duration_months: Mapped[int | None] = mapped_column(Integer)
    place_code: Mapped[str | None] = mapped_column(String(20))
    place_type: Mapped[str | None] = mapped_column(String(40))
    supplier_id: Mapped[str] = mapped_column(String(32))
    supplier_id_type: Mapped[str | None] = mapped_column(String(40))
    supplier_siret: Mapped[str | None] = mapped_column(String(14))
    supplier_name: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(64))


class Layer(Base):
    """A catalogue layer: a published view of a table, with its open-data metadata."""

    __tablename__ = "layers"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    abstract: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    theme: Mapped[str | None] = mapped_column(String(100))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id", ondelete="RESTRICT"))
    contact: Mapped[str | None] = mapped_column(String(300))
    licence: Mapped[str] = mapped_column(String(100), default="Licence Ouverte 2.0")
    attribution: Mapped[str | None] = mapped_column(String(500))
    update_frequency: Mapped[str | None] = mapped_column(String(50))
    source_table: Mapped[str] = mapped_column(String(128))
    #: Key/value equality filters applied to the source table (whitelisted columns only).
    source_filter: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    geometry_type: Mapped[str | None] = mapped_column(String(32))
    #: Roles allowed to read the layer; empty means public.
    restricted_to: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    #: Bumped whenever the data changes; part of tile/ETag cache keys.
    data_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_update: Mapped[dt.datetime] = _now()
    created_at: Mapped[dt.datetime] = _now()

    producer: Mapped[Producer] = relationship()


class User(Base):
    """A portal account with one role; agents belong to a producer."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint("role <> 'agent' OR producer_id IS NOT NULL", name="agent_producer"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[dt.datetime] = _now()

    producer: Mapped[Producer | None] = relationship()


class ApiToken(Base):
    """An API key of a user (Open311 clients, restricted layers); only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _now()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    user: Mapped[User] = relationship()


# --- indicators ---

INDICATOR_UNIT_KINDS = ("quartier", "zone")
INDICATOR_PERIOD_KINDS = ("month", "12m", "prev12m")


class TerritoryIndicator(Base):
    """Materialised indicators of one quartier or priority-zone version over one period.

    Filled by ``indicators.territory.compute`` (``ova indicators compute``): a row per unit and
    per month of the last 24 months, plus the rolling 12 months (``12m``) and the 12 before
    (``prev12m``). Raw, unsuppressed figures: public outputs go through ``indicators.suppression``.
    """

    __tablename__ = "territory_indicators"
    __table_args__ = (
        UniqueConstraint("unit_kind", "unit_id", "period_kind", "period_start",
                         name="uq_territory_indicators_unit_period"),
        CheckConstraint(_in("unit_kind", INDICATOR_UNIT_KINDS), name="unit_kind"),
        CheckConstraint(_in("period_kind", INDICATOR_PERIOD_KINDS), name="period_kind"),
        CheckConstraint("period_end > period_start", name="period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_kind: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(Integer)
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[dt.date] = mapped_column(Date)
    #: Exclusive end of the period.
    period_end: Mapped[dt.date] = mapped_column(Date)
    area_km2: Mapped[float | None] = mapped_column(Numeric(12, 4))
    population: Mapped[int | None] = mapped_column(Integer)
    establishments_active: Mapped[int | None] = mapped_column(Integer)
    establishments_created: Mapped[int | None] = mapped_column(Integer)
    establishments_closed: Mapped[int | None] = mapped_column(Integer)
    incidents: Mapped[int | None] = mapped_column(Integer)
    incidents_resolved: Mapped[int | None] = mapped_column(Integer)
    median_resolution_hours: Mapped[float | None] = mapped_column(Numeric(12, 2))
    #: True when at least one resolution delay of the median comes from simulated times.
    resolution_simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    establishments_per_km2: Mapped[float | None] = mapped_column(Numeric(14, 3))
    incidents_per_km2: Mapped[float | None] = mapped_column(Numeric(14, 3))
    incidents_per_1000_establishments: Mapped[float | None] = mapped_column(Numeric(14, 3))
    incidents_per_1000_inhabitants: Mapped[float | None] = mapped_column(Numeric(14, 3))
    establishments_per_1000_inhabitants: Mapped[float | None] = mapped_column(Numeric(14, 3))
    #: 12m rows: change against the previous 12 months, in percent.
    incidents_prev12m: Mapped[int | None] = mapped_column(Integer)
    establishments_active_prev12m: Mapped[int | None] = mapped_column(Integer)
    incidents_trend_pct: Mapped[float | None] = mapped_column(Numeric(10, 2))
    establishments_trend_pct: Mapped[float | None] = mapped_column(Numeric(10, 2))
    #: Extension point for the norms engine: share of norms met (0–1); NULL until it is wired.
    norms_met_share: Mapped[float | None] = mapped_column(Numeric(5, 4))
    computed_at: Mapped[dt.datetime] = _now()


class CommuneEpci(Base):
    """Commune → EPCI (métropole) membership of the shipped cities (indicators/data/commune_epci.csv)."""

    __tablename__ = "commune_epci"
    commune_insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    commune_name: Mapped[str] = mapped_column(String(200))
    epci_siren: Mapped[str] = mapped_column(String(9))
    epci_name: Mapped[str] = mapped_column(String(200))
    departement: Mapped[str] = mapped_column(String(3))
# --- incidents workflow ---

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
    confirmation: Mapped[str | None] = mapped_column(String(16))
    confirmation_comment: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _now()


# --- layers ---

class LayerVersion(Base):
    """One published version of a layer's data: who, when, how many features, and a note."""

    __tablename__ = "layer_versions"
    __table_args__ = (
        UniqueConstraint("layer_id", "version", name="uq_layer_versions_layer_id_version"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    #: The layer's data_version once this version was published.
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(300))
    feature_count: Mapped[int] = mapped_column(Integer)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = _now()


# --- norms and compliance ---

COMPLIANCE_STATUSES = ("met", "not_met", "insufficient_data")

#: Lookups of compliance results by quartier and month (incremental recompute, dashboard) and of
#: incidents by quartier-month (the engine's incremental path reads only those, index-only: the
#: columns it judges are included).
Index("ix_incidents_quartier_id_reported_at", Incident.quartier_id, Incident.reported_at,
      postgresql_include=["category", "status", "zone_id", "resolved_at", "times_simulated"])


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
    #: First day of the month (Europe/Paris calendar).
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


# --- security ---

AUDIT_ACTIONS = ("create", "update", "delete")


class LoginFailure(Base):
    """One refused login, for rate limiting: keyed hashes of the account tried and of the client IP."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_hash_at", "account_hash", "at"),
        Index("ix_login_failures_client_hash_at", "client_hash", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: Keyed hash of the normalised email typed (a mistyped password is never stored in clear).
    account_hash: Mapped[str] = mapped_column(String(64))
    #: Keyed hash of the client's IP address (never the address itself).
    client_hash: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = _now()


class RateCounter(Base):
    """Requests of one client in one fixed time window (API rate limits), counted across workers.

    UNLOGGED: counters need no crash safety, and skipping the WAL keeps the per-request upsert cheap.
    """

    __tablename__ = "rate_counters"
    __table_args__ = (
        Index("ix_rate_counters_window_start", "window_start"),
        {"prefixes": ["UNLOGGED"]},
    )
    #: Scope and keyed hash of the client's address, e.g. ``api:<hmac>`` (never the address itself).
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """One change to a norm, zone, incident, layer or user: who, when, and the row before/after."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_in("action", AUDIT_ACTIONS), name="action"),
        Index("ix_audit_log_table_name_at", "table_name", "at"),
        Index("ix_audit_log_table_name_row_id", "table_name", "row_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = _now()
    #: The user who made the change; None for the command line, ETL or a deleted account.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    table_name: Mapped[str] = mapped_column(String(63))
    row_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
