"""/indicateurs: page, GeoJSON feed and exports honour suppression by role."""
import csv
import io
import json

import pytest
from openpyxl import load_workbook


PUBLIC_ROLES = ("citizen", "commercant", "agent", "urbaniste")
DETAIL_ROLES = ("banque", "admin")


@pytest.fixture
def computed_app(computed):
    return computed


def _client(role, client, login_as):
    return client if role is None else login_as(role)


def _q2_csv(resp):
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))}
    return rows["T-Q2"]


@pytest.mark.parametrize("role", [None, *PUBLIC_ROLES, *DETAIL_ROLES])
def test_suppression_by_role_across_page_geojson_csv_xlsx(role, client, login_as, computed_app):
    c = _client(role, client, login_as)
    detail = role in DETAIL_ROLES

    page = c.get("/indicateurs?indicateur=incidents&unite=T-Q2")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html.split("<td>T-Q2</td>", 1)[1].split("</tr>", 1)[0]
    incidents_cell = row.split('data-key="incidents">', 1)[1].split("</td>", 1)[0]
    assert ("3" in incidents_cell) is detail
    assert ("ova-suppressed" in incidents_cell) is not detail
    assert "Quartier &lt;Deux&gt;" in html and "Quartier <Deux>" not in html

    feed = c.get("/api/indicateurs/unites.geojson")
    props = {f["id"]: f["properties"] for f in feed.get_json()["features"]}
    assert props["T-Q2"]["incidents"] == (3 if detail else None)
    assert props["T-Q1"]["incidents"] == 6

    exported = _q2_csv(c.get("/indicateurs/export.csv"))
    assert exported["incidents"] == ("3" if detail else "")
    assert ("incidents" in exported["suppressed"].split(",")) is not detail

    xlsx = c.get("/indicateurs/export.xlsx")
    assert xlsx.headers["Content-Disposition"].endswith('.xlsx"')
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    header = [cell.value for cell in ws[1]]
    values = {r[0]: dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert values["T-Q2"]["Signalements"] == (3 if detail else None)


@pytest.mark.parametrize("role", [None, *PUBLIC_ROLES])
@pytest.mark.parametrize("url", ["/indicateurs?niveau=zone", "/api/indicateurs/unites.geojson?niveau=zone",
                                 "/indicateurs/export.csv?niveau=zone", "/indicateurs/export.xlsx?niveau=zone"])
def test_zone_view_is_refused_to_public_roles(role, url, client, login_as, computed_app):
    assert _client(role, client, login_as).get(url).status_code == 403


@pytest.mark.parametrize("role", DETAIL_ROLES)
def test_zone_view_for_banque_and_admin(role, login_as, computed_app):
    c = login_as(role)
    assert "Zone Un" in c.get("/indicateurs?niveau=zone").get_data(as_text=True)
    feed = c.get("/api/indicateurs/unites.geojson?niveau=zone").get_json()
    zone = [f for f in feed["features"] if f["id"] == "T-Z1"][0]
    assert zone["properties"]["incidents"] == 1  # below the threshold, shown to the detailed view


def test_monthly_export(client, computed_app):
    text = client.get("/indicateurs/export.csv?periode=month").get_data(as_text=True)
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["code"] == "T-Q1"]
    assert len(rows) == 24


def test_table_is_sortable_server_side(client, computed_app):
    html = client.get("/indicateurs?tri=incidents_per_km2&ordre=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in html
    assert html.index("<td>T-Q1</td>") < html.index("<td>T-Q2</td>")  # Q2's value is suppressed: last


def test_trend_chart_data(client, computed_app):
    html = client.get("/indicateurs?indicateur=incidents&unite=T-Q1").get_data(as_text=True)
    data = json.loads(html.split('id="trend-data">', 1)[1].split("</script>", 1)[0])
    assert data["labels"][0] == "2023-07" and data["labels"][-1] == "2024-06"
    # monthly counts are below 5: suppressed (null) in the public chart
    assert data["values"] == [None] * 12


@pytest.mark.parametrize("url,status", [("/indicateurs?indicateur=drop", 400), ("/indicateurs?tri=x", 400),
                                        ("/indicateurs/export.pdf", 404), ("/indicateurs?niveau=iris", 400),
                                        ("/indicateurs/export.csv?periode=day", 400)])
def test_bad_parameters(url, status, client, computed_app):
    assert client.get(url).status_code == status


def test_page_before_any_compute(client):
    assert "ova indicators compute" in client.get("/indicateurs").get_data(as_text=True)


def test_cli_compute(runner, connection, territory):
    result = runner.invoke(args=["indicators", "compute", "--as-of", "2024-06", "--threshold", "5"])
    assert result.exit_code == 0, result.output
    assert "reference month 2024-06" in result.output
    bad = runner.invoke(args=["indicators", "compute", "--as-of", "juin"])
    assert bad.exit_code != 0


def test_page_in_english(client, computed_app):
    html = client.get("/indicateurs?lang=en").get_data(as_text=True)
    assert "Neighbourhood comparison (12 months)" in html and "Incidents per km²" in html
