"""The portal's own basemap: named streets and the other line/polygon themes of a street map."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, Computed, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ova.models.base import Base, _in, _now, geometry

#: Themes of basemap features (``basemap_features.theme``), drawn bottom to top in this order.
BASEMAP_THEMES = ("green", "water", "buildings", "streets")


class BasemapFeature(Base):
    """A line or polygon of the portal's own basemap: a named street, a river, a park, a building.

    Natural key (``source``, ``external_id``); ``rank`` orders streets by importance (1: boulevards
    and avenues … 3: passages and paths) and drives their width on the map.
    """

    __tablename__ = "basemap_features"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_basemap_features_source_external_id"),
        CheckConstraint(_in("theme", BASEMAP_THEMES), name="theme"),
        CheckConstraint("rank BETWEEN 1 AND 3", name="rank"),
        CheckConstraint("GeometryType(geom) IN ('MULTILINESTRING', 'MULTIPOLYGON')", name="geometry_kind"),
        Index("ix_basemap_features_theme_rank", "theme", "rank"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(100))
    theme: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(50))
    rank: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    commune_insee: Mapped[str | None] = mapped_column(String(12))
    loaded_at: Mapped[dt.datetime] = _now()
    geom = mapped_column(geometry("GEOMETRY"), nullable=False)
    #: ``geom`` in Web Mercator (generated, stored): the grid tiles are cut on.
    geom_3857 = mapped_column(Geometry("GEOMETRY", srid=3857, spatial_index=True),
                              Computed("ST_Transform(geom, 3857)", persisted=True))
