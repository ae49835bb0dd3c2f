"""Incidents (DansMaRue, Open311, a city's own files) → ``incidents``.

Natural key: (``source``, ``external_id``). The category must be a code of the OVA grid
(``ova/seed/ova_grid.yml``); mappings translate source categories with rules (data). The
producer is ``--producer`` or else the category's default service. New and changed incidents are
placed in quartiers and zone versions and get their deadline while they are merged; then the
compliance of the quartier-months they are in (and were in, for updated rows) is recomputed.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from etl.quartiers import producer_id
from etl.target import Field, Target
from norms.deadlines import applicable_sql, deadline_params
from norms.engine import recompute
from ova.assignment import build_quartier_cells, placement_sql
from ova.models import INCIDENT_STATUSES, Incident
from ova.settings import sql_timezone


class IncidentsTarget(Target):
    name = "incidents"
    table = "incidents"
    model = Incident
    key = ("source", "external_id")
    fields = (
        Field("external_id", required=True),
        Field("category", "category", required=True),
        Field("source_category"),
        Field("subcategory"),
        Field("description"),
        Field("address"),
        Field("reported_at", "datetime", required=True, allow_future=False),
        Field("acknowledged_at", "datetime", allow_future=False),
        Field("resolved_at", "datetime", allow_future=False),
        Field("status", "enum", choices=INCIDENT_STATUSES),
        #: The source's own deadline (mapping field ``expected_at``, Open311 ``expected_datetime``).
        Field("source_expected_at", "datetime"),
    )
    geometry = "point"
    computed = {"producer_id": "coalesce(CAST(:producer_id AS integer), category.producer_id)"}
    joins = "LEFT JOIN incident_categories category ON category.code = s.category"
    # A changed description is a new citizen's text: out of the public layer until moderated again
    # (the original is private; see incidents/moderation.py).
    touched = {"updated_at": "now()"}
    on_change = {"description": {
        "public_description": 'CASE WHEN t."description" IS DISTINCT FROM x."description" '
                              'THEN NULL ELSE t."public_description" END',
        "description_state": 'CASE WHEN t."description" IS DISTINCT FROM x."description" '
                             "THEN 'pending' ELSE t.\"description_state\" END"}}

    def params(self, conn, options):
        return {"producer_id": producer_id(conn, options.producer), **deadline_params()}

    def derived_fields(self):
        return ("source_expected_at",)

    def derive(self, values, frame):
        # Always staged, so that the deadlines can fall back on it (NULL when the file has none).
        if "source_expected_at" not in values:
            values["source_expected_at"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)

    merge_columns = ("quartier_id", "zone_id", "norm_id", "expected_at")
    scope_columns = ("quartier_id", "reported_at")
    @property
    def scope_group(self) -> str:
        return f"quartier_id, date_trunc('month', reported_at AT TIME ZONE {sql_timezone()})::date"

    def merge_source(self, conn, base, rows):
        # Placement and deadline computed set-based while merging: each row is written once.
        place = placement_sql("incidents", "b", build_quartier_cells(conn, points=rows))
        return f"""
            WITH placed AS MATERIALIZED (
                SELECT b.*, {place['quartier_id']} AS quartier_id, {place['zone_id']} AS zone_id
                FROM ({base}) b {place['join']})
            SELECT p.*, a.norm_id, coalesce(a.expected_at, p.source_expected_at) AS expected_at
            FROM placed p LEFT JOIN ({applicable_sql('placed', '_row')}) a ON a.id = p._row"""

    def after_merge(self, conn, summary, merge):
        outside, in_zone, with_deadline = conn.execute(text(
            "SELECT count(*) FILTER (WHERE quartier_id IS NULL), count(*) FILTER (WHERE zone_id IS NOT NULL), "
            f"count(*) FILTER (WHERE expected_at IS NOT NULL) FROM {merge.rows}")).one()
        summary.extra["outside every quartier"] = outside
        summary.extra["placed in a priority zone"] = in_zone
        summary.extra["with a deadline"] = with_deadline
        keys = [(q, month) for q, month in merge.scope if q is not None]
        if keys:
            # The quartier-months the written rows are in now, and were in before an update.
            recompute(conn, keys=keys)


TARGET = IncidentsTarget()
