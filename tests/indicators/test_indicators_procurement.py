"""Procurement shares on 5 hand-made contracts of the Ville de Nantes in 2024 (see conftest.py).

C1 100 000 € S1 Nantes (PME, CPV 45)      → commune, métropole, département
C2  50 000 € S2 Rezé (GE, CPV 90)         → métropole, département
C3  30 000 € S3 Saint-Nazaire (ETI, 45)   → département
C4  15 000 € S4 Paris 3e (size unknown, 72)
C5   5 000 € S5 not in SIRENE (90)        → not located
Total 200 000 €, 5 contracts.
"""
import datetime as dt
import json

import pytest
from sqlalchemy import text

from indicators import procurement as p
from ova.errors import InvalidInput

from tests.indicators.conftest import NANTES

Y2024 = dict(start=dt.date(2024, 1, 1), end=dt.date(2025, 1, 1))


def _scope(**kw):
    return p.Scope(**{"buyer": NANTES, "commune": "44109", **Y2024, **kw})


def test_buyer_commune_is_guessed_from_a_commune_siren(connection, procurement):
    assert p.buyer_commune(connection, NANTES) == ("44109", "siren_commune")
    assert p.buyer_commune(connection, "18000000000000") == (None, "unknown")


def test_summary_shares_by_hand(connection, procurement):
    s = p.summary(connection, _scope())
    assert (s["lines"], s["lines_matched"], s["amount"], s["contracts"]) == (5, 4, 200000.0, 5.0)
    assert s["metropole_basis"] == "epci" and s["epci"] == "244400404" and s["departement"] == "44"
    assert s["share_amount_commune"] == pytest.approx(0.5)            # 100 000 / 200 000
    assert s["share_contracts_commune"] == pytest.approx(0.2)         # 1 / 5
    assert s["share_amount_metropole"] == pytest.approx(0.75)         # 150 000
    assert s["share_contracts_metropole"] == pytest.approx(0.4)
    assert s["share_amount_departement"] == pytest.approx(0.9)        # 180 000
    assert s["share_contracts_departement"] == pytest.approx(0.6)
    assert s["share_amount_located"] == pytest.approx(0.975)          # all but C5
    assert s["share_amount_small"] == pytest.approx(100000 / 180000)  # PME among known sizes (S1, S2, S3)
    assert s["share_contracts_small"] == pytest.approx(1 / 3)
    assert s["join_rate"] == pytest.approx(0.8)


def test_metropole_falls_back_to_departement_outside_the_table(connection, procurement):
    s = p.summary(connection, _scope(commune="44184"))  # Saint-Nazaire: not in commune_epci
    assert s["metropole_basis"] == "departement"
    assert s["share_amount_metropole"] == pytest.approx(0.9) == s["share_amount_departement"]
    assert s["share_amount_commune"] == pytest.approx(0.15)  # C3


def test_cpv_families_and_thin_local_supply(connection, procurement):
    fam = {r["cpv_family"]: r for r in p.by_cpv_family(connection, _scope())}
    assert list(fam) == ["45", "90", "72"]  # by spend
    assert (fam["45"]["amount"], fam["45"]["contracts"], fam["45"]["amount_local"]) == (130000.0, 2.0, 100000.0)
    # local supply of family 45 in the métropole, from any buyer: one company (S1, also C6 by SIREN)
    assert (fam["45"]["local_suppliers"], fam["45"]["departement_suppliers"], fam["45"]["suppliers"]) == (1, 2, 2)
    assert fam["90"]["share_amount_local"] == pytest.approx(50000 / 55000)
    assert fam["72"]["local_suppliers"] == 0 and all(f["thin"] for f in fam.values())
    assert fam["45"]["label"] == "Travaux de construction"


def test_join_rate_by_siret_and_siren(connection, procurement):
    r = p.join_rate(connection)
    assert (r["lines"], r["by_siret"], r["by_siren"], r["unmatched"]) == (7, 5, 1, 1)
    assert r["rate"] == pytest.approx(6 / 7)
    assert r["rate_siret"] == pytest.approx(5 / 7)


def test_co_contractors_split_the_amount(connection, procurement):
    connection.execute(text(
        "INSERT INTO public_contracts (decp_id, buyer_siret, amount, cpv_code, notified_on, supplier_id, "
        "supplier_siret, source) VALUES ('C8', :b, 20000, '45000000', '2024-07-01', '11111111100011', "
        "'11111111100011', 'test'), ('C8', :b, 20000, '45000000', '2024-07-01', '44444444400044', "
        "'44444444400044', 'test')"), {"b": NANTES})
    s = p.summary(connection, _scope())
    assert (s["amount"], s["contracts"], s["lines"]) == (220000.0, 6.0, 7)
    assert s["amount_commune"] == pytest.approx(110000.0)  # half of C8 goes to S1 in Nantes


def test_contract_lines_and_supplier_map(connection, procurement):
    lines = p.contract_lines(connection, _scope())
    assert [(r["decp_id"], r["match"]) for r in lines] == [
        ("C5", "none"), ("C4", "siret"), ("C3", "siret"), ("C2", "siret"), ("C1", "siret")]
    assert lines[1]["supplier_commune"] == "75056"  # Paris 3e counted as Paris
    fc = json.loads(p.suppliers_geojson(connection, _scope(), precision_labels={
        "commune_centroid": "centroïde de commune"}))
    props = {f["properties"]["siret"]: f["properties"] for f in fc["features"]}
    assert set(props) == {"11111111100011", "22222222200022", "33333333300033", "44444444400044"}
    assert props["11111111100011"]["geo_precision_label"] == "centroïde de commune"
    assert props["11111111100011"]["naf_section"] == "F" and props["22222222200022"]["naf_section"] == "N"
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert -5 < lon < 10 and 41 < lat < 52  # served in WGS 84
    only_f = json.loads(p.suppliers_geojson(connection, _scope(), section="F"))
    assert len(only_f["features"]) == 1


@pytest.mark.parametrize("kw,match", [
    (dict(buyer="123"), "SIRET"), (dict(commune="4"), "commune"),
    (dict(start=dt.date(2024, 5, 1), end=dt.date(2024, 1, 1)), "période"),
])
def test_bad_scopes_are_refused(connection, procurement, kw, match):
    with pytest.raises(InvalidInput, match=match):
        p.summary(connection, p.Scope(**{"buyer": NANTES, "commune": "44109", **kw}))


def test_unknown_naf_section_is_refused(connection, procurement):
    with pytest.raises(InvalidInput, match="NAF"):
        p.suppliers_geojson(connection, _scope(), section="ZZ")
