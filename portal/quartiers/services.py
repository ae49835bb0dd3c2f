"""What a quartier page shows: key figures, recent incidents, norms, whom to contact, map feeds.

Every figure is computed in PostGIS with set-based queries whose result size does not grow
with the number of incidents (aggregates, LIMITs), so the page stays light at any volume.
No Flask here: functions take a session and return plain data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from ova.errors import InvalidInput, NotFound
from ova.models import OPEN_STATUSES
from ova.models.incidents import RESOLUTION_DELAY_HOURS
from ova.settings import storage_srid
from ova.territory import clip_lonlat
from portal.maps import CATEGORY_COLOURS

#: Most recent incidents listed on the page.
RECENT_LIMIT = 20
#: Default and maximum number of features of a map feed (the most recent first).
FEED_LIMIT = 1000
FEED_MAX_LIMIT = 5000


@dataclass(frozen=True)
class Bbox:
    """A WGS 84 bounding box (west, south, east, north)."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, value: str | None) -> "Bbox | None":
        """Parse ``"w,s,e,n"``; None when absent; InvalidInput when malformed."""
        if not value:
            return None
        try:
            w, s, e, n = (float(v) for v in value.split(","))
        except ValueError as err:
            raise InvalidInput("bbox must be four numbers: west,south,east,north") from err
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise InvalidInput("bbox is out of range or empty (west,south,east,north in WGS 84)")
        return cls(w, s, e, n)


def parse_limit(value: str | None) -> int:
    """The row limit of a feed: FEED_LIMIT by default, at most FEED_MAX_LIMIT."""
    if not value:
        return FEED_LIMIT
    try:
        limit = int(value)
    except ValueError as err:
        raise InvalidInput("limit must be an integer") from err
    if limit < 1:
        raise InvalidInput("limit must be positive")
    return min(limit, FEED_MAX_LIMIT)


def get_quartier(session: Session, code: str) -> dict:
    """The quartier ``code`` with its area, WGS 84 bounds and referent service; NotFound otherwise."""
    row = session.execute(text("""
        SELECT q.id, q.code, q.name, q.commune_name, q.population,
               ST_Area(q.geom) / 1e6 AS area_km2,
               ST_YMin(b) AS south, ST_XMin(b) AS west, ST_YMax(b) AS north, ST_XMax(b) AS east,
               p.name AS producer_name, p.email AS producer_email, p.phone AS producer_phone
        FROM quartiers q
        CROSS JOIN LATERAL (SELECT ST_Transform(ST_Envelope(q.geom), 4326) AS b) e
        LEFT JOIN producers p ON p.id = q.producer_id
        WHERE q.code = :code
    """), {"code": code}).mappings().first()
    if row is None:
        raise NotFound(f"Quartier inconnu : {code}")
    return dict(row)


# Incident counts of a quartier per (category, status), from quartier_incident_counts (kept by
# triggers on incidents): a few dozen rows whatever the volume; totals per status and per category
# are summed from them. Keys whose incidents all left the quartier stay at 0 and are skipped.
_COUNTS_SQL = """
    SELECT category, status, total, resolved_late, simulated
    FROM quartier_incident_counts WHERE quartier_id = :qid AND total > 0
"""
# Open incidents past their deadline per category (it depends on now()): the open ones with a
# deadline (counted in quartier_incident_counts) less those whose deadline is still ahead (recent
# reports: an index range of ix_incidents_open_quartier_expected_at), and the latest report (index).
_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
_OVERDUE_SQL = f"""
    SELECT c.category, c.n - coalesce(f.n, 0) AS past_deadline
    FROM (SELECT category, sum(with_deadline)::bigint AS n FROM quartier_incident_counts
          WHERE quartier_id = :qid AND status IN ({_OPEN}) GROUP BY category) c
    LEFT JOIN (SELECT category, count(*) AS n FROM incidents
               WHERE quartier_id = :qid AND status IN ({_OPEN}) AND expected_at >= now()
               GROUP BY category) f USING (category)
"""
_LAST_REPORTED_SQL = "SELECT max(reported_at) FROM incidents WHERE quartier_id = :qid"
# Median resolution delay (hours) per category and overall, as percentile_cont(0.5) computes it:
# the middle value (or the two middle ones, interpolated) read at an OFFSET of the row count from
# quartier_incident_counts, in the index on the delay (index-only, no aggregate over the rows).
_DELAY = RESOLUTION_DELAY_HOURS
_MEDIANS_SQL = f"""
    WITH n AS (
        SELECT category, sum(resolved)::bigint AS n FROM quartier_incident_counts
        WHERE quartier_id = :qid AND resolved > 0 GROUP BY ROLLUP (category)
    )
    SELECT n.category IS NULL AS overall, n.category, m.v
    FROM n CROSS JOIN LATERAL (
        -- The delay is computed for the one or two rows kept, not for the rows the OFFSET skips.
        SELECT array_agg({_DELAY}::float8 ORDER BY {_DELAY}) AS v FROM (
            SELECT reported_at, resolved_at FROM incidents i
            WHERE i.quartier_id = :qid AND n.category IS NULL AND i.resolved_at IS NOT NULL
            ORDER BY {_DELAY} OFFSET (n.n - 1) / 2 LIMIT 2 - n.n % 2) o
        UNION ALL
        SELECT array_agg({_DELAY}::float8 ORDER BY {_DELAY}) FROM (
            SELECT reported_at, resolved_at FROM incidents i
            WHERE i.quartier_id = :qid AND i.category = n.category AND i.resolved_at IS NOT NULL
            ORDER BY {_DELAY} OFFSET (n.n - 1) / 2 LIMIT 2 - n.n % 2) c
    ) m WHERE m.v IS NOT NULL
"""


def _median(values: list[float]) -> float:
    """percentile_cont(0.5) of the middle value(s): PostgreSQL's lo + 0.5 * (hi - lo) in double precision."""
    return values[0] if len(values) == 1 else values[0] + 0.5 * (values[1] - values[0])


def incident_figures(session: Session, quartier_id: int) -> dict:
    """Key figures, counts by status and figures by category of the quartier.

    Returns ``{"figures": {...}, "by_status": {status: n}, "by_category": [{...}, ...]}``;
    ``figures`` has total, open, overdue (open and past the deadline), resolved_late, simulated,
    median_delay_hours, last_reported_at and establishments.
    """
    params = {"qid": quartier_id}
    figures: dict = {"total": 0, "open": 0, "overdue": 0, "resolved_late": 0, "simulated": 0,
                     "median_delay_hours": None, "last_reported_at": None}
    by_status: dict[str, int] = {}
    categories_: dict[str, dict] = {}
    for r in session.execute(text(_COUNTS_SQL), params).mappings():
        is_open = r["status"] in OPEN_STATUSES
        cat = categories_.setdefault(r["category"], {"category": r["category"], "total": 0, "open": 0,
                                                      "overdue": 0, "median_delay_hours": None})
        for target in (figures, cat):
            target["total"] += r["total"]
            if is_open:
                target["open"] += r["total"]
        figures["resolved_late"] += r["resolved_late"]
        figures["simulated"] += r["simulated"]
        by_status[r["status"]] = by_status.get(r["status"], 0) + r["total"]
    if categories_:
        for r in session.execute(text(_OVERDUE_SQL), params).mappings():
            figures["overdue"] += r["past_deadline"]
            if r["category"] in categories_:
                categories_[r["category"]]["overdue"] += r["past_deadline"]
        figures["last_reported_at"] = session.execute(text(_LAST_REPORTED_SQL), params).scalar_one()
    for r in session.execute(text(_MEDIANS_SQL), params).mappings() if categories_ else ():
        if r["overall"]:
            figures["median_delay_hours"] = _median(r["v"])
        elif r["category"] in categories_:
            categories_[r["category"]]["median_delay_hours"] = _median(r["v"])
    by_category = sorted(categories_.values(), key=lambda c: (-c["total"], c["category"]))
    figures["establishments"] = session.execute(text(
        "SELECT count(*) FROM establishments WHERE quartier_id = :qid AND closed_on IS NULL"
    ), params).scalar_one()
    return {"figures": figures, "by_status": by_status, "by_category": by_category}


def key_figures(session: Session, quartier_id: int) -> dict:
    """Incident counts (total, open, overdue…), median resolution delay (hours), establishments."""
    return incident_figures(session, quartier_id)["figures"]


def incidents_by_status(session: Session, quartier_id: int) -> dict[str, int]:
    """Number of incidents of the quartier per status."""
    return incident_figures(session, quartier_id)["by_status"]


def categories(session: Session) -> list[dict]:
    """Incident categories in taxonomy order, each with its map colour."""
    rows = session.execute(text("""
        SELECT c.code, c.label_fr, c.label_en, c.tache_code
        FROM incident_categories c JOIN taches_standard t ON t.code = c.tache_code
        JOIN champs_action ch ON ch.code = t.champ_code
        ORDER BY ch.position, t.position, c.code
    """)).mappings().all()
    return [dict(r, colour=CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]) for i, r in enumerate(rows)]


def incidents_by_category(session: Session, quartier_id: int) -> list[dict]:
    """Per category with incidents in the quartier: total, open, overdue, median delay (hours)."""
    return incident_figures(session, quartier_id)["by_category"]


def recent_incidents(session: Session, quartier_id: int, limit: int = RECENT_LIMIT) -> list[dict]:
    """The ``limit`` most recently reported incidents of the quartier."""
    rows = session.execute(text("""
        SELECT id, category, status, address, left(description, 300) AS description,
               reported_at, resolved_at, expected_at, times_simulated
        FROM public_incidents WHERE quartier_id = :qid
        ORDER BY reported_at DESC, id DESC LIMIT :limit
    """), {"qid": quartier_id, "limit": limit}).mappings().all()
    return [dict(r) for r in rows]


# Norms valid today whose scope covers the quartier (see norms/deadlines.py for the scopes).
_NORMS_SQL = """
    SELECT n.id, n.code, n.tache_code, n.label_fr, n.label_en, n.metric, n.scope, n.delay_value, n.delay_unit,
           n.pauses_on_hold,
           n.events_required, n.period, n.target_rate, n.category_codes,
           p.name AS producer_name, p.email AS producer_email, p.phone AS producer_phone
    FROM norms n
    LEFT JOIN producers p ON p.id = n.producer_id
    WHERE n.valid_from <= current_date AND (n.valid_to IS NULL OR n.valid_to > current_date)
      AND (n.scope = 'territory'
           OR (n.scope = 'quartier' AND n.quartier_id = :qid)
           OR (n.scope = 'priority_zones' AND (n.quartier_id = :qid OR (n.quartier_id IS NULL
               AND EXISTS (SELECT 1 FROM priority_zones z WHERE z.quartier_id = :qid))))
           OR (n.scope = 'zone' AND EXISTS (SELECT 1 FROM priority_zones z
                                           WHERE z.code = n.zone_code AND z.quartier_id = :qid)))
    ORDER BY n.tache_code, n.delay_unit, n.delay_value NULLS LAST, n.code
"""


def applicable_norms(session: Session, quartier_id: int) -> list[dict]:
    """The norms (quality commitments) that apply in the quartier today."""
    return [dict(r) for r in session.execute(text(_NORMS_SQL), {"qid": quartier_id}).mappings()]


def contacts(session: Session, quartier_id: int) -> list[dict]:
    """"Qui contacter ?": champs d'action → tâches standard → services (contacts) and norms."""
    taches = session.execute(text("""
        SELECT ch.code AS champ_code, ch.label_fr AS champ_fr, ch.label_en AS champ_en,
               t.code, t.label_fr, t.label_en,
               coalesce(json_agg(json_build_object('name', p.name, 'email', p.email, 'phone', p.phone,
                                                   'url', p.url) ORDER BY p.name)
                        FILTER (WHERE p.id IS NOT NULL), '[]') AS services
        FROM taches_standard t
        JOIN champs_action ch ON ch.code = t.champ_code
        LEFT JOIN tache_producers tp ON tp.tache_code = t.code
        -- A service with a competence area answers only for the quartiers that area touches.
        LEFT JOIN producers p ON p.id = tp.producer_id
             AND (p.competence_area IS NULL OR EXISTS (
                  SELECT 1 FROM quartiers q WHERE q.id = :qid AND ST_Intersects(q.geom, p.competence_area)))
        GROUP BY ch.code, ch.label_fr, ch.label_en, ch.position, t.code, t.label_fr, t.label_en, t.position
        ORDER BY ch.position, t.position
    """), {"qid": quartier_id}).mappings().all()
    norms_by_tache: dict[str, list[dict]] = {}
    for n in applicable_norms(session, quartier_id):
        norms_by_tache.setdefault(n["tache_code"], []).append(n)
    champs: list[dict] = []
    for t in taches:
        if not champs or champs[-1]["code"] != t["champ_code"]:
            champs.append({"code": t["champ_code"], "label_fr": t["champ_fr"], "label_en": t["champ_en"],
                           "taches": []})
        champs[-1]["taches"].append({"code": t["code"], "label_fr": t["label_fr"], "label_en": t["label_en"],
                                     "services": t["services"], "norms": norms_by_tache.get(t["code"], [])})
    return champs


def _label_column(lang: str) -> str:
    # Whitelisted identifier: never interpolate the language itself.
    return "label_en" if lang == "en" else "label_fr"


def _bbox_clause(bbox: Bbox | None, alias: str) -> str:
    """The bbox filter, clipped to the territory's extent (a world bbox cannot be transformed whole)."""
    if bbox is None:
        return ""
    if clip_lonlat((bbox.west, bbox.south, bbox.east, bbox.north)) is None:
        return " AND FALSE"
    return (f" AND {alias}.geom && ST_Transform(ST_Segmentize(ST_MakeEnvelope(:w, :s, :e, :n, 4326), 0.01), "
            f"{storage_srid()})")


def _bbox_params(bbox: Bbox | None) -> dict:
    box = None if bbox is None else clip_lonlat((bbox.west, bbox.south, bbox.east, bbox.north))
    return {} if box is None else dict(zip(("w", "s", "e", "n"), box))


def incidents_geojson(session: Session, quartier_id: int, *, bbox: Bbox | None, limit: int,
                      lang: str = "fr", category: str | None = None) -> str:
    """The quartier's most recent incidents in ``bbox`` (of ``category`` when given, at most ``limit``).

    Returns GeoJSON text; ``truncated`` is true when more incidents matched than were returned.
    """
    colours = {c["code"]: c["colour"] for c in categories(session)}
    if category is not None and category not in colours:
        raise InvalidInput(f"unknown incident category: {category}")
    sql = f"""
        WITH hits AS (
            SELECT i.id, i.category, i.status, i.address, left(i.description, 300) AS description,
                   i.reported_at, i.times_simulated, i.geom, c.{_label_column(lang)} AS category_label
            FROM public_incidents i JOIN incident_categories c ON c.code = i.category
            WHERE i.quartier_id = :qid {_bbox_clause(bbox, 'i')}
              AND (CAST(:category AS text) IS NULL OR i.category = :category)
            ORDER BY i.reported_at DESC, i.id DESC
            LIMIT :limit + 1
        ), shown AS (SELECT * FROM hits ORDER BY reported_at DESC, id DESC LIMIT :limit)
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'truncated', (SELECT count(*) FROM hits) > :limit,
            'features', coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', s.id,
                'geometry', ST_AsGeoJSON(ST_Transform(s.geom, 4326), 6)::json,
                'properties', json_build_object(
                    'id', s.id, 'category', s.category, 'category_label', s.category_label,
                    'colour', (:colours)::jsonb ->> s.category,
                    'status', s.status, 'address', s.address, 'description', s.description,
                    'reported_at', s.reported_at, 'simulated', s.times_simulated)
            ) ORDER BY s.reported_at DESC, s.id DESC), '[]'::json)
        )::text FROM shown s
    """
    params = {"qid": quartier_id, "limit": limit, "colours": json.dumps(colours), "category": category,
              **_bbox_params(bbox)}
    return session.execute(text(sql), params).scalar_one()


def establishments_geojson(session: Session, quartier_id: int, *, bbox: Bbox | None, limit: int) -> str:
    """Open establishments of the quartier placed at their address, in ``bbox`` (at most ``limit``)."""
    sql = f"""
        WITH hits AS (
            SELECT e.id, e.name, e.siret, e.naf_code, e.created_on, e.geom
            FROM establishments e
            WHERE e.quartier_id = :qid AND e.closed_on IS NULL AND e.geom IS NOT NULL
              AND e.geo_precision = 'address' {_bbox_clause(bbox, 'e')}
            ORDER BY e.id LIMIT :limit + 1
        ), shown AS (SELECT * FROM hits ORDER BY id LIMIT :limit)
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'truncated', (SELECT count(*) FROM hits) > :limit,
            'features', coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', s.id,
                'geometry', ST_AsGeoJSON(ST_Transform(s.geom, 4326), 6)::json,
                'properties', json_build_object('id', s.id, 'name', coalesce(s.name, s.siret),
                                                'siret', s.siret, 'naf_code', s.naf_code,
                                                'created_on', s.created_on)
            ) ORDER BY s.id), '[]'::json)
        )::text FROM shown s
    """
    return session.execute(text(sql), {"qid": quartier_id, "limit": limit, **_bbox_params(bbox)}).scalar_one()


def outline_geojson(session: Session, quartier_id: int) -> str:
    """The quartier boundary and its priority zones valid today, as one FeatureCollection."""
    return session.execute(text("""
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(f), '[]'::json))::text
        FROM (
            SELECT json_build_object('type', 'Feature', 'id', 'quartier',
                'geometry', ST_AsGeoJSON(ST_Transform(q.geom, 4326), 6)::json,
                'properties', json_build_object('kind', 'quartier', 'name', q.name, 'code', q.code)) AS f
            FROM quartiers q WHERE q.id = :qid
        ) s
    """), {"qid": quartier_id}).scalar_one()


def zones_geojson(session: Session, quartier_id: int) -> str:
    """Priority zones of the quartier valid today (any status), as a FeatureCollection."""
    return session.execute(text("""
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
            json_build_object('type', 'Feature', 'id', z.id,
                'geometry', ST_AsGeoJSON(ST_Transform(z.geom, 4326), 6)::json,
                'properties', json_build_object('name', z.name, 'code', z.code, 'status', z.status,
                                                'valid_from', z.valid_from))
            ORDER BY z.code), '[]'::json))::text
        FROM priority_zones z
        WHERE z.quartier_id = :qid AND z.valid_from <= current_date
          AND (z.valid_to IS NULL OR z.valid_to > current_date)
    """), {"qid": quartier_id}).scalar_one()


def zones(session: Session, quartier_id: int) -> list[dict]:
    """Priority zones of the quartier valid today, for the page's table."""
    return [dict(r) for r in session.execute(text("""
        SELECT code, name, status, valid_from, round((ST_Area(geom) / 1e4)::numeric, 2)::float AS area_ha
        FROM priority_zones WHERE quartier_id = :qid AND valid_from <= current_date
          AND (valid_to IS NULL OR valid_to > current_date) ORDER BY code
    """), {"qid": quartier_id}).mappings()]
