"""Addresses for the portal's geocoder: address points (BAN or a city's file) and their streets."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ova.models.base import Base, _now, geometry


class Address(Base):
    """One address point (a house number on a street) from the BAN or a city's own file.

    ``*_key`` columns hold the names as the geocoder compares them (``addresses.text``: lower
    case, no accents, abbreviations expanded, ``de``/``la`` dropped); ``housenumber_key`` folds
    ``bis``/``ter`` to ``b``/``t`` as Paris publishes them.
    """

    __tablename__ = "addresses"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_addresses_source_external_id"),
        Index("ix_addresses_citycode_street_key_housenumber_key", "citycode", "street_key", "housenumber_key"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    #: As published: number and suffix (``12``, ``12b``, ``12bis``).
    housenumber: Mapped[str] = mapped_column(String(16))
    housenumber_key: Mapped[str] = mapped_column(String(16))
    street: Mapped[str] = mapped_column(String(255))
    street_key: Mapped[str] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(5))
    #: INSEE code of the commune (arrondissement codes 75101… for Paris).
    citycode: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(255))
    city_key: Mapped[str] = mapped_column(String(255))
    loaded_at: Mapped[dt.datetime] = _now()
    geom = mapped_column(geometry("POINT"), nullable=False)


class AddressStreet(Base):
    """A street of one commune and postcode, derived from its addresses after each load: what a
    query is matched against (``addresses.search`` holds them in memory), placed on its most
    central address."""

    __tablename__ = "address_streets"
    __table_args__ = (
        UniqueConstraint("citycode", "postcode", "street_key", name="uq_address_streets_citycode_postcode_street_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    street: Mapped[str] = mapped_column(String(255))
    street_key: Mapped[str] = mapped_column(String(255))
    #: '' when the addresses have none (part of the natural key).
    postcode: Mapped[str] = mapped_column(String(5))
    citycode: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(255))
    #: ``street_key`` and the city's key: the text a query is compared with.
    search: Mapped[str] = mapped_column(Text)
    #: Number of addresses on the street here (its importance in the ranking).
    address_count: Mapped[int] = mapped_column(Integer)
    geom = mapped_column(geometry("POINT"), nullable=False)
