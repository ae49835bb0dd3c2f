"""The declarative base of the OVA schema: naming convention, geometry type, shared column helpers."""
from __future__ import annotations


from geoalchemy2 import Geometry
from sqlalchemy import (
    DateTime,
    MetaData,
    func,
)
from sqlalchemy.orm import DeclarativeBase, mapped_column

from ova.settings import STORAGE_SRID


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
    """A geometry column type of ``kind`` with a GiST index, in the default storage SRID (a database's own
    columns take ``OVA_STORAGE_CRS`` from the migrations; the type's SRID only labels values without one)."""
    return Geometry(kind, srid=STORAGE_SRID, spatial_index=True)


def _now():
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
