"""Planned purchases (programmation prévisionnelle des achats) of the territory's buyers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ova.models.base import Base, _in, _now, geometry

#: planned → published (a notice is out) → awarded (a DECP contract records it); cancelled: dropped.
PURCHASE_STATUSES = ("planned", "published", "awarded", "cancelled")
#: How the place of execution is known: drawn on the map or given as a point, a quartier, a commune.
PLACE_BASES = ("drawn", "point", "quartier", "commune")


class PlannedPurchase(Base):
    """One purchase a buyer plans: object, CPV code, estimated amount (or band), expected quarter,
    place of execution, status and its links to the notice and to the DECP record."""

    __tablename__ = "planned_purchases"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_planned_purchases_source_external_id"),
        CheckConstraint(_in("status", PURCHASE_STATUSES), name="status"),
        CheckConstraint(_in("place_basis", PLACE_BASES), name="place_basis"),
        CheckConstraint("amount_min IS NULL OR amount_max IS NULL OR amount_min <= amount_max", name="amount_band"),
        Index("ix_planned_purchases_buyer_siret", "buyer_siret"),
        Index("ix_planned_purchases_cpv_code", "cpv_code"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: The file (or ``portail`` for rows entered in the portal): natural key with ``external_id``.
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    buyer_siret: Mapped[str] = mapped_column(String(14))
    buyer_name: Mapped[str | None] = mapped_column(String(300))
    object: Mapped[str] = mapped_column(Text)
    cpv_code: Mapped[str | None] = mapped_column(String(10))
    #: Estimated amount (€ HT); a band is ``amount_min``–``amount_max``.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    amount_min: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    amount_max: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    #: Expected publication date (the first day of the quarter when only a quarter is known).
    expected_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Expected publication quarter, ``2025-T2``.
    expected_quarter: Mapped[str | None] = mapped_column(String(7))
    procedure: Mapped[str | None] = mapped_column(String(200))
    lots: Mapped[int | None] = mapped_column(Integer)
    place_commune: Mapped[str | None] = mapped_column(String(12))
    place_quartier: Mapped[str | None] = mapped_column(String(64))
    place_name: Mapped[str | None] = mapped_column(String(200))
    place_basis: Mapped[str | None] = mapped_column(String(16))
    contact: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="planned", server_default="planned")
    notice_url: Mapped[str | None] = mapped_column(String(500))
    #: The DECP record of the awarded contract (``public_contracts.decp_id``).
    decp_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    #: When the last alert about this purchase was queued (new or changed purchase).
    alerted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: The place of execution: a point, a drawn area, or the quartier's or commune's outline.
    geom = mapped_column(geometry("GEOMETRY"), nullable=True)
