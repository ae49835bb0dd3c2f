"""/achats: buyer summary, supplier map feed and exports on the hand-made contracts."""
import csv
import io

import pytest
from openpyxl import load_workbook

from tests.indicators.conftest import NANTES

Q = f"acheteur={NANTES}&du=2024-01-01&au=2024-12-31"


def test_page_without_buyer_reports_the_join_rate(client, procurement):
    html = client.get("/achats").get_data(as_text=True)
    assert "6 lignes sur 7" in html  # 5 by SIRET + 1 by SIREN


def test_buyer_page_shows_shares_chart_and_thin_supply(client, procurement):
    resp = client.get(f"/achats?{Q}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    shares = html.split('id="shares-table"', 1)[1].split("</table>", 1)[0]
    assert "50.0 %" in shares and "75.0 %" in shares and "90.0 %" in shares
    assert "déduite du SIREN" in html and 'id="shares-data"' in html
    assert "200 000 €" in html
    families = html.split('id="families-table"', 1)[1].split("</table>", 1)[0]
    assert "45 – Travaux de construction" in families and "faible" in families
    assert "centroïde de commune" in html


def test_supplier_feed_by_section(client, procurement):
    all_ = client.get(f"/api/achats/fournisseurs.geojson?{Q}").get_json()
    assert len(all_["features"]) == 4
    f = client.get(f"/api/achats/fournisseurs.geojson?{Q}&section=F").get_json()["features"]
    assert [x["properties"]["geo_precision_label"] for x in f] == ["centroïde de commune"]


def test_csv_export(client, procurement):
    resp = client.get(f"/achats/export.csv?{Q}")
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert sorted(r["decp_id"] for r in rows) == ["C1", "C2", "C3", "C4", "C5"]
    c1 = [r for r in rows if r["decp_id"] == "C1"][0]
    assert (c1["in_commune"], c1["match"], c1["supplier_commune"]) == ("True", "siret", "44109")


def test_xlsx_export(client, procurement):
    wb = load_workbook(io.BytesIO(client.get(f"/achats/export.xlsx?{Q}").data))
    assert wb.sheetnames == ["Synthèse", "Familles CPV", "Marchés"]
    summary = {k: v for k, v in wb["Synthèse"].iter_rows(min_row=2, values_only=True)}
    assert summary["share_amount_metropole"] == pytest.approx(0.75)
    assert wb["Marchés"].max_row == 6


@pytest.mark.parametrize("url,status", [
    ("/achats?acheteur=123", 400), ("/achats?du=2024-13-01", 400), ("/achats/export.csv", 400),
    ("/achats/export.pdf?acheteur=" + NANTES, 404), ("/api/achats/fournisseurs.geojson?section=ZZ", 400),
])
def test_bad_parameters(client, procurement, url, status):
    assert client.get(url).status_code == status
