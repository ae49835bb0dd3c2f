"""Territorial diagnostic of public purchases per CPV division: where past spend went, who could
supply it locally, and what is coming.

For one buyer, several, or all the buyers of the territory, and a reference commune:

- past spend (DECP lines, co-contractors' shares as in :mod:`indicators.procurement`) split by the
  supplier's commune into **local** (the commune's EPCI; its département when the commune is not in
  ``commune_epci``), **régional** (the same région, outside the local territory: ``data/regions.yml``),
  **ailleurs** (elsewhere) and **inconnu** (supplier not found in SIRENE); the shares are over the
  located spend, and the join rate says how much of it was located;
- the number of active local establishments (``establishments`` not closed, in the local
  territory, counted once per SIRET) whose NAF code matches the division (``data/cpv_naf.yml``);
- the planned purchases still to come (count and estimated amount);
- **secteur stratégique**: at least :data:`STRATEGIC_LEAK` of the located spend leaves the local
  territory while at least :data:`STRATEGIC_MIN_FIRMS` local establishments could supply it.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import text

from indicators.procurement import _LINES, Scope, commune_sql, departement_sql
from indicators.purchases import ESTIMATE_SQL, OPEN_STATUSES, SIRET_RE, division_label
from ova.errors import InvalidInput
from ova.i18n import gettext as _

DATA = Path(__file__).resolve().parent / "data"
CPV_NAF_FILE = DATA / "cpv_naf.yml"
REGIONS_FILE = DATA / "regions.yml"
#: Share of the located spend going outside the local territory above which a division may be strategic.
STRATEGIC_LEAK = 0.5
#: Active local establishments in the matching NAF sectors needed to call a division strategic.
STRATEGIC_MIN_FIRMS = 3
CLASSES = ("local", "regional", "elsewhere", "unknown")


@functools.lru_cache(maxsize=4)
def _yaml(path: Path, mtime: float) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def cpv_naf(path: Path = CPV_NAF_FILE) -> dict[str, list[str]]:
    """CPV division → NAF prefixes (``data/cpv_naf.yml``)."""
    document = _yaml(path, path.stat().st_mtime)
    return {str(k): [str(p) for p in v["naf"]] for k, v in document["divisions"].items()}


def regions(path: Path = REGIONS_FILE) -> dict[str, str]:
    """Département → région code (``data/regions.yml``)."""
    document = _yaml(path, path.stat().st_mtime)
    return {str(d): str(code) for code, region in document.items() for d in region["departements"]}


def region_sql(expr: str) -> str:
    """SQL région code of the département code ``expr`` (codes from the data file, never user input)."""
    mapping = regions()
    cases = " ".join(f"WHEN '{d}' THEN '{r}'" for d, r in sorted(mapping.items())
                     if d.isalnum() and r.isdigit())
    return f"(CASE {expr} {cases} END)"


@dataclass(frozen=True)
class Territory:
    """Buyers (None: every buyer of the DECP), a reference commune and a period [start, end)."""

    buyers: tuple[str, ...] | None = None
    commune: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def check(self) -> Territory:
        for buyer in self.buyers or ():
            if not SIRET_RE.match(buyer):
                raise InvalidInput(_("SIRET d'acheteur invalide « %(value)s » (14 chiffres attendus)", value=buyer[:20]))
        if not self.commune:
            raise InvalidInput(_("indiquez la commune de référence (code INSEE) du diagnostic"))
        return self


def territory_buyers(conn) -> list[str]:
    """The buyers of the territory: those of the portal's services and of the planned purchases."""
    return list(conn.scalars(text(
        "SELECT buyer_siret FROM producers WHERE buyer_siret IS NOT NULL "
        "UNION SELECT buyer_siret FROM planned_purchases ORDER BY 1")))


def _params(conn, territory: Territory) -> dict:
    territory.check()
    params = Scope(start=territory.start, end=territory.end, commune=territory.commune).params(conn)
    params["region"] = conn.scalar(text(f"SELECT {region_sql(':dept')}"), {"dept": params["dept"]})
    params["buyers"] = list(territory.buyers) if territory.buyers is not None else None
    return params


def _spend_sql() -> str:
    dep = departement_sql("supplier_commune")
    return f"""
        WITH {_LINES}, classed AS (
            SELECT f.*, CASE WHEN supplier_commune IS NULL THEN 'unknown'
                             WHEN coalesce(in_metropole, false) THEN 'local'
                             WHEN {region_sql(dep)} = CAST(:region AS text) THEN 'regional'
                             ELSE 'elsewhere' END AS class
            FROM flagged f
            WHERE CAST(:buyers AS text[]) IS NULL OR f.buyer_siret = ANY (CAST(:buyers AS text[]))
        )"""


def past_spend(conn, territory: Territory) -> dict[str, dict]:
    """Per CPV division: amount, contracts, lines, matched lines and the amount per class."""
    params = _params(conn, territory)
    classes = ", ".join(f"coalesce(sum(amount_share) FILTER (WHERE class = '{c}'), 0) AS amount_{c}" for c in CLASSES)
    rows = conn.execute(text(f"""
        {_spend_sql()}
        SELECT coalesce(cpv_family, '??') AS division, coalesce(sum(amount_share), 0) AS amount,
               coalesce(sum(contract_share), 0) AS contracts, count(*) AS lines,
               count(*) FILTER (WHERE match <> 'none') AS lines_matched, {classes}
        FROM classed GROUP BY 1"""), params).mappings()
    return {r["division"]: {k: (float(v) if k.startswith("amount") or k == "contracts" else v) for k, v in r.items()}
            for r in rows}


def local_establishments(conn, territory: Territory, divisions: list[str] | None = None) -> dict[str, int]:
    """Per CPV division: active establishments of the local territory in the matching NAF sectors."""
    params = _params(conn, territory)
    table = cpv_naf()
    pairs = [(d, p) for d, prefixes in table.items() if divisions is None or d in divisions for p in prefixes]
    if not pairs:
        return {}
    commune = commune_sql("e.commune_insee")
    rows = conn.execute(text(f"""
        WITH m(division, prefix) AS (SELECT * FROM unnest(CAST(:divs AS text[]), CAST(:prefixes AS text[])))
        SELECT m.division, count(DISTINCT coalesce(e.siret, e.source || ':' || e.external_id)) AS n
        FROM establishments e
        JOIN m ON e.naf_code LIKE m.prefix || '%'
        LEFT JOIN commune_epci ce ON ce.commune_insee = {commune}
        WHERE e.closed_on IS NULL AND e.commune_insee IS NOT NULL
          AND CASE WHEN CAST(:epci AS text) IS NOT NULL THEN ce.epci_siren = CAST(:epci AS text)
                   ELSE {departement_sql(commune)} = CAST(:dept AS text) END
        GROUP BY 1"""), {**params, "divs": [d for d, _p in pairs], "prefixes": [p for _d, p in pairs]})
    return {r.division: r.n for r in rows}


def coming(conn, territory: Territory) -> dict[str, dict]:
    """Per CPV division: the planned purchases still to come (count, estimated amount)."""
    buyers = list(territory.buyers) if territory.buyers is not None else None
    rows = conn.execute(text(f"""
        SELECT coalesce(left(p.cpv_code, 2), '??') AS division, count(*) AS purchases,
               coalesce(sum({ESTIMATE_SQL}), 0) AS amount
        FROM planned_purchases p
        WHERE p.status = ANY (:statuses)
          AND (CAST(:buyers AS text[]) IS NULL OR p.buyer_siret = ANY (CAST(:buyers AS text[])))
        GROUP BY 1"""), {"statuses": list(OPEN_STATUSES), "buyers": buyers}).mappings()
    return {r["division"]: {"purchases": r["purchases"], "amount": float(r["amount"])} for r in rows}


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def diagnostic(conn, territory: Territory) -> dict:
    """The diagnostic: one row per CPV division (past spend and its split, local establishments,
    coming purchases, strategic flag), the totals and the join rate."""
    spend = past_spend(conn, territory)
    upcoming = coming(conn, territory)
    divisions = sorted(set(spend) | set(upcoming), key=lambda d: (-(spend.get(d, {}).get("amount", 0)), d))
    firms = local_establishments(conn, territory)
    rows = []
    for division in divisions:
        past = spend.get(division, {})
        located = sum(past.get(f"amount_{c}", 0.0) for c in ("local", "regional", "elsewhere"))
        leaving = past.get("amount_regional", 0.0) + past.get("amount_elsewhere", 0.0)
        row = {
            "division": division, "label": division_label(division),
            "amount": past.get("amount", 0.0), "contracts": past.get("contracts", 0.0),
            "lines": past.get("lines", 0), "lines_matched": past.get("lines_matched", 0),
            **{f"amount_{c}": past.get(f"amount_{c}", 0.0) for c in CLASSES},
            "amount_located": located,
            **{f"share_{c}": _share(past.get(f"amount_{c}", 0.0), located) for c in ("local", "regional", "elsewhere")},
            "share_leaving": _share(leaving, located),
            "share_located": _share(located, past.get("amount", 0.0)),
            "local_establishments": firms.get(division, 0) if division in cpv_naf() else None,
            "coming_purchases": upcoming.get(division, {}).get("purchases", 0),
            "coming_amount": upcoming.get(division, {}).get("amount", 0.0),
        }
        row["strategic"] = bool(located and row["share_leaving"] >= STRATEGIC_LEAK
                                and (row["local_establishments"] or 0) >= STRATEGIC_MIN_FIRMS)
        rows.append(row)
    lines = sum(r["lines"] for r in rows)
    matched = sum(r["lines_matched"] for r in rows)
    total = sum(r["amount"] for r in rows)
    located = sum(r["amount_located"] for r in rows)
    params = _params(conn, territory)
    return {"rows": rows, "lines": lines, "lines_matched": matched, "join_rate": _share(matched, lines),
            "amount": total, "amount_located": located, "located_rate": _share(located, total),
            "commune": params["commune"], "epci": params["epci"], "departement": params["dept"],
            "region": params["region"], "local_basis": "epci" if params["epci"] else "departement",
            "strategic": [r["division"] for r in rows if r["strategic"]]}


def suppliers_geojson(conn, territory: Territory, division: str | None = None) -> str:
    """The territory's placed suppliers (WGS 84 FeatureCollection text) with their class
    (local, regional, elsewhere), amount and CPV divisions; optionally of one ``division``."""
    params = _params(conn, territory)
    if division is not None and not (len(division) == 2 and division.isdigit()):
        raise InvalidInput(_("division CPV invalide « %(value)s » (2 chiffres attendus)", value=division[:10]))
    params["division"] = division
    return conn.execute(text(f"""
        {_spend_sql()}, sup AS (
            SELECT est_id, min(est_name) AS name, min(supplier_commune) AS commune, min(class) AS class,
                   string_agg(DISTINCT cpv_family, ', ') AS divisions,
                   round(coalesce(sum(amount_share), 0)::numeric, 2) AS amount,
                   ST_Transform((array_agg(geom))[1], 4326) AS g
            FROM classed WHERE est_id IS NOT NULL AND geom IS NOT NULL
              AND (CAST(:division AS text) IS NULL OR cpv_family = CAST(:division AS text))
            GROUP BY est_id
        )
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', est_id, 'geometry', ST_AsGeoJSON(g, 6)::json,
            'properties', json_build_object('name', name, 'commune', commune, 'class', class,
                'divisions', divisions, 'amount', amount)) ORDER BY est_id), '[]'::json))::text
        FROM sup"""), params).scalar_one()


def chart_data(result: dict, labels: dict[str, str], limit: int = 15) -> dict:
    """Stacked bars (local, regional, elsewhere, unknown spend) of the largest divisions, for Chart.js."""
    rows = [r for r in result["rows"] if r["amount"] > 0][:limit]
    return {"labels": [f"{r['division']} {'★ ' if r['strategic'] else ''}{r['label'][:28]}" for r in rows],
            "series": [{"key": c, "label": labels[c], "values": [round(r[f"amount_{c}"]) for r in rows]}
                       for c in CLASSES]}


def to_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
