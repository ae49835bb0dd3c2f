"""Territory indicators per quartier (one PostGIS query) and the catalogue layers a role may see.

No Flask here: functions take a session and return plain data; the views adapt them.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from ova.models import OPEN_STATUSES
from ova.settings import storage_srid
from portal.maps import class_breaks, class_colours, class_of


@dataclass(frozen=True)
class Indicator:
    """A choropleth indicator: ``column`` of the indicators query, its unit and decimals."""

    key: str
    column: str
    label: str  # French; translated by the view with gettext
    unit: str
    decimals: int = 0


#: Indicators offered on the territory map; ``column`` names a column of ``_INDICATORS_SQL``.
INDICATORS: dict[str, Indicator] = {
    i.key: i for i in (
        Indicator("open_incidents", "open_incidents", "Signalements en cours", "signalements"),
        Indicator("incident_density", "incident_density", "Signalements par km²", "/km²", 1),
        Indicator("establishments", "establishments", "Établissements", "établissements"),
    )
}
DEFAULT_INDICATOR = "open_incidents"

# Every indicator of every quartier in one set-based query; the geometry only when asked for. The
# incident counts come from quartier_incident_counts (kept by triggers on incidents, a few rows per
# quartier), so the page costs the same at any number of incidents.
_INDICATORS_SQL = """
    WITH inc AS (
        SELECT quartier_id, sum(total)::bigint AS total,
               sum(total) FILTER (WHERE status = ANY (:open))::bigint AS open
        FROM quartier_incident_counts GROUP BY quartier_id
    ), est AS (
        SELECT quartier_id, count(*) AS n
        FROM establishments WHERE quartier_id IS NOT NULL AND closed_on IS NULL GROUP BY quartier_id
    )
    SELECT q.code, q.name, q.commune_name,
           round((ST_Area(q.geom) / 1e6)::numeric, 3)::float AS area_km2,
           coalesce(inc.total, 0) AS incidents,
           coalesce(inc.open, 0) AS open_incidents,
           round((coalesce(inc.total, 0) / nullif(ST_Area(q.geom) / 1e6, 0))::numeric, 1)::float
               AS incident_density,
           coalesce(est.n, 0) AS establishments
           {geometry}
    FROM quartiers q
    LEFT JOIN inc ON inc.quartier_id = q.id
    LEFT JOIN est ON est.quartier_id = q.id
    WHERE CAST(:commune AS text) IS NULL OR q.commune_name = :commune
    ORDER BY q.commune_name, q.name
"""
_GEOMETRY = (", ST_AsGeoJSON(ST_Transform(ST_Multi(ST_SimplifyPreserveTopology(q.geom, 2.0)), 4326), 6)"
             " AS geometry")


def indicator(key: str | None) -> Indicator:
    """The indicator named ``key``, the default one when unknown or missing."""
    return INDICATORS.get(key or "", INDICATORS[DEFAULT_INDICATOR])


def quartier_indicators(session: Session, *, with_geometry: bool = False,
                        commune: str | None = None) -> list[dict]:
    """Every quartier (of ``commune`` when given) with all its indicators, and its WGS 84 geometry when asked."""
    sql = _INDICATORS_SQL.format(geometry=_GEOMETRY if with_geometry else "")
    rows = session.execute(text(sql), {"open": list(OPEN_STATUSES), "commune": commune}).mappings().all()
    return [dict(r) for r in rows]


def communes(session: Session) -> list[str]:
    """Names of the communes that have quartiers, the one with most quartiers first."""
    return list(session.execute(text(
        "SELECT commune_name FROM quartiers WHERE commune_name IS NOT NULL "
        "GROUP BY commune_name ORDER BY count(*) DESC, commune_name"
    )).scalars())


def choose_commune(available: list[str], asked: str | None, default: str | None) -> str | None:
    """The commune to show: the one asked for, else the configured territory, else the largest one."""
    for name in (asked, default):
        if name and name in available:
            return name
    return available[0] if available else None


def extent(session: Session, commune: str | None) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the quartiers (of ``commune``) in WGS 84, None when empty."""
    row = session.execute(text("""
        SELECT ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e) FROM (
            SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, CAST(:srid AS integer)), 4326) AS e FROM quartiers
            WHERE CAST(:commune AS text) IS NULL OR commune_name = :commune) s
    """), {"commune": commune, "srid": storage_srid()}).one()
    return None if row[0] is None else [[row[0], row[1]], [row[2], row[3]]]


def classify(rows: list[dict], ind: Indicator) -> dict:
    """Class breaks, colours and each row's class for ``ind`` (adds ``value``/``fill`` to rows)."""
    breaks = class_breaks([r[ind.column] for r in rows])
    colours = class_colours(breaks)
    for r in rows:
        r["value"] = r[ind.column]
        k = class_of(r["value"], breaks)
        r["fill"] = colours[k] if k is not None else None
    classes = []
    low = None
    for b, colour in zip(breaks, colours):
        classes.append({"low": low, "high": b, "colour": colour})
        low = b
    return {"breaks": breaks, "classes": classes}


def choropleth_geojson(rows: list[dict]) -> str:
    """A FeatureCollection of classified rows (from ``quartier_indicators(with_geometry=True)``)."""
    features = []
    for r in rows:
        props = {k: v for k, v in r.items() if k != "geometry"}
        features.append({"type": "Feature", "id": r["code"], "geometry": json.loads(r["geometry"]),
                         "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def catalogue_layers(session: Session, role: str | None) -> list[dict]:
    """Published catalogue layers readable by ``role`` (None: anonymous; admin reads all)."""
    rows = session.execute(
        text("""
            SELECT slug, title, geometry_type, attribution FROM layers
            WHERE published AND (cardinality(restricted_to) = 0 OR :role = ANY (restricted_to)
                                 OR :role = 'admin')
            ORDER BY title
        """),
        {"role": role or ""},
    ).mappings().all()
    return [dict(r) for r in rows]


def fold_name(s: str) -> str:
    """Lower-case ``s`` without accents, hyphens or apostrophes, for name matching."""
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    for ch in "-'’":
        s = s.replace(ch, " ")
    return " ".join(s.split())


def search_quartiers(session: Session, query: str) -> list[dict]:
    """Quartiers whose code or name matches ``query`` (accents and case ignored); exact first."""
    wanted = fold_name(query)
    if not wanted:
        return []
    rows = session.execute(text("SELECT code, name, commune_name FROM quartiers ORDER BY name")).mappings()
    exact, partial = [], []
    for r in rows:
        name = fold_name(r["name"])
        if wanted in (name, fold_name(r["code"])):
            exact.append(dict(r))
        elif wanted in name:
            partial.append(dict(r))
    return exact + partial


#: Credits of reference data by the name prefix of the quartiers' source file (ODbL asks for it).
CREDITS = {
    "paris_": "Quartiers, DansMaRue : Ville de Paris (ODbL)",
    "nantes_": "Quartiers : Nantes Métropole (ODbL)",
}
DEFAULT_CREDIT = CREDITS["paris_"]


def data_credit(session: Session, commune: str | None) -> str:
    """The attribution of the quartiers shown (of ``commune``), from their source files."""
    sources = session.execute(text(
        "SELECT DISTINCT source FROM quartiers WHERE CAST(:commune AS text) IS NULL OR commune_name = :commune"
    ), {"commune": commune}).scalars()
    credits = {c for src in sources for prefix, c in CREDITS.items() if src.lower().startswith(prefix)}
    return " · ".join(sorted(credits)) or DEFAULT_CREDIT
