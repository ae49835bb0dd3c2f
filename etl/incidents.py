"""Incidents (DansMaRue, Open311, a city's own files) → ``incidents``.

Natural key: (``source``, ``external_id``). The category must be a code of the OVA grid
(``ova/seed/ova_grid.yml``); mappings translate source categories with rules (data). The
producer is ``--producer`` or else the category's default service. After the merge, changed
incidents are placed in quartiers and zone versions, then their deadlines are refreshed.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from etl.assignment import assign_points
from etl.mapping import load_mapping
from etl.pipeline import Field, LoadOptions, LoadSummary, Target, id_scope, run_load
from etl.quartiers import producer_id
from norms.deadlines import refresh_deadlines
from norms.engine import compute_all, recompute
from ova.models import INCIDENT_STATUSES, Incident


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
    )
    geometry = "point"
    computed = {"producer_id": "coalesce(CAST(:producer_id AS integer), "
                               "(SELECT c.producer_id FROM incident_categories c WHERE c.code = s.category))"}
    touched = {"updated_at": "now()"}

    def params(self, conn, options):
        return {"producer_id": producer_id(conn, options.producer)}

    def after_merge(self, conn, summary, changed_ids):
        if changed_ids:
            assign_points(conn, "incidents", id_scope(changed_ids))
        summary.extra["outside every quartier"] = conn.scalar(text(
            "SELECT count(*) FROM incidents i JOIN etl_stage_incidents s "
            "ON (i.source, i.external_id) = (s.source, s.external_id) WHERE i.quartier_id IS NULL"))
        summary.extra["placed in a priority zone"] = conn.scalar(text(
            "SELECT count(*) FROM incidents i JOIN etl_stage_incidents s "
            "ON (i.source, i.external_id) = (s.source, s.external_id) WHERE i.zone_id IS NOT NULL"))
        summary.extra["deadlines set"] = refresh_deadlines(conn, id_scope(changed_ids)) if changed_ids else 0
        if changed_ids:
            scope = id_scope(changed_ids)
            # Only the quartier-months of the changed reports (all of them for a big load).
            if scope is None:
                compute_all(conn)
            else:
                recompute(conn, incident_ids=scope)


TARGET = IncidentsTarget()


def load_incidents(bind: Engine | Connection, path: str | Path, *, preset: str | None = None,
                   mapping: str | Path | None = None, **options) -> LoadSummary:
    """Upsert the incidents of ``path`` (see module docstring)."""
    return run_load(bind, TARGET, path, load_mapping(preset=preset, mapping_file=mapping), LoadOptions(**options))
