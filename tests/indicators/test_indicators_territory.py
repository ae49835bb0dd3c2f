"""Territory indicators on the hand-made fixture (see conftest.py for the rows)."""
import datetime as dt
import json

import pytest
from sqlalchemy import text

from indicators import publication, territory
from indicators.suppression import can_see_detail, check_threshold
from ova.errors import InvalidInput

from tests.indicators.conftest_values import Q1_12M


def _one(conn, code, period="12m", detail=True, threshold=5, unit="quartier"):
    (row,) = territory.rows(conn, unit_kind=unit, period_kind=period, detail=detail, threshold=threshold,
                            unit_code=code)
    return row


def test_periods_of_reference_month():
    b = territory.periods(dt.date(2024, 6, 1))
    assert (b["w_start"], b["w_end"], b["p_start"], b["first_month"]) == (
        dt.date(2023, 7, 1), dt.date(2024, 7, 1), dt.date(2022, 7, 1), dt.date(2022, 7, 1))


def test_rows_per_unit_and_period(connection, computed):
    counts = dict(connection.execute(text(
        "SELECT period_kind, count(*) FROM territory_indicators WHERE unit_id IN (:a, :b) AND unit_kind = 'quartier' "
        "GROUP BY 1"), {"a": computed["q1"], "b": computed["q2"]}).all())
    assert counts == {"month": 48, "12m": 2, "prev12m": 2}


def test_quartier_12_months_computed_by_hand(connection, computed):
    row = _one(connection, "T-Q1")
    for key, expected in Q1_12M.items():
        value = row[key]
        assert (float(value) if value is not None and not isinstance(value, bool) else value) == pytest.approx(expected), key
    assert row["suppressed"] == ""


def test_quartier_with_three_incidents(connection, computed):
    row = _one(connection, "T-Q2")
    assert (row["incidents"], row["incidents_resolved"], float(row["median_resolution_hours"])) == (3, 2, 15.0)
    assert float(row["incidents_per_km2"]) == pytest.approx(1.5)
    assert row["incidents_per_1000_inhabitants"] is None  # no population loaded
    assert row["establishments_active"] == 0 and row["incidents_per_1000_establishments"] is None


def test_monthly_rows_use_the_paris_day(connection, computed):
    june = [r for r in territory.trend(connection, "T-Q1", detail=True) if r["period_start"] == dt.date(2024, 6, 1)]
    assert june[0]["incidents"] == 2  # i5 and i6 (23:00 Paris); i7 is 1 July in Paris
    months = territory.trend(connection, "T-Q1", detail=True)
    assert len(months) == 12 and months[0]["period_start"] == dt.date(2023, 7, 1)
    assert sum(m["incidents"] for m in months) == 6
    assert [m["establishments_created"] for m in months if m["period_start"] == dt.date(2023, 9, 1)] == [6]


def test_priority_zone(connection, computed):
    row = _one(connection, "T-Z1", unit="zone")
    assert (row["establishments_active"], row["incidents"]) == (1, 1)
    assert float(row["area_km2"]) == pytest.approx(0.25)
    assert float(row["establishments_per_km2"]) == pytest.approx(4.0)


def test_public_rows_are_suppressed_below_threshold(connection, computed):
    q1 = _one(connection, "T-Q1", detail=False)
    # closures (1), resolved incidents (3 → median), previous-period counts (2, 3 → trends) hidden
    assert q1["establishments_closed"] is None and q1["median_resolution_hours"] is None
    assert q1["incidents_trend_pct"] is None and q1["establishments_trend_pct"] is None
    assert (q1["incidents"], q1["establishments_active"], q1["establishments_created"]) == (6, 8, 6)
    assert float(q1["incidents_per_1000_establishments"]) == pytest.approx(750.0)
    assert set(q1["suppressed"].split(",")) == {
        "establishments_closed", "incidents_resolved", "incidents_prev12m", "establishments_active_prev12m",
        "median_resolution_hours", "incidents_trend_pct", "establishments_trend_pct"}
    q2 = _one(connection, "T-Q2", detail=False)
    assert q2["incidents"] is None and q2["incidents_per_km2"] is None
    assert "incidents" in q2["suppressed"].split(",")
    assert float(q2["area_km2"]) == pytest.approx(2.0)  # not a count: never hidden


def test_threshold_is_configurable(connection, computed):
    assert _one(connection, "T-Q2", detail=False, threshold=3)["incidents"] == 3
    assert _one(connection, "T-Q1", detail=False, threshold=10)["incidents"] is None


@pytest.mark.parametrize("bad", [0, -1, "x"])
def test_bad_threshold_is_refused(bad):
    with pytest.raises(ValueError):
        check_threshold(bad)


@pytest.mark.parametrize("role,detail", [(None, False), ("citizen", False), ("urbaniste", False),
                                         ("agent", False), ("banque", True), ("admin", True)])
def test_detail_roles(role, detail):
    assert can_see_detail(role) is detail


def test_bad_sort_and_level_are_refused(connection, computed):
    with pytest.raises(InvalidInput, match="tri"):
        territory.rows(connection, detail=False, sort="name; DROP TABLE quartiers")
    with pytest.raises(InvalidInput, match="niveau"):
        territory.rows(connection, unit_kind="iris", detail=False)


def test_geojson_carries_suppressed_values(connection, computed):
    public = {f["id"]: f["properties"] for f in json.loads(territory.geojson(connection, detail=False))["features"]}
    detail = {f["id"]: f["properties"] for f in json.loads(territory.geojson(connection, detail=True))["features"]}
    assert public["T-Q2"]["incidents"] is None and detail["T-Q2"]["incidents"] == 3
    assert public["T-Q1"]["incidents"] == 6 and "geom" not in public["T-Q1"]
    assert public["T-Q2"]["name"] == "Quartier <Deux>"


def test_recompute_replaces_rows(connection, computed):
    before = connection.scalar(text("SELECT count(*) FROM territory_indicators"))
    territory.compute(connection, dt.date(2024, 6, 1))
    assert connection.scalar(text("SELECT count(*) FROM territory_indicators")) == before


@pytest.mark.usefixtures("territory")
def test_default_reference_month_is_latest_incident_month(connection):
    assert territory.default_as_of(connection) == dt.date(2024, 7, 1)  # i7 is 1 July in Paris


def test_publish_views_and_layers(connection, computed):
    slugs = publication.publish(connection, 5)
    assert slugs == ["indicateurs-quartiers", "indicateurs-quartiers-detail", "indicateurs-zones-detail"]
    public = dict(connection.execute(text(
        "SELECT code, incidents FROM indicators_quartiers_public WHERE code LIKE 'T-%'")).all())
    detail = dict(connection.execute(text(
        "SELECT code, incidents FROM indicators_quartiers_detail WHERE code LIKE 'T-%'")).all())
    assert public == {"T-Q1": 6, "T-Q2": None} and detail == {"T-Q1": 6, "T-Q2": 3}
    srids = connection.execute(text(
        "SELECT DISTINCT ST_SRID(geom) FROM indicators_quartiers_public UNION "
        "SELECT DISTINCT ST_SRID(geom) FROM indicators_zones_detail")).scalars().all()
    assert srids == [2154]
    assert connection.scalar(text("SELECT id FROM indicators_quartiers_public WHERE code = 'T-Q1'")) == computed["q1"]
    layers = dict(connection.execute(text(
        "SELECT source_table, restricted_to FROM layers WHERE slug LIKE 'indicateurs-%'")).all())
    assert layers == {"indicators_quartiers_public": [], "indicators_quartiers_detail": ["admin", "banque"],
                      "indicators_zones_detail": ["admin", "banque"]}
    publication.publish(connection, 5)  # idempotent: an upsert bumping data_version
    assert connection.scalar(text("SELECT data_version FROM layers WHERE slug = 'indicateurs-quartiers'")) == 2
