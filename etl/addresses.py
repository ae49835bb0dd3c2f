"""Address points (the BAN's ``adresses-XX.csv``, or a city's own file) → ``addresses``.

Natural key: (``source``, ``external_id``): the BAN's ``id`` for its files, whatever the city's
mapping builds for its own. House numbers are stored as published (``12``, ``12b``, ``12bis``)
with a matching key (``12b``), and street and city names with the keys the geocoder compares
(:mod:`addresses.text`), computed once per distinct name while reading. After the merge the
streets (one per commune, postcode and street) are derived set-based in ``address_streets``,
each placed on its most central address: that is what queries are matched against.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from addresses.index import name_key
from addresses.text import fold_ordinal
from etl.mapping import load_mapping
from etl.pipeline import run_load
from etl.target import Field, LoadOptions, LoadSummary, Target
from ova.models import Address


class AddressesTarget(Target):
    name = "addresses"
    table = "addresses"
    model = Address
    key = ("source", "external_id")
    fields = (
        Field("external_id", required=True),
        Field("housenumber", required=True),
        Field("street", required=True),
        Field("postcode"),
        Field("citycode", required=True),
        Field("city", required=True),
        Field("source"),
        # derived (see derive): a mapping never needs to name them
        Field("housenumber_key"),
        Field("street_key"),
        Field("city_key"),
    )
    geometry = "point"
    touched = {"loaded_at": "now()"}

    def derived_fields(self):
        return ("housenumber_key", "street_key", "city_key")

    def derive(self, values, frame):
        number = values.get("housenumber")
        if number is not None:
            # "12 bis", "12 B" → "12bis", "12b": one spelling per number, as the BAN writes them.
            number = number.str.replace(r"\s+", "", regex=True).str.lower()
            number = number.where(number.notna() & (number != ""), None)
            values["housenumber"] = number
            values["housenumber_key"] = _per_distinct(number, fold_ordinal)
        for name, key in (("street", "street_key"), ("city", "city_key")):
            if name in values:
                values[key] = _per_distinct(values[name], name_key)

    def after_merge(self, conn, summary, merge):
        if merge.changed or not conn.scalar(text("SELECT EXISTS (SELECT FROM address_streets)")):
            summary.extra["streets written"] = refresh_streets(conn)
        summary.extra["streets"] = conn.scalar(text("SELECT count(*) FROM address_streets"))


def _per_distinct(values: pd.Series, function) -> pd.Series:
    """``function`` applied once per distinct non-null value (names repeat on every address)."""
    distinct = {v: function(v) for v in values.dropna().unique()}
    return values.map(distinct).astype(object).where(values.notna(), None)


#: One street per commune, postcode and street key, on the address nearest to the centroid of
#: its addresses; written only where it changed; streets left without addresses are deleted.
REFRESH_STREETS = """
WITH grouped AS MATERIALIZED (
    SELECT citycode, coalesce(postcode, '') AS postcode, street_key,
           mode() WITHIN GROUP (ORDER BY street) AS street,
           mode() WITHIN GROUP (ORDER BY city) AS city,
           mode() WITHIN GROUP (ORDER BY city_key) AS city_key,
           count(*)::integer AS address_count, ST_Centroid(ST_Collect(geom)) AS centre
    FROM addresses GROUP BY 1, 2, 3),
placed AS (
    SELECT DISTINCT ON (g.citycode, g.postcode, g.street_key) g.*, a.geom
    FROM grouped g JOIN addresses a
      ON a.citycode = g.citycode AND coalesce(a.postcode, '') = g.postcode AND a.street_key = g.street_key
    ORDER BY g.citycode, g.postcode, g.street_key, a.geom <-> g.centre, a.id),
written AS (
    INSERT INTO address_streets AS s (street, street_key, postcode, citycode, city, search, address_count, geom)
    SELECT street, street_key, postcode, citycode, city, concat_ws(' ', street_key, city_key),
           address_count, geom FROM placed
    ON CONFLICT (citycode, postcode, street_key) DO UPDATE
       SET street = excluded.street, city = excluded.city, search = excluded.search,
           address_count = excluded.address_count, geom = excluded.geom
       WHERE (s.street, s.city, s.search, s.address_count, ST_AsEWKB(s.geom))
             IS DISTINCT FROM (excluded.street, excluded.city, excluded.search, excluded.address_count,
                               ST_AsEWKB(excluded.geom))
    RETURNING 1),
deleted AS (
    DELETE FROM address_streets s WHERE NOT EXISTS (
        SELECT FROM addresses a WHERE a.citycode = s.citycode AND coalesce(a.postcode, '') = s.postcode
                                  AND a.street_key = s.street_key)
    RETURNING 1)
SELECT (SELECT count(*) FROM written) + (SELECT count(*) FROM deleted)
"""


def refresh_streets(conn: Connection) -> int:
    """Derive ``address_streets`` from ``addresses`` (set-based); returns the rows written or deleted."""
    changed = conn.scalar(text(REFRESH_STREETS))
    conn.execute(text("ANALYZE address_streets"))
    return changed


TARGET = AddressesTarget()


def load_addresses(bind: Engine | Connection, path: str | Path, *, preset: str | None = "ban",
                   mapping: str | Path | None = None, **options) -> LoadSummary:
    """Upsert the addresses of ``path`` (default preset: the BAN CSV, ``ban``)."""
    if mapping is not None:
        preset = None
    return run_load(bind, TARGET, path, load_mapping(preset=preset, mapping_file=mapping), LoadOptions(**options))
