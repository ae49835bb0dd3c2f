"""The layer catalogue: layers and their published versions."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ova.models.base import Base, _now
from ova.models.reference import Producer


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
