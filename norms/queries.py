"""Read side of compliance results for the dashboard (no Flask): matrix, series, failing incidents."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.engine import Connection

from norms.deadlines import INCIDENT_IN_SCOPE, deadline_params, deadline_sql, working_deadlines_cte

STATUS_ORDER = ("not_met", "insufficient_data", "met")


def months_with_results(conn: Connection) -> list[dt.date]:
    """Months having compliance results, newest first."""
    return list(conn.scalars(text("SELECT DISTINCT month FROM compliance_results ORDER BY month DESC")))


def default_month(conn: Connection) -> dt.date | None:
    """The newest month where response-delay norms judged a usual number of reports: at least half
    the median month (later months hold only frequency and document results, which say little until
    activities are logged, and an extract ending on the 2nd of a month leaves that month nearly empty)."""
    return conn.scalar(text("""
        WITH months AS (
            SELECT r.month, sum(r.cases) AS cases FROM compliance_results r JOIN norms n ON n.id = r.norm_id
            WHERE n.metric = 'response_delay' AND r.zone_id IS NULL AND r.cases > 0 GROUP BY r.month)
        SELECT max(month) FROM months
        WHERE cases >= 0.5 * (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY cases) FROM months)"""))


def norms_list(conn: Connection, producer_id: int | None = None) -> list[dict]:
    """Norms with their tâche and producer, in grid order."""
    rows = conn.execute(text(
        "SELECT n.*, t.label_fr AS tache_label, t.champ_code, p.name AS producer_name, p.slug AS producer_slug "
        "FROM norms n JOIN taches_standard t ON t.code = n.tache_code "
        "JOIN champs_action c ON c.code = t.champ_code LEFT JOIN producers p ON p.id = n.producer_id "
        "WHERE (CAST(:p AS integer) IS NULL OR n.producer_id = :p) "
        "ORDER BY c.position, t.position, n.code"), {"p": producer_id}).mappings().all()
    return [dict(r) for r in rows]


def matrix(conn: Connection, month: dt.date, producer_id: int | None = None,
           commune: str | None = None) -> tuple[list[dict], list[dict]]:
    """Quartiers (of ``commune`` when given) × norms for ``month`` (whole-scope rows):
    (norms, rows of {quartier, cells by norm id})."""
    norms = [n for n in norms_list(conn, producer_id)]
    ids = [n["id"] for n in norms]
    results = conn.execute(text(
        "SELECT r.*, q.code AS quartier_code, q.name AS quartier_name, q.commune_name "
        "FROM compliance_results r JOIN quartiers q ON q.id = r.quartier_id "
        "WHERE r.month = :m AND r.zone_id IS NULL AND r.norm_id = ANY (:ids) "
        "AND (CAST(:commune AS text) IS NULL OR q.commune_name = :commune) "
        "ORDER BY q.commune_name, q.name"), {"m": month, "ids": ids, "commune": commune}).mappings().all()
    rows: dict[int, dict] = {}
    for r in results:
        row = rows.setdefault(r["quartier_id"], {"id": r["quartier_id"], "code": r["quartier_code"],
                                                 "name": r["quartier_name"], "commune": r["commune_name"],
                                                 "cells": {}})
        row["cells"][r["norm_id"]] = dict(r)
    used = {nid for row in rows.values() for nid in row["cells"]}
    return [n for n in norms if n["id"] in used], list(rows.values())


def ranking(rows: list[dict]) -> list[dict]:
    """Quartiers ranked by mean rate over their evaluable results; insufficient data never ranks."""
    ranked = []
    for row in rows:
        rates = [c["rate"] for c in row["cells"].values() if c["status"] != "insufficient_data"]
        if rates:
            ranked.append({**row, "mean_rate": sum(rates) / len(rates), "evaluated": len(rates)})
    return sorted(ranked, key=lambda r: r["mean_rate"], reverse=True)


def quartier(conn: Connection, quartier_id: int) -> dict | None:
    """A quartier with its WGS 84 bounds [[s, w], [n, e]]."""
    row = conn.execute(text(
        "SELECT id, code, name, commune_name, ST_YMin(e) AS s, ST_XMin(e) AS w, ST_YMax(e) AS n, ST_XMax(e) AS e "
        "FROM (SELECT *, ST_Transform(geom, 4326) AS e FROM quartiers WHERE id = :q) s"),
        {"q": quartier_id}).mappings().first()
    if row is None:
        return None
    return {**row, "bounds": [[row["s"], row["w"]], [row["n"], row["e"]]]}


def quartier_results(conn: Connection, quartier_id: int, month: dt.date) -> list[dict]:
    """Every result of a quartier for a month (whole scope first, then zone versions)."""
    rows = conn.execute(text(
        "SELECT r.*, n.code AS norm_code, n.label_fr, n.label_en, n.metric, n.target_rate, n.delay_value, n.delay_unit, "
        "z.code AS zone_code, z.name AS zone_name, z.valid_from AS zone_from, z.valid_to AS zone_to "
        "FROM compliance_results r JOIN norms n ON n.id = r.norm_id "
        "LEFT JOIN priority_zones z ON z.id = r.zone_id "
        "WHERE r.quartier_id = :q AND r.month = :m ORDER BY n.tache_code, n.code, r.zone_id NULLS FIRST"),
        {"q": quartier_id, "m": month}).mappings().all()
    return [dict(r) for r in rows]


def quartier_series(conn: Connection, quartier_id: int) -> dict:
    """Chart data: months and, per norm, the rate (None for insufficient data) of each month."""
    rows = conn.execute(text(
        "SELECT n.code, r.month, r.rate, r.status FROM compliance_results r JOIN norms n ON n.id = r.norm_id "
        "WHERE r.quartier_id = :q AND r.zone_id IS NULL ORDER BY r.month"), {"q": quartier_id}).all()
    months = sorted({r.month for r in rows})
    series: dict[str, dict] = defaultdict(dict)
    for r in rows:
        series[r.code][r.month] = None if r.status == "insufficient_data" or r.rate is None else float(r.rate)
    return {"labels": [m.strftime("%Y-%m") for m in months],
            "datasets": [{"label": code, "data": [by_month.get(m) for m in months]}
                         for code, by_month in sorted(series.items())]}


_FAILING = """
    WITH {working}
    SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
        'type', 'Feature', 'id', f.id,
        'geometry', ST_AsGeoJSON(ST_Transform(f.geom, 4326), 6)::json,
        'properties', json_build_object(
            'id', f.id, 'category', f.category_label, 'address', f.address,
            'reported_at', to_char(f.reported_at AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI'),
            'deadline', to_char(f.deadline AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI'),
            'resolved_at', to_char(f.resolved_at AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI'),
            'delay_hours', round((extract(epoch FROM f.resolved_at - f.reported_at) / 3600)::numeric, 1),
            'state', CASE WHEN f.resolved_at IS NULL THEN 'ouvert, en retard' ELSE 'résolu en retard' END,
            'simulated', CASE WHEN f.times_simulated THEN 'oui (simulé)' ELSE 'non' END)
    ) ORDER BY f.reported_at), '[]'::json))::text
    FROM (
        SELECT i.*, c.label_fr AS category_label, {deadline} AS deadline
        FROM incidents i
        JOIN (SELECT n.*, coalesce(n.calendar_id, (SELECT c.id FROM calendars c WHERE c.is_default
                                                  ORDER BY c.id LIMIT 1)) AS calendar_ref FROM norms n) n
          ON n.id = :norm AND n.metric = 'response_delay' AND i.category = ANY (n.category_codes)
        JOIN incident_categories c ON c.code = i.category
        LEFT JOIN priority_zones z ON z.id = i.zone_id
        {deadline_joins}
        WHERE i.quartier_id = :q AND i.status <> 'rejected'
          AND i.reported_at >= (CAST(:m AS date)::timestamp AT TIME ZONE :tz)
          AND i.reported_at < ((CAST(:m AS date) + interval '1 month') AT TIME ZONE :tz)
          AND (i.reported_at AT TIME ZONE :tz)::date >= n.valid_from
          AND (n.valid_to IS NULL OR (i.reported_at AT TIME ZONE :tz)::date < n.valid_to)
          AND {in_scope}
          AND (CAST(:zone AS integer) IS NULL OR i.zone_id = :zone)
    ) f
    WHERE f.deadline IS NOT NULL AND coalesce(f.resolved_at, now()) > f.deadline
"""


def failing_incidents_geojson(conn: Connection, norm_id: int, quartier_id: int, month: dt.date,
                              zone_id: int | None = None) -> str:
    """The incidents of a norm × quartier × month that failed (late or open overdue), as WGS 84 GeoJSON."""
    joins, deadline = deadline_sql("i", "n", norm_id="id")
    working = working_deadlines_cte("CAST(:m AS date)",
                                    "(CAST(:m AS date) + interval '1 month' - interval '1 day')::date")
    sql = _FAILING.format(working=working, in_scope=INCIDENT_IN_SCOPE, deadline=deadline,
                          deadline_joins=joins)
    return conn.execute(text(sql), {"norm": norm_id, "q": quartier_id, "m": month, "zone": zone_id,
                                    **deadline_params()}).scalar_one()


def quartier_outline_geojson(conn: Connection, quartier_id: int) -> str:
    """One quartier's outline with its priority zones valid today, as WGS 84 GeoJSON."""
    return conn.execute(text(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object("
        "'type', 'Feature', 'geometry', ST_AsGeoJSON(ST_Transform(g, 4326), 6)::json, "
        "'properties', json_build_object('name', name, 'kind', kind))))::text FROM ("
        " SELECT geom AS g, name, 'quartier' AS kind FROM quartiers WHERE id = :q"
        " UNION ALL SELECT geom, name, 'zone' FROM priority_zones WHERE quartier_id = :q AND status = 'approved'"
        "   AND valid_from <= current_date AND (valid_to IS NULL OR valid_to > current_date)) s"),
        {"q": quartier_id}).scalar_one()


# --- choices of the dashboard's pickers and forms ---------------------------------------------

def producers(conn: Connection) -> list[dict]:
    """Every producer (id, slug, name), by name."""
    return list(conn.exec_driver_sql("SELECT id, slug, name FROM producers ORDER BY name").mappings())


def quartiers(conn: Connection) -> list:
    """Every quartier (id, name), by name."""
    return conn.exec_driver_sql("SELECT id, name FROM quartiers ORDER BY name").all()


def quartiers_by_commune(conn: Connection) -> list:
    """Every quartier (id, name, commune_name), by commune then name."""
    return conn.exec_driver_sql("SELECT id, name, commune_name FROM quartiers ORDER BY commune_name, name").all()


def activity_kinds(conn: Connection) -> list[str]:
    """The activity kinds frequency norms count."""
    return list(conn.exec_driver_sql(
        "SELECT DISTINCT activity_kind FROM norms WHERE metric = 'frequency' ORDER BY 1").scalars())


def document_norms(conn: Connection) -> list:
    """Norms met by delivering a document (id, label_fr), by code."""
    return conn.exec_driver_sql("SELECT id, label_fr FROM norms WHERE metric = 'document' ORDER BY code").all()
