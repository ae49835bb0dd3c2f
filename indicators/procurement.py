"""Public procurement (DECP): contracts, their suppliers, and the local share of a buyer's spend.

Suppliers are placed by joining the contract's supplier SIRET to ``establishments.siret``; when
no establishment has that SIRET, another establishment of the same company (SIREN) is used and
the match is marked ``siren`` (its location is the company's, not necessarily the contractor's).

Spend of a contract with several suppliers (co-contractors) is split equally between them, and
so is the contract itself when counting contracts, so that nothing is counted twice.

Territories of a supplier relative to a reference commune (the buyer's):
- ``commune``: same commune (Paris, Lyon, Marseille arrondissements count as their commune);
- ``metropole``: same EPCI according to ``commune_epci`` (indicators/data/commune_epci.csv, the
  shipped cities only); when the reference commune is not in that table the département is used
  instead, and the result says so (``metropole_basis``);
- ``departement``: same département.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from ova.db import transaction
from ova.errors import InvalidInput

EPCI_CSV = Path(__file__).resolve().parent / "data" / "commune_epci.csv"

#: Company size classes counted as TPE/PME, and every class whose size is known.
SMALL_SIZES = ("TPE", "PME", "MIC")
KNOWN_SIZES = SMALL_SIZES + ("ETI", "GE")
#: Below this many distinct local suppliers, a CPV family is flagged as thin local supply.
THIN_SUPPLY = 3
LEVELS = ("commune", "metropole", "departement")

#: NAF rév. 2 divisions (first two digits) → section letter.
NAF_SECTIONS = (
    ("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39), ("F", 41, 43),
    ("G", 45, 47), ("H", 49, 53), ("I", 55, 56), ("J", 58, 63), ("K", 64, 66), ("L", 68, 68),
    ("M", 69, 75), ("N", 77, 82), ("O", 84, 84), ("P", 85, 85), ("Q", 86, 88), ("R", 90, 93),
    ("S", 94, 96), ("T", 97, 98), ("U", 99, 99),
)
NAF_SECTION_LABELS = {
    "A": "Agriculture, sylviculture et pêche", "B": "Industries extractives", "C": "Industrie manufacturière",
    "D": "Électricité, gaz, vapeur", "E": "Eau, assainissement, déchets", "F": "Construction",
    "G": "Commerce, réparation d'automobiles", "H": "Transports et entreposage", "I": "Hébergement et restauration",
    "J": "Information et communication", "K": "Activités financières et d'assurance", "L": "Activités immobilières",
    "M": "Activités spécialisées, scientifiques et techniques", "N": "Services administratifs et de soutien",
    "O": "Administration publique", "P": "Enseignement", "Q": "Santé humaine et action sociale",
    "R": "Arts, spectacles et activités récréatives", "S": "Autres activités de services",
    "T": "Activités des ménages", "U": "Activités extra-territoriales",
}
#: CPV divisions (first two digits of the code) → label.
CPV_FAMILIES = {
    "03": "Produits agricoles et alimentaires de base", "09": "Produits pétroliers, combustibles, électricité",
    "14": "Produits de l'exploitation minière", "15": "Produits alimentaires et boissons",
    "16": "Machines agricoles", "18": "Vêtements et accessoires", "19": "Cuir, textiles, plastique",
    "22": "Imprimés", "24": "Produits chimiques", "30": "Machines de bureau et informatique",
    "31": "Machines et appareils électriques", "32": "Équipements de radio, télévision, télécommunications",
    "33": "Matériel médical et pharmaceutique", "34": "Équipements de transport",
    "35": "Équipements de sécurité et de défense", "37": "Instruments de musique, articles de sport, jeux",
    "38": "Équipements de laboratoire et d'optique", "39": "Meubles, aménagements, produits de nettoyage",
    "41": "Eau collectée et purifiée", "42": "Machines industrielles", "43": "Machines pour mines et BTP",
    "44": "Structures et matériaux de construction", "45": "Travaux de construction",
    "48": "Logiciels et systèmes d'information", "50": "Réparation et entretien",
    "51": "Services d'installation", "55": "Hôtellerie et restauration", "60": "Services de transport",
    "63": "Services d'appui aux transports", "64": "Services postaux et de télécommunications",
    "65": "Services publics (eau, énergie)", "66": "Services financiers et d'assurance",
    "70": "Services immobiliers", "71": "Architecture, ingénierie, inspection",
    "72": "Services informatiques", "73": "Recherche et développement",
    "75": "Administration publique, défense, sécurité sociale", "76": "Services pétroliers et gaziers",
    "77": "Services agricoles, sylvicoles, horticoles", "79": "Services aux entreprises",
    "80": "Enseignement et formation", "85": "Santé et action sociale",
    "90": "Assainissement, déchets, nettoyage, environnement", "92": "Loisirs, culture et sport",
    "98": "Autres services collectifs et personnels",
}


def commune_sql(expr: str) -> str:
    """SQL mapping arrondissement INSEE codes (Paris, Lyon, Marseille) of ``expr`` to their commune."""
    return (f"(CASE WHEN {expr} LIKE '751__' THEN '75056' "
            f"WHEN {expr} BETWEEN '69381' AND '69389' THEN '69123' "
            f"WHEN {expr} BETWEEN '13201' AND '13216' THEN '13055' ELSE {expr} END)")


def departement_sql(expr: str) -> str:
    """SQL département code of the INSEE commune code ``expr`` (3 characters overseas)."""
    return f"(CASE WHEN {expr} LIKE '97%' THEN left({expr}, 3) ELSE left({expr}, 2) END)"


def naf_section_sql(expr: str) -> str:
    """SQL NAF section letter of the NAF code ``expr`` (e.g. '43.12A' → 'F')."""
    division = f"(CASE WHEN {expr} ~ '^[0-9]{{2}}' THEN left({expr}, 2)::int END)"
    cases = " ".join(f"WHEN {division} BETWEEN {lo} AND {hi} THEN '{s}'" for s, lo, hi in NAF_SECTIONS)
    return f"(CASE {cases} END)"


def load_commune_epci(bind, path: Path = EPCI_CSV) -> int:
    """Upsert the commune → EPCI table from ``path``; return the number of rows read."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with transaction(bind) as conn:
        conn.execute(text("""
            INSERT INTO commune_epci (commune_insee, commune_name, epci_siren, epci_name, departement)
            VALUES (:commune_insee, :commune_name, :epci_siren, :epci_name, :departement)
            ON CONFLICT (commune_insee) DO UPDATE SET commune_name = EXCLUDED.commune_name,
                epci_siren = EXCLUDED.epci_siren, epci_name = EXCLUDED.epci_name,
                departement = EXCLUDED.departement
        """), rows)
    return len(rows)


# --- contract lines with their supplier ---------------------------------------------------------

_LINES = f"""
    est_siret AS MATERIALIZED (
        SELECT DISTINCT ON (siret) id, siret, siren, name, naf_code, size_class, commune_insee, geo_precision, geom
        FROM establishments
        WHERE siret IN (SELECT supplier_siret FROM public_contracts UNION SELECT supplier_id FROM public_contracts)
        ORDER BY siret, (geo_precision = 'address') DESC, id
    ), est_siren AS MATERIALIZED (
        SELECT DISTINCT ON (siren) id, siret, siren, name, naf_code, size_class, commune_insee, geo_precision, geom
        FROM establishments
        WHERE siren IN (SELECT left(supplier_id, 9) FROM public_contracts)
        ORDER BY siren, (geo_precision = 'address') DESC, id
    ), raw AS (
        SELECT c.*,
               coalesce(c.supplier_siret, CASE WHEN c.supplier_id ~ '^[0-9]{{14}}$' THEN c.supplier_id END) AS key,
               c.amount / count(*) OVER (PARTITION BY c.decp_id) AS amount_share,
               1.0 / count(*) OVER (PARTITION BY c.decp_id) AS contract_share
        FROM public_contracts c
        WHERE (CAST(:start AS date) IS NULL OR c.notified_on >= CAST(:start AS date))
          AND (CAST(:end AS date) IS NULL OR c.notified_on < CAST(:end AS date))
    ), lines AS (
        SELECT r.*, e.id AS est_id,
               CASE WHEN s1.id IS NOT NULL THEN 'siret' WHEN s2.id IS NOT NULL THEN 'siren' ELSE 'none' END AS match,
               e.name AS est_name, e.naf_code, e.size_class, e.geo_precision, e.geom,
               {commune_sql('e.commune_insee')} AS supplier_commune,
               left(r.cpv_code, 2) AS cpv_family,
               coalesce(r.key, r.supplier_id) AS supplier_key,
               CASE WHEN coalesce(r.key, r.supplier_id) ~ '^[0-9]{{9}}'
                    THEN left(coalesce(r.key, r.supplier_id), 9) ELSE coalesce(r.key, r.supplier_id) END AS supplier_company,
               (CAST(:buyer AS text) IS NULL OR r.buyer_siret = CAST(:buyer AS text)) AS of_buyer
        FROM raw r
        LEFT JOIN est_siret s1 ON s1.siret = r.key
        LEFT JOIN est_siren s2 ON s1.id IS NULL AND r.supplier_id ~ '^[0-9]{{9}}' AND s2.siren = left(r.supplier_id, 9)
        LEFT JOIN LATERAL (SELECT coalesce(s1.id, s2.id) AS id, coalesce(s1.name, s2.name) AS name,
                                  coalesce(s1.naf_code, s2.naf_code) AS naf_code,
                                  coalesce(s1.size_class, s2.size_class) AS size_class,
                                  coalesce(s1.commune_insee, s2.commune_insee) AS commune_insee,
                                  coalesce(s1.geo_precision, s2.geo_precision) AS geo_precision,
                                  coalesce(s1.geom, s2.geom) AS geom) e ON true
    ), flagged AS (
        SELECT l.*,
               l.supplier_commune = CAST(:commune AS text) AS in_commune,
               CASE WHEN CAST(:epci AS text) IS NOT NULL
                    THEN ce.epci_siren = CAST(:epci AS text)
                    ELSE {departement_sql('l.supplier_commune')} = CAST(:dept AS text) END AS in_metropole,
               {departement_sql('l.supplier_commune')} = CAST(:dept AS text) AS in_departement
        FROM lines l LEFT JOIN commune_epci ce ON ce.commune_insee = l.supplier_commune
    )
"""


@dataclass(frozen=True)
class Scope:
    """A buyer (SIRET, or None for every buyer), a period [start, end) and a reference commune."""

    buyer: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    commune: str | None = None

    def params(self, conn) -> dict:
        """Bind parameters of the queries, with the EPCI and département of the commune."""
        if self.buyer is not None and not (self.buyer.isdigit() and len(self.buyer) == 14):
            raise InvalidInput(f"SIRET d'acheteur invalide « {self.buyer} » (14 chiffres attendus)")
        if self.commune is not None and not (len(self.commune) == 5 and self.commune[:2].isalnum()):
            raise InvalidInput(f"code commune INSEE invalide « {self.commune} »")
        if self.start and self.end and self.end <= self.start:
            raise InvalidInput("la fin de la période doit suivre son début")
        commune = epci = dept = None
        if self.commune:
            commune, epci, dept = conn.execute(text(f"""
                SELECT c, (SELECT epci_siren FROM commune_epci WHERE commune_insee = c), {departement_sql('c')}
                FROM (SELECT {commune_sql('CAST(:c AS text)')} AS c) s"""), {"c": self.commune}).one()
        return {"buyer": self.buyer, "start": self.start, "end": self.end,
                "commune": commune, "epci": epci, "dept": dept}


def buyer_commune(conn, buyer_siret: str) -> tuple[str | None, str]:
    """Guess the buyer's commune: its establishment, a commune's SIREN, or its contracts' place.

    Returns the INSEE code (or None) and the basis of the guess.
    """
    found = conn.scalar(text("SELECT commune_insee FROM establishments WHERE siret = :s AND commune_insee IS NOT NULL "
                             "ORDER BY id LIMIT 1"), {"s": buyer_siret})
    if found:
        return found, "establishment"
    if buyer_siret.startswith("21") and buyer_siret[4] == "0":
        # A commune's SIREN is 21 + département (2) + 0 + commune number (3) + check digit.
        return buyer_siret[2:4] + buyer_siret[5:8], "siren_commune"
    found = conn.scalar(text("""
        SELECT place_code FROM public_contracts
        WHERE buyer_siret = :s AND place_type = 'Code commune' AND place_code ~ '^[0-9AB]{5}$'
        GROUP BY place_code ORDER BY count(*) DESC, place_code LIMIT 1"""), {"s": buyer_siret})
    if found:
        return found, "place_of_execution"
    return None, "unknown"


def _share(part, whole):
    return None if not whole or part is None else float(part) / float(whole)


def summary(conn, scope: Scope) -> dict:
    """Totals, local shares by level and TPE/PME share of the scope's contract lines."""
    params = scope.params(conn)
    small = ", ".join(f"'{s}'" for s in SMALL_SIZES)
    known = ", ".join(f"'{s}'" for s in KNOWN_SIZES)
    levels = ",\n".join(
        f"sum(amount_share) FILTER (WHERE in_{lv}) AS amount_{lv}, "
        f"sum(contract_share) FILTER (WHERE in_{lv}) AS contracts_{lv}" for lv in LEVELS)
    row = conn.execute(text(f"""
        WITH {_LINES}
        SELECT count(*) AS lines, count(*) FILTER (WHERE match <> 'none') AS lines_matched,
               coalesce(sum(amount_share), 0) AS amount, coalesce(sum(contract_share), 0) AS contracts,
               count(*) FILTER (WHERE amount IS NULL) AS lines_without_amount,
               sum(amount_share) FILTER (WHERE supplier_commune IS NOT NULL) AS amount_located,
               sum(contract_share) FILTER (WHERE supplier_commune IS NOT NULL) AS contracts_located,
               {levels},
               sum(amount_share) FILTER (WHERE size_class IN ({small})) AS amount_small,
               sum(amount_share) FILTER (WHERE size_class IN ({known})) AS amount_size_known,
               sum(contract_share) FILTER (WHERE size_class IN ({small})) AS contracts_small,
               sum(contract_share) FILTER (WHERE size_class IN ({known})) AS contracts_size_known,
               count(DISTINCT supplier_company) AS suppliers
        FROM flagged WHERE of_buyer
    """), params).mappings().one()
    out = {k: (float(v) if v is not None and not isinstance(v, int) else v) for k, v in row.items()}
    out["commune"], out["epci"], out["departement"] = params["commune"], params["epci"], params["dept"]
    out["metropole_basis"] = "epci" if params["epci"] else "departement"
    for lv in LEVELS:
        out[f"share_amount_{lv}"] = _share(out[f"amount_{lv}"] or 0, out["amount"]) if params["commune"] else None
        out[f"share_contracts_{lv}"] = _share(out[f"contracts_{lv}"] or 0, out["contracts"]) if params["commune"] else None
    out["share_amount_located"] = _share(out["amount_located"] or 0, out["amount"])
    out["share_amount_small"] = _share(out["amount_small"] or 0, out["amount_size_known"])
    out["share_contracts_small"] = _share(out["contracts_small"] or 0, out["contracts_size_known"])
    out["join_rate"] = _share(out["lines_matched"], out["lines"])
    return out


def by_cpv_family(conn, scope: Scope) -> list[dict]:
    """Per CPV family: the buyer's spend and local share, and distinct local suppliers (companies, by SIREN).

    ``local_suppliers`` counts the distinct suppliers located in the reference métropole (EPCI,
    or département fallback) that won a contract of the family in the period, from any buyer:
    the local supply of that family. ``thin`` flags families below ``THIN_SUPPLY``.
    """
    params = scope.params(conn)
    result = conn.execute(text(f"""
        WITH {_LINES}
        SELECT coalesce(cpv_family, '??') AS cpv_family,
               coalesce(sum(amount_share) FILTER (WHERE of_buyer), 0) AS amount,
               coalesce(sum(contract_share) FILTER (WHERE of_buyer), 0) AS contracts,
               coalesce(sum(amount_share) FILTER (WHERE of_buyer AND in_metropole), 0) AS amount_local,
               count(DISTINCT supplier_company) FILTER (WHERE of_buyer) AS suppliers,
               count(DISTINCT supplier_company) FILTER (WHERE of_buyer AND in_metropole) AS buyer_local_suppliers,
               count(DISTINCT supplier_company) FILTER (WHERE in_commune) AS commune_suppliers,
               count(DISTINCT supplier_company) FILTER (WHERE in_metropole) AS local_suppliers,
               count(DISTINCT supplier_company) FILTER (WHERE in_departement) AS departement_suppliers
        FROM flagged
        GROUP BY 1 HAVING bool_or(of_buyer)
        ORDER BY 2 DESC, 1
    """), params)
    out = []
    for r in result.mappings():
        row = {k: (float(v) if k in ("amount", "contracts", "amount_local") else v) for k, v in r.items()}
        row["label"] = CPV_FAMILIES.get(row["cpv_family"], "")
        row["share_amount_local"] = _share(row["amount_local"], row["amount"]) if params["commune"] else None
        row["thin"] = bool(params["commune"]) and row["local_suppliers"] < THIN_SUPPLY
        out.append(row)
    return out


def contract_lines(conn, scope: Scope, limit: int | None = None) -> list[dict]:
    """The scope's contract × supplier lines with their match and territory flags (for tables, exports)."""
    params = scope.params(conn)
    sql = f"""
        WITH {_LINES}
        SELECT decp_id, buyer_siret, buyer_name, notified_on, cpv_code, cpv_family, object,
               amount, amount_share, supplier_key AS supplier_id, supplier_name, match,
               est_name AS supplier_sirene_name, naf_code, {naf_section_sql('naf_code')} AS naf_section,
               size_class, supplier_commune, geo_precision, in_commune, in_metropole, in_departement
        FROM flagged WHERE of_buyer
        ORDER BY notified_on DESC NULLS LAST, decp_id, supplier_key
    """ + (" LIMIT :limit" if limit else "")
    return [dict(r) for r in conn.execute(text(sql), {**params, "limit": limit}).mappings()]


def join_rate(conn, scope: Scope | None = None) -> dict:
    """How many DECP lines (and how much spend) found their supplier, by SIRET and by SIREN."""
    params = (scope or Scope()).params(conn)
    row = conn.execute(text(f"""
        WITH {_LINES}
        SELECT count(*) AS lines,
               count(*) FILTER (WHERE match = 'siret') AS by_siret,
               count(*) FILTER (WHERE match = 'siren') AS by_siren,
               count(*) FILTER (WHERE match = 'none') AS unmatched,
               count(*) FILTER (WHERE match <> 'none' AND geom IS NOT NULL) AS placed,
               coalesce(sum(amount_share), 0) AS amount,
               coalesce(sum(amount_share) FILTER (WHERE match <> 'none'), 0) AS amount_matched
        FROM flagged WHERE of_buyer
    """), params).mappings().one()
    out = dict(row)
    out["amount"], out["amount_matched"] = float(out["amount"]), float(out["amount_matched"])
    out["rate"] = _share(out["by_siret"] + out["by_siren"], out["lines"])
    out["rate_siret"] = _share(out["by_siret"], out["lines"])
    out["rate_amount"] = _share(out["amount_matched"], out["amount"])
    return out


def suppliers_geojson(conn, scope: Scope, *, section: str | None = None,
                      precision_labels: dict[str, str] | None = None) -> str:
    """Placed suppliers of the scope as a WGS 84 FeatureCollection (text), built in PostGIS.

    One feature per establishment with its NAF section, CPV families, spend, contracts and
    ``geo_precision`` (with ``geo_precision_label`` from ``precision_labels``).
    """
    if section is not None and section not in NAF_SECTION_LABELS and section != "?":
        raise InvalidInput(f"section NAF inconnue « {section} »")
    params = scope.params(conn)
    params.update(section=section, labels=json.dumps(precision_labels or {}))
    return conn.execute(text(f"""
        WITH {_LINES}, sup AS (
            SELECT est_id, min(est_name) AS name, min(supplier_key) AS siret, min(naf_code) AS naf_code,
                   coalesce({naf_section_sql('min(naf_code)')}, '?') AS naf_section,
                   min(size_class) AS size_class, min(supplier_commune) AS commune,
                   min(geo_precision) AS geo_precision,
                   string_agg(DISTINCT cpv_family, ', ') AS cpv_families,
                   round(coalesce(sum(amount_share), 0)::numeric, 2) AS amount,
                   round(sum(contract_share)::numeric, 2) AS contracts,
                   bool_or(in_metropole) AS in_metropole, ST_Transform((array_agg(geom))[1], 4326) AS g
            FROM flagged WHERE of_buyer AND est_id IS NOT NULL AND geom IS NOT NULL
            GROUP BY est_id
        )
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
            json_build_object('type', 'Feature', 'id', est_id,
                'geometry', ST_AsGeoJSON(g, 6)::json,
                'properties', json_build_object('name', name, 'siret', siret, 'naf_code', naf_code,
                    'naf_section', naf_section, 'size_class', size_class, 'commune', commune,
                    'cpv_families', cpv_families, 'amount', amount, 'contracts', contracts,
                    'geo_precision', geo_precision,
                    'geo_precision_label', coalesce(CAST(:labels AS jsonb) ->> geo_precision, geo_precision),
                    'in_metropole', in_metropole)) ORDER BY est_id), '[]'::json))::text
        FROM sup WHERE CAST(:section AS text) IS NULL OR naf_section = CAST(:section AS text)
    """), params).scalar_one()


def buyers(conn, limit: int = 300) -> list[dict]:
    """Buyers with the most contract lines (for the selector)."""
    return [dict(r) for r in conn.execute(text("""
        SELECT buyer_siret, min(buyer_name) AS buyer_name, count(*) AS lines
        FROM public_contracts WHERE buyer_siret IS NOT NULL
        GROUP BY buyer_siret ORDER BY count(*) DESC, buyer_siret LIMIT :limit"""), {"limit": limit}).mappings()]


def sections_present(conn, scope: Scope) -> list[str]:
    """NAF sections ('?' when unknown) of the scope's placed suppliers, sorted."""
    params = scope.params(conn)
    return list(conn.execute(text(f"""
        WITH {_LINES}
        SELECT DISTINCT coalesce({naf_section_sql('naf_code')}, '?') FROM flagged
        WHERE of_buyer AND est_id IS NOT NULL AND geom IS NOT NULL ORDER BY 1
    """), params).scalars())
