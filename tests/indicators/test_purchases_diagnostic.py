"""Planned purchases and the territorial diagnostic on the shipped DECP 2019 and SIRENE files,
plus the small planned-purchases CSV written for the tests (tests/data/achats_previsionnels_test.csv,
see tests/data/SOURCES.md).

Buyer: Département de Loire-Atlantique (SIRET 22440002800011), reference commune Nantes (44109):
local = Nantes Métropole (EPCI 244400404), régional = Pays de la Loire (52) outside it.
The shipped files are loaded once for the module (committed, removed afterwards).
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from etl.targets import load
from indicators import diagnostic as dg
from indicators import purchases as pp
from indicators.procurement import load_commune_epci
from tests.builders import GEODATA

DECP = GEODATA / "commande_publique" / "decp_2019_marches_titulaires.csv"
SUPPLIERS = GEODATA / "etablissements" / "decp_titulaires_sirene2022_commune.csv"
FAST_FOOD = GEODATA / "etablissements" / "sirene_restauration_rapide_56.10C_dep44-59-69-75.csv"
PLANNED = GEODATA.parent / "tests" / "data" / "achats_previsionnels_test.csv"
CD44 = "22440002800011"


@pytest.fixture(scope="module")
def shipped(engine):
    """The shipped DECP, its suppliers' SIRENE records, the SIRENE fast-food extract and the test CSV."""
    load_commune_epci(engine)
    summaries = {
        "contracts": load(engine, "contracts", DECP, preset="decp", reject_file=None),
        "suppliers": load(engine, "establishments", SUPPLIERS, preset="decp-suppliers", reject_file=None),
        "fast_food": load(engine, "establishments", FAST_FOOD, preset="sirene-56.10C", reject_file=None),
        "planned": load(engine, "purchases", PLANNED, reject_file=None),
    }
    yield summaries
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM planned_purchases WHERE source = :s"), {"s": PLANNED.name})
        conn.execute(text("DELETE FROM public_contracts WHERE source = :s"), {"s": DECP.name})
        conn.execute(text("DELETE FROM establishments WHERE source IN ('decp-suppliers', 'sirene-56.10C')"))


def test_planned_purchases_csv_is_loaded_through_the_french_preset(connection, shipped):
    summary = shipped["planned"]
    assert (summary.read, summary.inserted, summary.rejected) == (5, 5, 0)
    rows = {r.external_id: r for r in connection.execute(text(
        "SELECT * FROM planned_purchases WHERE source = :s"), {"s": PLANNED.name})}
    road = rows["CD44-2025-001"]
    assert (str(road.amount), road.cpv_code, road.expected_quarter, str(road.expected_on), road.lots, road.status) == (
        "1250000.00", "45233140", "2025-T2", "2025-04-01", 2, "planned")     # "1 250 000,00", quarter → its first day
    gas = rows["CD44-2025-002"]
    assert (str(gas.amount_min), str(gas.amount_max), gas.expected_quarter) == ("300000.00", "450000.00", "2025-T3")
    green = rows["CD44-2025-003"]                                             # "3e trimestre 2025" and 15/07/2025
    assert (green.expected_quarter, str(green.expected_on), green.status) == ("2025-T3", "2025-07-15", "published")
    assert rows["CD44-2024-900"].decp_id == "22440002800011201918MA0100" and rows["CD44-2024-900"].status == "awarded"


def test_reloading_the_planned_purchases_changes_nothing(engine, shipped):
    again = load(engine, "purchases", PLANNED, reject_file=None)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)


def test_bad_planned_purchases_are_rejected_naming_row_and_field(connection, tmp_path):
    bad = tmp_path / "bad.csv"
    header = PLANNED.read_text(encoding="utf-8").splitlines()[0].split(";")

    def row(**values):
        return ";".join(values.get(c, "") for c in header)

    ok = dict(identifiant="A", siret_acheteur=CD44, objet="Ok", code_cpv="45000000", trimestre="2025-T1", statut="prévu")
    bad.write_text("\n".join([";".join(header), row(**ok), row(**{**ok, "identifiant": "B", "trimestre": "2025-T5"}),
                               row(**{**ok, "identifiant": "C", "statut": "peut-être"}),
                               row(**{**ok, "identifiant": "D", "siret_acheteur": "12345678901234"})]) + "\n",
                   encoding="utf-8")
    summary = load(connection, "purchases", bad, reject_file=None, max_reject_rate=1)
    assert (summary.inserted, summary.rejected) == (1, 3)
    rejects = {(r.row, r.field) for r in summary.rejects.itertuples()}
    assert rejects == {(3, "expected_quarter"), (4, "status"), (5, "buyer_siret")}


def test_the_same_programme_as_a_spreadsheet_loads_alike(connection, tmp_path):
    """XLSX with a title row above the header (as buyers send them): the header is found, numbers stay numbers."""
    from openpyxl import Workbook

    lines = [line.split(";") for line in PLANNED.read_text(encoding="utf-8").splitlines()]
    book = Workbook()
    sheet = book.active
    sheet.append(["Programmation prévisionnelle des achats 2025 (fichier de test)"])
    sheet.append(lines[0])
    for values in lines[1:]:
        row = dict(zip(lines[0], values))
        row["montant_estime"] = float(row["montant_estime"].replace(" ", "").replace(",", ".")) \
            if row["montant_estime"] else None
        sheet.append([row[c] if row[c] != "" else None for c in lines[0]])
    path = tmp_path / "programme.xlsx"
    book.save(path)
    summary = load(connection, "purchases", path, reject_file=None)
    assert (summary.read, summary.inserted, summary.rejected) == (5, 5, 0)
    amounts = dict(connection.execute(text(
        "SELECT external_id, amount FROM planned_purchases WHERE source = 'programme.xlsx'")).all())
    assert str(amounts["CD44-2025-001"]) == "1250000.00" and str(amounts["CD44-2025-003"]) == "85000.50"


def _cd44(connection):
    return dg.diagnostic(connection, dg.Territory(buyers=(CD44,), commune="44109"))


def test_local_share_arithmetic_by_hand_on_the_shipped_decp(connection, shipped):
    """Division 45 (travaux) of the Département, 5 DECP lines:
    575 011,12 € → 85780154200054, Nantes (44109): local;
    449 457,30 € → 85780003100026, not in SIRENE by SIRET, its SIREN 857800031 is (another establishment)
                   in the Pays de la Loire outside Nantes Métropole: régional;
    124 031,67 + 777 987,27 + 2 674 434,82 = 3 576 453,76 € → suppliers not in SIRENE: inconnu.
    Located 575 011,12 + 449 457,30 = 1 024 468,42 €: local share 56,13 %, régional 43,87 %.
    Division 44 (matériaux): 2 400 000 € split in 3 co-contractors (800 000 each) and 138 000 € in 2
    (69 000 each): Vendée (85155, 85191) → régional 800 000 + 800 000 + 69 000 = 1 669 000 €."""
    rows = {r["division"]: r for r in _cd44(connection)["rows"]}
    works = rows["45"]
    assert works["amount"] == pytest.approx(4600922.18)
    assert works["amount_local"] == pytest.approx(575011.12)
    assert works["amount_regional"] == pytest.approx(449457.30)
    assert works["amount_elsewhere"] == 0
    assert works["amount_unknown"] == pytest.approx(124031.67 + 777987.27 + 2674434.82)
    assert works["share_local"] == pytest.approx(575011.12 / 1024468.42)
    assert works["share_regional"] == pytest.approx(449457.30 / 1024468.42)
    assert (works["lines"], works["lines_matched"]) == (5, 2)
    assert rows["44"]["amount_regional"] == pytest.approx(1669000) and rows["44"]["amount_local"] == 0
    region = connection.scalar(text("SELECT commune_insee FROM establishments WHERE siren = '857800031' LIMIT 1"))
    assert region[:2] in ("44", "49", "53", "72", "85") and region not in ("44109",)


def test_cpv_naf_diagnostic_on_two_sectors(connection, shipped):
    """Division 09 (énergie): 3 943 920,50 € to Bordeaux (33063) and 3 477 670,08 € to Courbevoie
    (92026): 100 % of the located spend leaves the territory, while establishments of NAF 19, 35 or
    46.71 are active in Nantes Métropole → secteur stratégique. Division 45: 56 % stays local
    (under the 50 % leak) although many construction firms (NAF 41–43) are local → not strategic."""
    result = _cd44(connection)
    rows = {r["division"]: r for r in result["rows"]}
    local = {d: connection.scalar(text("""
        SELECT count(DISTINCT coalesce(e.siret, e.source || ':' || e.external_id)) FROM establishments e
        JOIN commune_epci c ON c.commune_insee = e.commune_insee AND c.epci_siren = '244400404'
        WHERE e.closed_on IS NULL AND e.naf_code LIKE ANY (CAST(:p AS text[]))"""),
        {"p": [p + "%" for p in prefixes]})
        for d, prefixes in (("09", ["19", "35", "46.71"]), ("45", ["41", "42", "43"]))}
    energy, works = rows["09"], rows["45"]
    assert energy["amount_elsewhere"] == pytest.approx(3943920.50 + 3477670.08)
    assert energy["share_leaving"] == 1.0
    assert energy["local_establishments"] == local["09"] >= dg.STRATEGIC_MIN_FIRMS
    assert energy["strategic"] is True
    assert works["local_establishments"] == local["45"] > dg.STRATEGIC_MIN_FIRMS
    assert works["share_leaving"] == pytest.approx(449457.30 / 1024468.42)
    assert works["share_leaving"] < dg.STRATEGIC_LEAK
    assert works["strategic"] is False
    # coming purchases of the test CSV: the road works (45) and the gas band (09, middle 375 000 €)
    assert (works["coming_purchases"], works["coming_amount"]) == (1, 1250000.0)
    assert (energy["coming_purchases"], energy["coming_amount"]) == (1, 375000.0)
    assert "09" in result["strategic"] and result["join_rate"] == pytest.approx(22 / 100)


def test_restauration_counts_the_sirene_fast_food_extract(connection, shipped):
    """CPV 55 ↔ NAF 55/56: the 56.10C extract's outlets in Nantes Métropole count as local suppliers."""
    rows = {r["division"]: r for r in dg.diagnostic(
        connection, dg.Territory(buyers=("26440013600471",), commune="44109"))["rows"]}
    fast_food = connection.scalar(text("""
        SELECT count(*) FROM establishments e JOIN commune_epci c ON c.commune_insee = e.commune_insee
        WHERE c.epci_siren = '244400404' AND e.source = 'sirene-56.10C' AND e.closed_on IS NULL"""))
    assert fast_food > 100
    assert rows["55"]["local_establishments"] >= fast_food
    assert rows["55"]["coming_purchases"] == 1 and rows["55"]["amount"] == 0   # no past CHU spend in 55


def test_decp_candidates_rank_the_buyers_contracts_of_the_division(connection, shipped):
    gas = pp.get(connection, connection.scalar(text(
        "SELECT id FROM planned_purchases WHERE external_id = 'CD44-2024-900'")))
    candidates = pp.decp_candidates(connection, gas)
    assert candidates[0]["decp_id"] == "22440002800011201918MA0100"   # same CPV code 09123000, "gaz naturel"
    assert {c["decp_id"] for c in candidates} <= {"22440002800011201918MA0100", "22440002800011201918MA0300"}
