"""Compliance engine: per norm × quartier × zone version × month, in set-based SQL (no Flask).

Incidents are already placed in a quartier and in the priority-zone version valid on the day they
were reported (``ova.assignment``), so the engine never redoes a spatial join: it joins incidents
to the norms that apply to them on category, validity and scope, and aggregates.

Rules, all in the territory's calendar (``OVA_TIMEZONE``) for months, weeks and validity days:

* ``response_delay``: an incident's deadline follows the norm's delay and unit (elapsed hours,
  working days or hours of its calendar, or the source's own deadline: ``norms.deadlines``,
  computed per norm in the same statement). It is compliant when resolved at or
  before the deadline (exactly at the deadline counts). Judged cases are resolved incidents plus
  open incidents past their deadline (failures); open incidents not yet due are only counted in
  ``incidents``. Rejected reports are ignored; incidents outside every quartier are not judged.
  Each month has one row per quartier (``zone_id`` NULL: the norm's whole scope there) and one per
  zone version the incidents were placed in.
* ``frequency``: ``events_required`` activities of ``activity_kind`` per ``period``. Weekly norms
  judge each ended week starting in the month; longer periods are judged in the month they end
  (before, a period already met counts as met, otherwise it is still running: no case).
* ``document``: one case per quartier and month, compliant when a delivery (for the quartier or
  for every quartier) is dated on or before the month's last day.

A result whose judged cases are fewer than the norm's ``min_sample`` (default ``min_sample``
argument for response delays, 1 otherwise) has status ``insufficient_data`` and must not rank.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from norms.deadlines import (INCIDENT_IN_SCOPE, NORM_DEADLINE_COLUMNS, deadline_params, deadline_sql,
                             working_deadlines_cte)
from ova.settings import timezone_name

LOGGER = logging.getLogger(__name__)

#: Minimum number of judged incidents for a response-delay result to be met / not met.
DEFAULT_MIN_SAMPLE = 5

_LOCAL_MONTH = "date_trunc('month', {ts} AT TIME ZONE :tz)::date"

#: Restricts the computation: every month from :since (full), or given (quartier, month) keys.
_KEYS = """keys AS MATERIALIZED (
        SELECT k.quartier_id, k.month,
               k.month::timestamp AT TIME ZONE :tz AS start_at,
               (k.month + interval '1 month') AT TIME ZONE :tz AS stop_at
        FROM unnest(CAST(:key_quartiers AS integer[]), CAST(:key_months AS date[])) AS k(quartier_id, month))"""

_RESPONSE_DELAY = """
    SELECT b.norm_id, b.quartier_id, b.zone_id, b.month,
           count(*) AS incidents,
           count(*) FILTER (WHERE b.resolved_at IS NOT NULL OR b.deadline < :as_of) AS cases,
           count(*) FILTER (WHERE b.resolved_at <= b.deadline) AS compliant,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY b.hours) FILTER (WHERE b.resolved_at IS NOT NULL)
               AS median_delay_hours,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY b.hours) FILTER (WHERE b.resolved_at IS NOT NULL)
               AS p90_delay_hours,
           count(*) FILTER (WHERE b.resolved_at IS NULL AND b.deadline < :as_of) AS open_overdue,
           count(*) FILTER (WHERE b.times_simulated) AS simulated
    FROM (
        SELECT n.norm_id, i.quartier_id, i.zone_id, i.resolved_at, i.times_simulated, i.month,
               {deadline} AS deadline,
               extract(epoch FROM i.resolved_at - i.reported_at) / 3600.0 AS hours
        FROM (
            SELECT i.id, i.quartier_id, i.zone_id, i.category, i.reported_at, i.resolved_at, i.times_simulated,
                   i.source_expected_at, i.local_day, {incident_month} AS month
            FROM (SELECT i.*, (i.reported_at AT TIME ZONE :tz)::date AS local_day FROM {incident_source}) i
            WHERE i.quartier_id IS NOT NULL AND i.status <> 'rejected' AND {incident_where}
        ) i
        -- One row per (norm, category): an equi-join the planner can hash. Validity days become
        -- instants (Paris midnight) once per norm, so no incident's time is converted per norm.
        JOIN (SELECT n.id AS norm_id, n.scope, n.quartier_id, n.zone_code, {norm_columns},
                     n.valid_from::timestamp AT TIME ZONE :tz AS valid_from_at,
                     n.valid_to::timestamp AT TIME ZONE :tz AS valid_to_at,
                     unnest(n.category_codes) AS category
              FROM norms n WHERE n.metric = 'response_delay') n ON n.category = i.category
        LEFT JOIN priority_zones z ON z.id = i.zone_id
        {deadline_joins}
        WHERE i.reported_at >= n.valid_from_at
          AND (n.valid_to_at IS NULL OR i.reported_at < n.valid_to_at)
          AND {in_scope}
        -- OFFSET 0: the deadline is computed once per row, not again for the filter below.
        OFFSET 0
    ) b
    -- A norm judged by the source's deadline does not judge a request that has none.
    WHERE b.deadline IS NOT NULL
    GROUP BY GROUPING SETS ((b.norm_id, b.quartier_id, b.month), (b.norm_id, b.quartier_id, b.zone_id, b.month))
    HAVING GROUPING(b.zone_id) = 1 OR b.zone_id IS NOT NULL
"""

#: Incidents of the keys only: one index range scan (quartier_id, reported_at) per quartier-month,
#: reading only the columns judged. OFFSET 0 keeps the subquery from being flattened into a hash
#: join over the whole table. The key's month is the incidents' month: no time-zone conversion.
_KEYED_INCIDENTS = """keys k CROSS JOIN LATERAL (
                SELECT i.id, i.quartier_id, i.zone_id, i.category, i.reported_at, i.resolved_at, i.times_simulated,
                       i.source_expected_at, i.status, k.month
                FROM incidents i
                WHERE i.quartier_id = k.quartier_id AND i.reported_at >= k.start_at AND i.reported_at < k.stop_at
                OFFSET 0
            ) i"""

#: Norm × quartier × month cells in scope of the frequency and document norms.
_CELLS = """
    SELECT n.id AS norm_id, n.metric, n.period, n.events_required, n.activity_kind, n.scope, n.zone_code,
           q.id AS quartier_id, m.month
    FROM norms n
    JOIN months m ON m.month >= date_trunc('month', n.valid_from)
                 AND (n.valid_to IS NULL OR m.month < n.valid_to)
    JOIN quartiers q ON (n.scope = 'territory'
        OR (n.scope = 'quartier' AND n.quartier_id = q.id)
        OR (n.scope = 'priority_zones' AND (n.quartier_id IS NULL OR n.quartier_id = q.id)
            AND EXISTS (SELECT 1 FROM priority_zones z WHERE z.status = 'approved' AND z.quartier_id = q.id
                        AND z.valid_from < m.month + interval '1 month'
                        AND (z.valid_to IS NULL OR z.valid_to > m.month)))
        OR (n.scope = 'zone' AND EXISTS (SELECT 1 FROM priority_zones z WHERE z.code = n.zone_code
                                         AND z.quartier_id = q.id)))
    {key_join}
    WHERE n.metric IN ('frequency', 'document')
"""

_FREQUENCY = """
    SELECT p.norm_id, p.quartier_id, NULL::integer AS zone_id, p.month,
           coalesce(sum(p.events), 0)::integer AS incidents,
           count(*) FILTER (WHERE p.complete OR p.events >= p.events_required) AS cases,
           count(*) FILTER (WHERE p.events >= p.events_required) AS compliant,
           NULL::float8 AS median_delay_hours, NULL::float8 AS p90_delay_hours,
           0::bigint AS open_overdue, 0::bigint AS simulated
    FROM (
        SELECT c.norm_id, c.quartier_id, c.month, c.events_required, per.start, per.stop,
               CASE WHEN c.period = 'week' THEN per.stop <= :as_of_local
                    ELSE per.stop <= c.month + interval '1 month' AND per.stop <= :as_of_local END AS complete,
               ev.events
        FROM cells c
        CROSS JOIN LATERAL (
            SELECT d::timestamp AS start, d::timestamp + interval '1 week' AS stop
            FROM generate_series(c.month, c.month + interval '1 month' - interval '1 day', interval '1 day') d
            WHERE c.period = 'week' AND extract(isodow FROM d) = 1
            UNION ALL
            SELECT date_trunc(c.period, c.month::timestamp),
                   date_trunc(c.period, c.month::timestamp)
                   + CASE c.period WHEN 'quarter' THEN interval '3 months' ELSE ('1 ' || c.period)::interval END
            WHERE c.period <> 'week'
        ) per
        CROSS JOIN LATERAL (
            SELECT count(*) AS events FROM activities a
             LEFT JOIN priority_zones z ON z.id = a.zone_id
             WHERE a.kind = c.activity_kind AND a.quartier_id = c.quartier_id
               AND a.occurred_at >= (per.start AT TIME ZONE :tz)
               AND a.occurred_at < (least(per.stop, c.month + interval '1 month') AT TIME ZONE :tz)
               AND (c.scope IN ('territory', 'quartier')
                    OR (c.scope = 'priority_zones' AND a.zone_id IS NOT NULL)
                    OR (c.scope = 'zone' AND z.code = c.zone_code))
        ) ev
        WHERE c.metric = 'frequency' AND per.start <= :as_of_local
    ) p
    GROUP BY p.norm_id, p.quartier_id, p.month
"""

_DOCUMENT = """
    SELECT c.norm_id, c.quartier_id, NULL::integer AS zone_id, c.month,
           1 AS incidents, 1 AS cases,
           (EXISTS (SELECT 1 FROM document_deliveries d WHERE d.norm_id = c.norm_id
                    AND (d.quartier_id IS NULL OR d.quartier_id = c.quartier_id)
                    AND d.delivered_on < c.month + interval '1 month'))::integer AS compliant,
           NULL::float8 AS median_delay_hours, NULL::float8 AS p90_delay_hours, 0::bigint AS open_overdue,
           0::bigint AS simulated
    FROM cells c
    WHERE c.metric = 'document'
"""

#: Metric → SQL of its raw figures (norm_id, quartier_id, zone_id, month, incidents, cases,
#: compliant, median, p90, open_overdue, simulated). Adding a metric = adding an entry here.
METRICS = {
    "response_delay": _RESPONSE_DELAY,
    "frequency": _FREQUENCY,
    "document": _DOCUMENT,
}

_INSERT = """
    WITH {keys},
    {working},
    months AS ({months}),
    cells AS ({cells})
    INSERT INTO compliance_results (norm_id, quartier_id, zone_id, month, incidents, cases, compliant, rate,
        median_delay_hours, p90_delay_hours, open_overdue, simulated, status, computed_at)
    SELECT r.norm_id, r.quartier_id, r.zone_id, r.month, r.incidents, r.cases, r.compliant,
           CASE WHEN r.cases > 0 THEN round(r.compliant::numeric / r.cases, 5) END,
           round(r.median_delay_hours::numeric, 2), round(r.p90_delay_hours::numeric, 2),
           r.open_overdue, r.simulated,
           CASE WHEN r.cases = 0 OR r.cases < coalesce(n.min_sample,
                    CASE WHEN n.metric = 'response_delay' THEN :min_sample ELSE 1 END)
                    THEN 'insufficient_data'
                WHEN r.compliant::numeric / r.cases >= n.target_rate THEN 'met'
                ELSE 'not_met' END,
           :as_of
    FROM ({union}) r
    JOIN norms n ON n.id = r.norm_id
"""


@dataclass(frozen=True)
class RecomputeSummary:
    """What a recompute did."""

    deleted: int
    inserted: int
    keys: int | None = None


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _statement(keyed: bool, since_sql: str) -> str:
    """The INSERT…SELECT of every metric, restricted to keys or to months from :first_month."""
    deadline_joins, deadline = deadline_sql("i", "n", as_of=":as_of", local_day="i.local_day")
    fragments = {"incident_source": _KEYED_INCIDENTS if keyed else "incidents i", "incident_where": since_sql,
                 "in_scope": INCIDENT_IN_SCOPE, "norm_columns": NORM_DEADLINE_COLUMNS,
                 "deadline_joins": deadline_joins, "deadline": deadline,
                 "incident_month": "i.month" if keyed else "date_trunc('month', i.local_day::timestamp)::date"}
    union = " UNION ALL ".join(f"({sql.format(**fragments)})" for sql in METRICS.values())
    if keyed:
        months = "SELECT DISTINCT month FROM keys"
        cells = _CELLS.format(key_join="JOIN keys k ON k.quartier_id = q.id AND k.month = m.month")
    else:
        months = ("SELECT m::date AS month FROM generate_series(CAST(:first_month AS date), "
                  "CAST(:last_month AS date), interval '1 month') m")
        cells = _CELLS.format(key_join="")
    working = (working_deadlines_cte("(SELECT min(k.month) FROM keys k)",
                                     "(SELECT (max(k.month) + interval '1 month' - interval '1 day')::date FROM keys k)")
               if keyed else working_deadlines_cte("CAST(:first_month AS date)", "(SELECT (max(i.reported_at) "
                                                   "AT TIME ZONE :tz)::date FROM incidents i)"))
    return _INSERT.format(keys=_KEYS, working=working, months=months, cells=cells, union=union)


def _params(as_of: dt.datetime | None, min_sample: int) -> dict:
    as_of = as_of or dt.datetime.now(dt.timezone.utc)
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    from zoneinfo import ZoneInfo

    local = as_of.astimezone(ZoneInfo(timezone_name())).replace(tzinfo=None)
    return {"as_of": as_of, "as_of_local": local, "min_sample": min_sample,
            "key_quartiers": [], "key_months": [], **deadline_params()}


def compute_all(conn: Connection, *, since: dt.date | None = None, as_of: dt.datetime | None = None,
                min_sample: int = DEFAULT_MIN_SAMPLE) -> RecomputeSummary:
    """Recompute every result from the month of ``since`` (all months when None): one DELETE, one INSERT…SELECT."""
    params = _params(as_of, min_sample)
    last_month = _month_start(params["as_of_local"].date())
    if since is None:
        first = conn.scalar(text(
            "SELECT least((SELECT min(reported_at) FROM incidents WHERE quartier_id IS NOT NULL), "
            "(SELECT min(occurred_at) FROM activities))"))
        first_month = (_month_start(first.astimezone(_paris()).date()) if first else last_month)
        since_sql = "true"
        deleted = conn.execute(text("DELETE FROM compliance_results")).rowcount
    else:
        first_month = _month_start(since)
        since_sql = "i.reported_at >= (CAST(:first_month AS date)::timestamp AT TIME ZONE :tz)"
        deleted = conn.execute(text("DELETE FROM compliance_results WHERE month >= :m"),
                               {"m": first_month}).rowcount
    params.update(first_month=first_month, last_month=max(first_month, last_month))
    inserted = conn.execute(text(_statement(False, since_sql)), params).rowcount
    LOGGER.info("compliance: deleted %s, inserted %s results from %s", deleted, inserted, first_month)
    return RecomputeSummary(deleted, inserted)


def _paris():
    """The territory's time zone (``OVA_TIMEZONE``; the name is historical)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(timezone_name())


def keys_of_incidents(conn: Connection, incident_ids: Sequence[int]) -> list[tuple[int, dt.date]]:
    """The (quartier_id, local month) keys of the given incidents."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT DISTINCT quartier_id, " + _LOCAL_MONTH.format(ts="reported_at") +
        " FROM incidents WHERE id = ANY (:ids) AND quartier_id IS NOT NULL"),
        {"ids": list(incident_ids), **deadline_params()})]


def recompute(conn: Connection, *, incident_ids: Sequence[int] | None = None,
              keys: Iterable[tuple[int, dt.date]] = (), as_of: dt.datetime | None = None,
              min_sample: int = DEFAULT_MIN_SAMPLE) -> RecomputeSummary:
    """Recompute only the quartier-months of ``incident_ids`` and of ``keys`` (quartier_id, month).

    Pass the old keys too when an incident moved (new quartier, or its report date changed).
    """
    wanted = {(q, _month_start(m)) for q, m in keys}
    if incident_ids:
        wanted.update(keys_of_incidents(conn, incident_ids))
    if not wanted:
        return RecomputeSummary(0, 0, 0)
    params = _params(as_of, min_sample)
    ordered = sorted(wanted)
    params.update(key_quartiers=[q for q, _ in ordered], key_months=[m for _, m in ordered])
    deleted = conn.execute(text(
        f"WITH {_KEYS} DELETE FROM compliance_results r USING keys k "
        "WHERE r.quartier_id = k.quartier_id AND r.month = k.month"), params).rowcount
    inserted = conn.execute(text(_statement(True, "true")), params).rowcount
    return RecomputeSummary(deleted, inserted, len(wanted))
