"""Incident deadlines (``expected_at``) from the response-delay norms that apply to them.

A norm applies to an incident when the incident's category is one of the norm's categories,
the norm is valid on the day the incident was reported (Europe/Paris calendar), and the scope
matches: the whole territory, the incident's quartier, a priority zone (the zone version the
incident was placed in when reported; optionally only those of one quartier), or one zone code.
When several apply, the strictest (shortest delay) wins. Delays are elapsed hours, so a report
made just before a daylight-saving change still gets exactly ``delay_hours`` hours.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: The scope rule of response-delay norm ``n`` for incident ``i`` (``z``: its zone version, LEFT
#: JOINed on ``i.zone_id``), shared by the deadlines, the compliance engine and the drill-down.
INCIDENT_IN_SCOPE = """(n.scope = 'territory'
           OR (n.scope = 'quartier' AND n.quartier_id = i.quartier_id)
           OR (n.scope = 'priority_zones' AND i.zone_id IS NOT NULL
               AND (n.quartier_id IS NULL OR n.quartier_id = i.quartier_id))
           OR (n.scope = 'zone' AND z.code = n.zone_code))"""

_APPLICABLE = """
    SELECT DISTINCT ON (i.id) i.id, n.id AS norm_id,
           i.reported_at + make_interval(hours => n.delay_hours) AS expected_at
    FROM (SELECT i.{id} AS id, i.category, i.quartier_id, i.zone_id, i.reported_at,
                 (i.reported_at AT TIME ZONE 'Europe/Paris')::date AS local_day
          FROM {relation} i WHERE {where}) i
    -- One row per (norm, category) so that the planner can hash-join on the category.
    JOIN (SELECT n.*, unnest(n.category_codes) AS category FROM norms n
          WHERE n.metric = 'response_delay') n ON n.category = i.category
    LEFT JOIN priority_zones z ON z.id = i.zone_id
    WHERE i.local_day >= n.valid_from
      AND (n.valid_to IS NULL OR i.local_day < n.valid_to)
      AND {in_scope}
    ORDER BY i.id, n.delay_hours, n.id
"""

_UPDATE = """
    WITH target AS (SELECT id FROM incidents i WHERE {where}),
         applicable AS ({applicable})
    UPDATE incidents i SET expected_at = a.expected_at, norm_id = a.norm_id
    FROM (SELECT t.id, a.norm_id, a.expected_at FROM target t LEFT JOIN applicable a USING (id)) a
    WHERE i.id = a.id AND (i.expected_at, i.norm_id) IS DISTINCT FROM (a.expected_at, a.norm_id)
"""


def refresh_deadlines(conn: Connection, incident_ids: Sequence[int] | None = None) -> int:
    """Recompute ``expected_at``/``norm_id`` of the given incidents (all when None); returns rows changed."""
    if incident_ids is None:
        where, params = "true", {}
    else:
        where, params = "i.id = ANY (:ids)", {"ids": list(incident_ids)}
    sql = _UPDATE.format(where=where, applicable=applicable_sql("incidents", "id", where))
    return conn.execute(text(sql), params).rowcount


def applicable_sql(relation: str, id_column: str = "id", where: str = "true") -> str:
    """SELECT of (id, norm_id, expected_at) for the rows of ``relation`` that a norm applies to.

    ``relation`` is ``incidents`` or a table shaped like it (``category``, ``quartier_id``,
    ``zone_id``, ``reported_at``; e.g. the loader's merge table, keyed by ``_row``), so a load
    sets deadlines while it writes rows instead of updating them afterwards.
    """
    return _APPLICABLE.format(relation=relation, id=id_column, where=where, in_scope=INCIDENT_IN_SCOPE)
