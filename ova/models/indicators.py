"""Materialised territory indicators and the commune → EPCI table."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ova.models.base import Base, _in, _now

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
    commune_insee: Mapped[str] = mapped_column(String(12), primary_key=True)
    commune_name: Mapped[str] = mapped_column(String(200))
    epci_siren: Mapped[str] = mapped_column(String(9))
    epci_name: Mapped[str] = mapped_column(String(200))
    departement: Mapped[str] = mapped_column(String(3))
