"""Establishments (SIRENE, DECP suppliers) → ``establishments``.

Natural key: (``source``, ``external_id``). SIREN and SIRET are checked (Luhn; La Poste's own
rule); the SIREN is taken from the SIRET when not given. Rows without coordinates are kept with
``geo_precision = 'unknown'`` and no geometry. Establishments are placed in quartiers and
priority zones while they are merged.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from etl.target import Field, Target
from ova.assignment import build_quartier_cells, placement_sql
from ova.models import GEO_PRECISIONS, Establishment


class EstablishmentsTarget(Target):
    name = "establishments"
    table = "establishments"
    model = Establishment
    key = ("source", "external_id")
    fields = (
        Field("external_id", required=True),
        Field("siret", "siret"),
        Field("siren", "siren", required=True),
        Field("name"),
        Field("naf_code"),
        Field("size_class"),
        Field("commune_insee", "commune", soft=True),
        Field("created_on", "date"),
        Field("closed_on", "date"),
        Field("geo_precision", "enum", choices=GEO_PRECISIONS),
    )
    geometry = "point"
    geometry_required = False
    outside_territory = "drop"

    def derived_fields(self):
        return ("siren", "geo_precision")

    def derive(self, values, frame):
        siret = values.get("siret")
        siren = values.get("siren")
        if siren is None:
            siren = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        if siret is not None:
            siren = siren.where(siren.notna(), siret.map(lambda v: v.replace(" ", "")[:9] if isinstance(v, str) else None))
        values["siren"] = siren
        if "geo_precision" not in values:
            values["geo_precision"] = pd.Series(["address"] * len(frame), index=frame.index, dtype=object)

    merge_columns = ("quartier_id", "zone_id")

    def merge_source(self, conn, base, rows):
        place = placement_sql("establishments", "b", build_quartier_cells(conn, points=rows))
        return (f"SELECT b.*, {place['quartier_id']} AS quartier_id, {place['zone_id']} AS zone_id "
                f"FROM ({base}) b {place['join']}")

    def after_merge(self, conn, summary, merge):
        summary.extra["outside every quartier"] = conn.scalar(text(
            f"SELECT count(*) FROM {merge.rows} WHERE geom IS NOT NULL AND quartier_id IS NULL"))
        summary.extra["without coordinates"] = conn.scalar(text(
            "SELECT count(*) FROM etl_stage_establishments WHERE x IS NULL"))


TARGET = EstablishmentsTarget()
