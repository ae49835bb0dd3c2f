"""Economic data: business establishments (SIRENE) and public contracts (DECP)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ova.models.base import Base, _in, geometry

GEO_PRECISIONS = ("address", "commune_centroid", "arrondissement_centroid", "unknown")


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
    #: Required in a French territory (the loader says so); none elsewhere.
    siren: Mapped[str | None] = mapped_column(String(9))
    name: Mapped[str | None] = mapped_column(String(300))
    naf_code: Mapped[str | None] = mapped_column(String(8))
    size_class: Mapped[str | None] = mapped_column(String(8))
    commune_insee: Mapped[str | None] = mapped_column(String(12))
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
