"""Planned purchases (programmation prévisionnelle des achats) of a buyer → ``planned_purchases``.

Natural key: (``source``, ``external_id``): a buyer's file is reloaded as it changes, and only
the rows that differ are written. The CPV code, the SIRET, the amounts (``1 234,56``) and the
quarter (``2025-T2``, ``T2 2025``, ``2e trimestre 2025``) are normalised; the expected
publication date defaults to the first day of the quarter and the quarter to the date's. The
place of execution is a commune (INSEE) or a quartier (code): after the merge it is drawn from
the quartiers (``indicators.purchases.place_geometries``), areas drawn in the portal are kept.
Firms following the CPV division or the commune of a new or changed row are told
(``notifications.events.purchases_changed``).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from etl.target import Field, Target
from indicators.purchases import place_geometries
from notifications.events import purchases_changed
from ova.models import PURCHASE_STATUSES, PlannedPurchase

QUARTER_START = ("make_date(left(s.expected_quarter, 4)::int, right(s.expected_quarter, 1)::int * 3 - 2, 1)")


class PurchasesTarget(Target):
    name = "purchases"
    table = "planned_purchases"
    model = PlannedPurchase
    key = ("source", "external_id")
    fields = (
        Field("external_id", required=True),
        Field("buyer_siret", "siret", required=True),
        Field("buyer_name"),
        Field("object", required=True),
        Field("cpv_code", "cpv"),
        Field("amount", "decimal"),
        Field("amount_min", "decimal"),
        Field("amount_max", "decimal"),
        Field("expected_on", "date"),
        Field("expected_quarter", "quarter"),
        Field("procedure"),
        Field("lots", "int"),
        Field("place_commune"),
        Field("place_quartier"),
        Field("place_name"),
        Field("contact"),
        Field("status", "enum", choices=PURCHASE_STATUSES),
        Field("notice_url"),
        Field("decp_id"),
    )
    geometry = None
    touched = {"updated_at": "now()"}
    computed = {
        "expected_on": f"coalesce(s.expected_on::date, CASE WHEN s.expected_quarter IS NOT NULL THEN {QUARTER_START} END)",
        "expected_quarter": ("coalesce(s.expected_quarter, CASE WHEN s.expected_on IS NOT NULL THEN "
                             "to_char(s.expected_on::date, 'YYYY') || '-T' || extract(quarter FROM s.expected_on::date) "
                             "END)"),
        "status": "coalesce(s.status, 'planned')",
    }
    scope_columns = ("external_id",)
    scope_group = "external_id"

    def derived_fields(self):
        return ("expected_on", "expected_quarter", "status")

    def derive(self, values, frame):
        for name in self.derived_fields():
            if name not in values:
                values[name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)

    def after_merge(self, conn, summary, merge):
        ids = conn.scalars(text(
            f"SELECT p.id FROM planned_purchases p JOIN {merge.rows} m "
            "ON (p.source, p.external_id) = (m.source, m.external_id)")).all()
        written = [e for (e,) in merge.scope]
        changed = conn.scalars(text(
            f"SELECT p.id FROM planned_purchases p JOIN {merge.rows} m "
            "ON (p.source, p.external_id) = (m.source, m.external_id) WHERE m.external_id = ANY (:ext)"),
            {"ext": written}).all() if written else []
        place_geometries(conn, list(ids))
        summary.extra["placed (quartier or commune outline)"] = conn.scalar(text(
            "SELECT count(*) FROM planned_purchases WHERE id = ANY (:ids) AND geom IS NOT NULL"), {"ids": list(ids)})
        summary.extra["without a known place"] = conn.scalar(text(
            "SELECT count(*) FROM planned_purchases WHERE id = ANY (:ids) AND geom IS NULL"), {"ids": list(ids)})
        summary.extra["alerts queued"] = purchases_changed(conn, list(changed))


TARGET = PurchasesTarget()
