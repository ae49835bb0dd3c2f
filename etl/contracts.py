"""DECP public contracts (one row per contract × supplier) → ``public_contracts``.

Natural key: (``decp_id``, ``supplier_id``). Amounts and CPV codes are normalised; an invalid
buyer SIRET or CPV code is a warning (set to NULL), not a rejection, because the DECP are
published as declared. ``supplier_siret`` is the supplier id when it is a valid SIRET. After
the merge the join rate with ``establishments`` (by SIRET, else by SIREN) is reported: it is
how suppliers are placed on the map.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from etl.target import Field, Target
from ova.models import PublicContract

JOIN_RATE_SQL = """
    SELECT count(*) AS rows,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM establishments e WHERE e.siret = c.supplier_siret)) AS by_siret,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM establishments e WHERE e.siret = c.supplier_siret)
                               OR EXISTS (SELECT 1 FROM establishments e
                                          WHERE e.siren = left(c.supplier_siret, 9))) AS by_siren
    FROM public_contracts c JOIN etl_stage_contracts s
      ON (c.decp_id, c.supplier_id) = (s.decp_id, s.supplier_id)
"""


class ContractsTarget(Target):
    name = "contracts"
    table = "public_contracts"
    model = PublicContract
    key = ("decp_id", "supplier_id")
    fields = (
        Field("decp_id", required=True),
        Field("buyer_siret", "siret", soft=True),
        Field("buyer_name"),
        Field("object"),
        Field("nature"),
        Field("procedure"),
        Field("cpv_code", "cpv", soft=True),
        Field("amount", "decimal"),
        Field("notified_on", "date", soft=True, allow_future=False),
        Field("duration_months", "int", soft=True),
        Field("place_code"),
        Field("place_type"),
        Field("supplier_id", required=True),
        Field("supplier_id_type"),
        Field("supplier_siret", "siret", soft=True),
        Field("supplier_name"),
    )
    geometry = None

    def derived_fields(self):
        return ("supplier_siret",)

    def derive(self, values, frame):
        if "supplier_siret" in values:
            return
        ids = values["supplier_id"]
        kinds = values.get("supplier_id_type", pd.Series([None] * len(frame), index=frame.index, dtype=object))
        candidates = [i.replace(" ", "") if isinstance(i, str) and (k in (None, "SIRET")) and
                      len(i.replace(" ", "")) == 14 and i.replace(" ", "").isdigit() else None
                      for i, k in zip(ids, kinds)]
        values["supplier_siret"] = pd.Series(candidates, index=frame.index, dtype=object)

    def after_merge(self, conn, summary, merge):
        rows, by_siret, by_siren = conn.execute(text(JOIN_RATE_SQL)).one()
        summary.extra["suppliers joined to establishments by SIRET"] = (
            f"{by_siret} of {rows} rows ({by_siret / rows:.1%})" if rows else "0 rows")
        summary.extra["by SIRET or SIREN"] = f"{by_siren} of {rows} rows ({by_siren / rows:.1%})" if rows else "0 rows"
        summary.extra["join_rate"] = round(by_siren / rows, 4) if rows else 0.0


TARGET = ContractsTarget()
