"""Indicators per quartier and priority zone, materialised in ``territory_indicators``.

``compute`` rebuilds the table in one transaction with one set-based statement per indicator
family (units × periods, establishments, incidents, derived rates and trends). Periods are the
24 calendar months ending with the reference month ``as_of`` (by default the month of the latest
incident), the rolling 12 months ending with it (``12m``) and the 12 months before (``prev12m``).

Rules (documented in the README):
- establishments count only when placed at their address (``geo_precision = 'address'``):
  suppliers placed at a commune centroid would all pile into one quartier;
- an establishment is active at the end of a period when created before its end (or with no
  creation date) and not closed before it;
- incidents are counted by the day reported (in ``OVA_TIMEZONE``), rejected reports excluded;
  the median resolution delay is over the incidents reported in the period and resolved, and is
  flagged ``resolution_simulated`` when any of those times comes from the simulation model.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection

from indicators.suppression import DEFAULT_THRESHOLD, INDICATORS, check_threshold, select_list
from ova.db import transaction
from ova.errors import InvalidInput, NotFound
from ova.settings import timezone_name

LOGGER = logging.getLogger(__name__)

MONTHS_KEPT = 24

#: Share of norms met per unit and period, from the norms engine's ``compliance_results``:
#: results judged met among those judged (met or not met) in the period's months; results with
#: insufficient data do not count, so a small sample never ranks a quartier. NULL when none judged.
NORMS_MET_SQL: str | None = """
    UPDATE territory_indicators t SET norms_met_share = s.share
    FROM (
        SELECT t2.id, (count(*) FILTER (WHERE r.status = 'met'))::numeric
                      / nullif(count(*) FILTER (WHERE r.status IN ('met', 'not_met')), 0) AS share
        FROM territory_indicators t2
        JOIN compliance_results r
          ON r.month >= t2.period_start AND r.month < t2.period_end
         AND ((t2.unit_kind = 'quartier' AND r.quartier_id = t2.unit_id)
              OR (t2.unit_kind = 'zone' AND r.zone_id = t2.unit_id))
        GROUP BY t2.id
    ) s
    WHERE t.id = s.id AND t.norms_met_share IS DISTINCT FROM s.share
"""

_LOCAL_DAY = "(i.reported_at AT TIME ZONE CAST(:tz AS text))::date"

_BASE = text("""
    INSERT INTO territory_indicators (unit_kind, unit_id, period_kind, period_start, period_end,
        area_km2, population, establishments_active, establishments_created, establishments_closed,
        incidents, incidents_resolved, resolution_simulated)
    WITH periods AS (
        SELECT 'month' AS kind, m::date AS s, (m + interval '1 month')::date AS e
        FROM generate_series(CAST(:first_month AS date), CAST(:as_of AS date), interval '1 month') m
        UNION ALL SELECT '12m', CAST(:w_start AS date), CAST(:w_end AS date)
        UNION ALL SELECT 'prev12m', CAST(:p_start AS date), CAST(:w_start AS date)
    ), units AS (
        SELECT 'quartier' AS kind, id, ST_Area(geom) / 1e6 AS area, population FROM quartiers
        UNION ALL
        SELECT 'zone', id, ST_Area(geom) / 1e6, NULL::integer FROM priority_zones
    )
    SELECT u.kind, u.id, p.kind, p.s, p.e, u.area, u.population, 0, 0, 0, 0, 0, false
    FROM units u CROSS JOIN periods p
""")

_ESTABLISHMENTS = text("""
    WITH placed AS (
        SELECT 'quartier' AS unit_kind, quartier_id AS unit_id, created_on, closed_on
        FROM establishments WHERE quartier_id IS NOT NULL AND geo_precision = 'address'
        UNION ALL
        SELECT 'zone', zone_id, created_on, closed_on
        FROM establishments WHERE zone_id IS NOT NULL AND geo_precision = 'address'
    ), agg AS (
        SELECT t.id,
               count(*) FILTER (WHERE (e.created_on IS NULL OR e.created_on < t.period_end)
                                  AND (e.closed_on IS NULL OR e.closed_on >= t.period_end)) AS active,
               count(*) FILTER (WHERE e.created_on >= t.period_start AND e.created_on < t.period_end) AS created,
               count(*) FILTER (WHERE e.closed_on >= t.period_start AND e.closed_on < t.period_end) AS closed
        FROM territory_indicators t
        JOIN placed e ON e.unit_kind = t.unit_kind AND e.unit_id = t.unit_id
        GROUP BY t.id
    )
    UPDATE territory_indicators t
    SET establishments_active = a.active, establishments_created = a.created, establishments_closed = a.closed
    FROM agg a WHERE a.id = t.id
""")

_INCIDENTS = text(f"""
    WITH placed AS (
        SELECT 'quartier' AS unit_kind, i.quartier_id AS unit_id, {_LOCAL_DAY} AS day, i.reported_at,
               i.resolved_at, i.times_simulated
        FROM incidents i WHERE i.quartier_id IS NOT NULL AND i.status <> 'rejected'
        UNION ALL
        SELECT 'zone', i.zone_id, {_LOCAL_DAY}, i.reported_at, i.resolved_at, i.times_simulated
        FROM incidents i WHERE i.zone_id IS NOT NULL AND i.status <> 'rejected'
    ), agg AS (
        SELECT t.id,
               count(*) AS n,
               count(*) FILTER (WHERE i.resolved_at >= i.reported_at) AS resolved,
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM i.resolved_at - i.reported_at) / 3600.0)
                   FILTER (WHERE i.resolved_at >= i.reported_at) AS median_h,
               coalesce(bool_or(i.times_simulated) FILTER (WHERE i.resolved_at >= i.reported_at), false) AS sim
        FROM territory_indicators t
        JOIN placed i ON i.unit_kind = t.unit_kind AND i.unit_id = t.unit_id
                     AND i.day >= t.period_start AND i.day < t.period_end
        GROUP BY t.id
    )
    UPDATE territory_indicators t
    SET incidents = a.n, incidents_resolved = a.resolved, median_resolution_hours = a.median_h,
        resolution_simulated = a.sim
    FROM agg a WHERE a.id = t.id
""")

_DERIVED = text("""
    UPDATE territory_indicators t
    SET establishments_per_km2 = CASE WHEN t.area_km2 > 0 THEN t.establishments_active / t.area_km2 END,
        incidents_per_km2 = CASE WHEN t.area_km2 > 0 THEN t.incidents / t.area_km2 END,
        incidents_per_1000_establishments = CASE WHEN t.establishments_active > 0
            THEN 1000.0 * t.incidents / t.establishments_active END,
        incidents_per_1000_inhabitants = CASE WHEN t.population > 0 THEN 1000.0 * t.incidents / t.population END,
        establishments_per_1000_inhabitants = CASE WHEN t.population > 0
            THEN 1000.0 * t.establishments_active / t.population END,
        incidents_prev12m = p.incidents,
        establishments_active_prev12m = p.establishments_active,
        incidents_trend_pct = CASE WHEN p.incidents > 0
            THEN 100.0 * (t.incidents - p.incidents) / p.incidents END,
        establishments_trend_pct = CASE WHEN p.establishments_active > 0
            THEN 100.0 * (t.establishments_active - p.establishments_active) / p.establishments_active END
    FROM territory_indicators t2
    LEFT JOIN territory_indicators p ON t2.period_kind = '12m' AND p.period_kind = 'prev12m'
         AND p.unit_kind = t2.unit_kind AND p.unit_id = t2.unit_id
    WHERE t2.id = t.id
""")

#: The indicator families, computed in this order (each one statement).
FAMILIES = {"establishments": _ESTABLISHMENTS, "incidents": _INCIDENTS, "derived": _DERIVED}


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def default_as_of(conn: Connection) -> dt.date:
    """The month of the latest non-rejected incident, else the last complete month."""
    latest = conn.scalar(text(
        f"SELECT date_trunc('month', max({_LOCAL_DAY}))::date FROM incidents i WHERE i.status <> 'rejected'"),
        {"tz": timezone_name()})
    if latest is not None:
        return latest
    return _add_months(dt.date.today().replace(day=1), -1)


def periods(as_of: dt.date) -> dict[str, dt.date]:
    """Bounds of the periods ending with the month ``as_of`` (end bounds exclusive)."""
    as_of = as_of.replace(day=1)
    return {
        "as_of": as_of,
        "first_month": _add_months(as_of, -(MONTHS_KEPT - 1)),
        "w_start": _add_months(as_of, -11),
        "w_end": _add_months(as_of, 1),
        "p_start": _add_months(as_of, -23),
    }


def compute(bind, as_of: dt.date | None = None) -> dict[str, object]:
    """Rebuild ``territory_indicators`` in one transaction; return the reference month and row count."""
    with transaction(bind) as conn:
        bounds = periods(as_of or default_as_of(conn))
        conn.execute(text("DELETE FROM territory_indicators"))
        rows = conn.execute(_BASE, bounds).rowcount
        for name, statement in FAMILIES.items():
            LOGGER.info("indicators: family %s", name)
            conn.execute(statement, {"tz": timezone_name()})
        if NORMS_MET_SQL:
            conn.execute(text(NORMS_MET_SQL), {"as_of": bounds["as_of"]})
    return {"as_of": bounds["as_of"], "rows": rows}


# --- reading ------------------------------------------------------------------------------------

UNIT_KINDS = {
    "quartier": "SELECT id, code, name, commune_name AS commune, geom FROM quartiers",
    "zone": ("SELECT id, code, name || ' (' || to_char(valid_from, 'YYYY-MM-DD') || ')' AS name, "
             "NULL::text AS commune, geom FROM priority_zones"),
}
PERIOD_KINDS = ("12m", "month", "prev12m")
SORT_KEYS = ("code", "name", "commune", *INDICATORS)


def _check(unit_kind: str, period_kind: str) -> None:
    if unit_kind not in UNIT_KINDS:
        raise InvalidInput(f"niveau inconnu « {unit_kind} » (attendu : {', '.join(UNIT_KINDS)})")
    if period_kind not in PERIOD_KINDS:
        raise InvalidInput(f"période inconnue « {period_kind} » (attendu : {', '.join(PERIOD_KINDS)})")


def rows(conn, *, unit_kind: str = "quartier", period_kind: str = "12m", detail: bool,
         threshold: int = DEFAULT_THRESHOLD, unit_code: str | None = None,
         sort: str = "name", descending: bool = False) -> list[dict]:
    """Indicator rows of every unit of ``unit_kind`` (or one ``unit_code``), suppressed unless ``detail``.

    Each row has the unit's ``code``, ``name``, ``commune``, ``period_start`` and every column of
    ``suppression.select_list``, including ``suppressed`` (keys hidden by the rule).
    """
    _check(unit_kind, period_kind)
    if sort not in SORT_KEYS:
        raise InvalidInput(f"tri inconnu « {sort} »")
    direction = "DESC" if descending else "ASC"
    order = f"r.{sort} {direction} NULLS LAST, r.name, r.period_start"
    sql = f"""
        SELECT * FROM (
            SELECT u.code, u.name, u.commune, t.period_start, t.period_end,
                   {select_list('t', detail=detail, threshold=check_threshold(threshold))}
            FROM territory_indicators t JOIN ({UNIT_KINDS[unit_kind]}) u ON u.id = t.unit_id
            WHERE t.unit_kind = :unit_kind AND t.period_kind = :period_kind
              AND (CAST(:code AS text) IS NULL OR u.code = :code)
        ) r ORDER BY {order}
    """
    result = conn.execute(text(sql), {"unit_kind": unit_kind, "period_kind": period_kind, "code": unit_code})
    return [dict(r) for r in result.mappings()]


def trend(conn, code: str, *, unit_kind: str = "quartier", detail: bool,
          threshold: int = DEFAULT_THRESHOLD, months: int = 12) -> list[dict]:
    """The last ``months`` monthly rows of one unit, oldest first (suppressed unless ``detail``)."""
    monthly = rows(conn, unit_kind=unit_kind, period_kind="month", detail=detail, threshold=threshold,
                   unit_code=code, sort="code")
    if not monthly:
        raise NotFound(f"aucun indicateur pour « {code} » : lancer « ova indicators compute »")
    monthly.sort(key=lambda r: r["period_start"])
    return monthly[-months:]


def geojson(conn, *, unit_kind: str = "quartier", detail: bool, threshold: int = DEFAULT_THRESHOLD,
            simplify_m: float = 2.0) -> str:
    """The units with their 12-month indicators as a WGS 84 FeatureCollection (text), built in PostGIS."""
    _check(unit_kind, "12m")
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
            json_build_object('type', 'Feature', 'id', r.code,
                'geometry', ST_AsGeoJSON(ST_Transform(ST_Multi(ST_SimplifyPreserveTopology(r.geom, :tol)), 4326), 6)::json,
                'properties', to_jsonb(r) - 'geom') ORDER BY r.code), '[]'::json))::text
        FROM (
            SELECT u.code, u.name, u.commune, t.period_start, t.period_end,
                   {select_list('t', detail=detail, threshold=check_threshold(threshold))}, u.geom
            FROM territory_indicators t JOIN ({UNIT_KINDS[unit_kind]}) u ON u.id = t.unit_id
            WHERE t.unit_kind = :unit_kind AND t.period_kind = '12m'
        ) r
    """
    return conn.execute(text(sql), {"unit_kind": unit_kind, "tol": simplify_m}).scalar_one()


def reference_period(conn) -> tuple[dt.date, dt.date] | None:
    """Start and (exclusive) end of the materialised 12-month window, or None before any compute."""
    row = conn.execute(text(
        "SELECT min(period_start), max(period_end) FROM territory_indicators WHERE period_kind = '12m'")).one()
    return None if row[0] is None else (row[0], row[1])
