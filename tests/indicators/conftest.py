"""Small hand-made territory: two square quartiers, one priority zone, establishments, incidents.

Lambert-93 squares: Q1 is 1 km × 1 km (1 km², 2 000 inhabitants), Q2 is 2 km × 1 km (2 km², no
population), zone Z1 is 500 m × 500 m inside Q1. Reference month 2024-06: the 12-month window is
[2023-07-01, 2024-07-01), the previous one [2022-07-01, 2023-07-01). Expected values are in the tests.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.indicators.conftest_values import AS_OF
X0, Y0 = 652000, 6862000


def _square(x, y, w, h):
    return f"SRID=2154;MULTIPOLYGON((({x} {y},{x + w} {y},{x + w} {y + h},{x} {y + h},{x} {y})))"


def insert_territory(c) -> dict[str, int]:
    """Insert the fixture territory with connection ``c``; return ids of Q1, Q2 and Z1."""
    q1 = c.scalar(text("INSERT INTO quartiers (code, name, commune_insee, commune_name, population, source, geom) "
                       "VALUES ('T-Q1', 'Quartier Un', '75056', 'Paris', 2000, 'test', :g) RETURNING id"),
                  {"g": _square(X0, Y0, 1000, 1000)})
    q2 = c.scalar(text("INSERT INTO quartiers (code, name, commune_insee, commune_name, source, geom) "
                       "VALUES ('T-Q2', 'Quartier <Deux>', '75056', 'Paris', 'test', :g) RETURNING id"),
                  {"g": _square(X0 + 1000, Y0, 2000, 1000)})
    z1 = c.scalar(text("INSERT INTO priority_zones (code, name, quartier_id, valid_from, status, geom) "
                       "VALUES ('T-Z1', 'Zone Un', :q, '2020-01-01', 'approved', :g) RETURNING id"),
                  {"q": q1, "g": _square(X0 + 100, Y0 + 100, 500, 500)})
    est = [
        # (external_id, created_on, closed_on, quartier, zone, geo_precision)
        ("E1", "2020-01-01", None, q1, None, "address"),
        ("E2", "2020-01-01", "2024-03-15", q1, None, "address"),
        *[(f"E{n}", "2023-09-10", None, q1, None, "address") for n in range(3, 9)],
        ("E9", "2022-01-01", None, q1, z1, "address"),
        ("E10", "2020-01-01", None, q1, None, "commune_centroid"),
    ]
    c.execute(text("INSERT INTO establishments (source, external_id, siren, created_on, closed_on, quartier_id, "
                   "zone_id, geo_precision) VALUES ('test', :e, '000000000', CAST(:c AS date), CAST(:f AS date), "
                   ":q, :z, :p)"),
              [dict(e=e, c=cr, f=cl, q=q, z=z, p=p) for e, cr, cl, q, z, p in est])
    category = c.scalar(text("SELECT code FROM incident_categories ORDER BY code LIMIT 1"))
    inc = [
        # (id, reported_at UTC, hours to resolution, simulated, quartier, zone, status)
        ("i1", "2023-08-01T10:00Z", 2, False, q1, None, "resolved"),
        ("i2", "2023-10-01T10:00Z", 4, True, q1, None, "resolved"),
        ("i3", "2024-01-05T10:00Z", 6, False, q1, None, "resolved"),
        ("i4", "2024-03-01T10:00Z", None, False, q1, None, "new"),
        ("i5", "2024-06-01T10:00Z", None, False, q1, z1, "new"),
        ("i6", "2024-06-30T21:00Z", None, False, q1, None, "new"),   # 23:00 in Paris: June
        ("i7", "2024-06-30T22:30Z", None, False, q1, None, "new"),   # 00:30 on 1 July in Paris
        ("i8", "2024-02-01T10:00Z", 1, False, q1, None, "rejected"),  # rejected: never counted
        ("p1", "2023-01-01T10:00Z", None, False, q1, None, "new"),
        ("p2", "2023-05-01T10:00Z", None, False, q1, None, "new"),
        ("d1", "2024-01-10T10:00Z", 10, False, q2, None, "resolved"),
        ("d2", "2024-02-10T10:00Z", 20, False, q2, None, "resolved"),
        ("d3", "2024-06-20T10:00Z", None, False, q2, None, "new"),
    ]
    c.execute(text("INSERT INTO incidents (source, external_id, category, reported_at, resolved_at, times_simulated, "
                   "quartier_id, zone_id, status, geom) VALUES ('test', :e, :cat, CAST(:r AS timestamptz), "
                   "CAST(:r AS timestamptz) + make_interval(hours => CAST(:h AS int)), :s, :q, :z, :st, "
                   "ST_SetSRID(ST_MakePoint(:x, :y), 2154))"),
              [dict(e=e, cat=category, r=r, h=h, s=s, q=q, z=z, st=st, x=X0 + 300 + (1000 if q == q2 else 0),
                    y=Y0 + 300) for e, r, h, s, q, z, st in inc])
    return {"q1": q1, "q2": q2, "z1": z1}


def delete_territory(c) -> None:
    """Remove what ``insert_territory`` and a compute added (committed browser-test data)."""
    c.execute(text("DELETE FROM territory_indicators"))
    c.execute(text("DELETE FROM incidents WHERE source = 'test'"))
    c.execute(text("DELETE FROM establishments WHERE source = 'test'"))
    c.execute(text("DELETE FROM priority_zones WHERE code = 'T-Z1'"))
    c.execute(text("DELETE FROM quartiers WHERE code IN ('T-Q1', 'T-Q2')"))


@pytest.fixture
def territory(connection):
    """The fixture territory in the test's rolled-back transaction."""
    return insert_territory(connection)


@pytest.fixture
def computed(connection, territory):
    """The fixture territory with its indicators computed for 2024-06."""
    from indicators import territory as t

    t.compute(connection, AS_OF)
    return territory


# --- procurement: 5 contracts of the Ville de Nantes in 2024, plus 2 decoys ---------------------

NANTES = "21440109300015"   # SIREN of a commune = 21 + 44 + 0 + 109 + check digit (INSEE 44109)
PARIS = "21750001600019"


def insert_procurement(c) -> None:
    """Suppliers S1–S4 (S5 unknown to SIRENE) and contracts C1–C7 (see test_indicators_procurement.py)."""
    sup = [
        # (siret, commune, size, naf, x, y)
        ("11111111100011", "44109", "PME", "43.12A", 355000, 6689000),   # Nantes
        ("22222222200022", "44143", "GE", "81.21Z", 355000, 6685000),    # Rezé (Nantes Métropole)
        ("33333333300033", "44184", "ETI", "33.15Z", 325000, 6700000),   # Saint-Nazaire (44, not the EPCI)
        ("44444444400044", "75103", None, "62.01Z", 653000, 6863000),    # Paris 3e
    ]
    c.execute(text("INSERT INTO establishments (source, external_id, siret, siren, name, naf_code, size_class, "
                   "commune_insee, geo_precision, geom) VALUES ('test-decp', :s, :s, :siren, :name, "
                   ":naf, :size, :com, 'commune_centroid', ST_SetSRID(ST_MakePoint(:x, :y), 2154))"),
              [dict(s=s, siren=s[:9], name=f"Fournisseur {s}", com=com, size=size, naf=naf, x=x, y=y)
               for s, com, size, naf, x, y in sup])
    contracts = [
        # (decp_id, buyer, supplier id, amount, cpv, notified_on)
        ("C1", NANTES, "11111111100011", 100000, "45000000", "2024-01-10"),
        ("C2", NANTES, "22222222200022", 50000, "90910000", "2024-02-10"),
        ("C3", NANTES, "33333333300033", 30000, "45200000", "2024-03-10"),
        ("C4", NANTES, "44444444400044", 15000, "72000000", "2024-04-10"),
        ("C5", NANTES, "55555555500055", 5000, "90000000", "2024-05-10"),
        ("C6", PARIS, "11111111100099", 999, "45000000", "2024-06-01"),   # same company as S1: SIREN match
        ("C7", NANTES, "22222222200022", 1000000, "90910000", "2023-05-01"),  # outside the period
    ]
    c.execute(text("INSERT INTO public_contracts (decp_id, buyer_siret, buyer_name, amount, cpv_code, notified_on, "
                   "supplier_id, supplier_id_type, supplier_siret, supplier_name, source, object) VALUES (:d, :b, :bn, "
                   ":a, :cpv, CAST(:n AS date), :s, 'SIRET', :s2, :sn, 'test', :o)"),
              [dict(d=d, b=b, bn="Ville de Nantes" if b == NANTES else "Ville de Paris", s=s, s2=s, a=a, cpv=cpv,
                    n=n, sn=f"Titulaire {d}", o=f"Objet {d}") for d, b, s, a, cpv, n in contracts])


@pytest.fixture
def procurement(connection):
    """The procurement fixture with the commune → EPCI table loaded."""
    from indicators.procurement import load_commune_epci

    load_commune_epci(connection)
    insert_procurement(connection)
