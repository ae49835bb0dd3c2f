"""Quartier polygons → ``quartiers`` (natural key: ``code``).

Strict by default (``max_reject_rate`` 0): a quartier missing from the layer would leave a hole
in the territory, so any rejected feature refuses the load.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

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
        Field("commune_insee"),
        Field("commune_name"),
        Field("population", "int"),
    )
    geometry = "multipolygon"
    max_reject_rate = 0.0
    computed = {"producer_id": "CAST(:producer_id AS integer)"}
    touched = {"loaded_at": "now()"}

    def params(self, conn, options):
        return {"producer_id": producer_id(conn, options.producer)}


TARGET = QuartiersTarget()
