"""Quartier polygons → ``quartiers`` (natural key: ``code``).

Strict by default (``max_reject_rate`` 0): a quartier missing from the layer would leave a hole
in the territory, so any rejected feature refuses the load. Quartiers of one commune must not
overlap (``etl.topology``; refused above the tolerance unless ``allow_overlaps``).
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from etl import topology
from etl.target import Field, Target
from ova.errors import InvalidInput
from ova.models import Quartier


def producer_id(conn: Connection, slug: str | None) -> int | None:
    """The id of producer ``slug`` (None when no slug); unknown slugs are refused."""
    if slug is None:
        return None
    found = conn.scalar(text("SELECT id FROM producers WHERE slug = :s"), {"s": slug})
    if found is None:
        raise InvalidInput(f"unknown producer '{slug}'")
    return found


class QuartiersTarget(Target):
    name = "quartiers"
    table = "quartiers"
    model = Quartier
    key = ("code",)
    fields = (
        Field("code", required=True),
        Field("name", required=True),
        Field("commune_insee", "commune"),
        Field("commune_name"),
        Field("population", "int"),
    )
    geometry = "multipolygon"
    max_reject_rate = 0.0
    computed = {"producer_id": "CAST(:producer_id AS integer)"}
    touched = {"loaded_at": "now()"}

    def params(self, conn, options):
        return {"producer_id": producer_id(conn, options.producer)}

    def check_staged(self, conn, stage, options):
        """Overlaps (refused above the tolerance unless ``allow_overlaps``) and gaps per commune."""
        columns = set(conn.execute(text(f"SELECT * FROM {stage} LIMIT 0")).keys())
        return topology.check_quartiers(conn, stage, columns, tolerance=options.overlap_tolerance,
                                        allow_overlaps=options.allow_overlaps)


TARGET = QuartiersTarget()
