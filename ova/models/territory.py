"""The territory: quartiers and the versioned priority zones."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ova.models.base import Base, _in, _now, geometry
from ova.models.reference import Producer

ZONE_STATUSES = ("draft", "approved")


class Quartier(Base):
    """A neighbourhood polygon of a commune."""

    __tablename__ = "quartiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    commune_insee: Mapped[str | None] = mapped_column(String(12))
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


class TerritoryRecord(Base):
    """The territory the database was created for (one row, written by the migration ``territory_01``)."""

    __tablename__ = "territory"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, server_default="1", autoincrement=False)
    srid: Mapped[int] = mapped_column(Integer)
    crs_name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    recorded_at: Mapped[dt.datetime] = _now()
