"""Compliance engine, against rates computed by hand on small fixtures."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import text

from ova.assignment import assign_points
from norms.engine import compute_all, recompute

UTC = dt.timezone.utc
CET = dt.timezone(dt.timedelta(hours=1))
AS_OF = dt.datetime(2024, 6, 1, tzinfo=UTC)


def test_report_resolved_exactly_at_the_deadline_is_compliant(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("g48", hours=48, min_sample=1)
    t0 = dt.datetime(2024, 3, 4, 10, 0, tzinfo=CET)
    fx.incident(t0, t0 + dt.timedelta(hours=48), quartier_id=q)                      # exactly: compliant
    fx.incident(t0, t0 + dt.timedelta(hours=48, seconds=1), quartier_id=q)           # one second late
    fx.incident(t0, t0 + dt.timedelta(hours=12), quartier_id=q)                      # early
    compute_all(connection, as_of=AS_OF)
    [row] = fx.results(n)
    assert (row["month"], row["incidents"], row["cases"], row["compliant"]) == (dt.date(2024, 3, 1), 3, 3, 2)
    assert row["rate"] == Decimal("0.66667")
    assert row["median_delay_hours"] == Decimal("48.00")
    # p90 of (12, 48, 48.000278) by linear interpolation: 48 + 0.8 * 0.000278 ≈ 48.00
    assert row["p90_delay_hours"] == Decimal("48.00")
    assert row["status"] == "not_met"   # 0.667 < target 0.9
    assert row["zone_id"] is None


def test_open_overdue_incident_counts_as_a_failure(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("g48", hours=48, min_sample=1, target_rate=0.5)
    as_of = dt.datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    fx.incident(dt.datetime(2024, 3, 4, 10, tzinfo=UTC), quartier_id=q)               # open, due 6 March: overdue
    fx.incident(dt.datetime(2024, 3, 9, 10, tzinfo=UTC), quartier_id=q)               # open, due 11 March: pending
    fx.incident(dt.datetime(2024, 3, 5, 10, tzinfo=UTC), dt.datetime(2024, 3, 6, tzinfo=UTC), quartier_id=q)
    fx.incident(dt.datetime(2024, 3, 5, 10, tzinfo=UTC), status="rejected", quartier_id=q)  # ignored
    compute_all(connection, as_of=as_of)
    [row] = fx.results(n)
    assert (row["incidents"], row["cases"], row["compliant"], row["open_overdue"]) == (3, 2, 1, 1)
    assert row["rate"] == Decimal("0.5") and row["status"] == "met"
    assert row["median_delay_hours"] == Decimal("14.00")   # only resolved incidents have a delay
    # Later, the pending one is overdue too.
    compute_all(connection, as_of=dt.datetime(2024, 3, 12, tzinfo=UTC))
    [row] = fx.results(n)
    assert (row["cases"], row["compliant"], row["open_overdue"], row["status"]) == (3, 1, 2, "not_met")


def test_sample_below_the_minimum_is_insufficient_data(connection, fx):
    q = fx.quartier("Q1")
    default_min = fx.norm("g48", hours=48)
    own_min = fx.norm("g48-min3", hours=48, min_sample=3)
    t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
    for _ in range(4):
        fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q)
    compute_all(connection, as_of=AS_OF)
    [row] = fx.results(default_min)
    assert (row["cases"], row["rate"], row["status"]) == (4, Decimal("1"), "insufficient_data")
    assert fx.results(own_min)[0]["status"] == "met"
    compute_all(connection, as_of=AS_OF, min_sample=4)
    assert fx.results(default_min)[0]["status"] == "met"


def test_incident_outside_every_zone(connection, fx):
    q = fx.quartier("Q1")
    z = fx.zone("ZCP-1", q, dt.date(2024, 1, 1))
    in_zone = fx.norm("g48-zcp", scope="priority_zones", hours=48, min_sample=1)
    everywhere = fx.norm("g7j", hours=168, min_sample=1)
    t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
    fx.incident(t0, t0 + dt.timedelta(hours=24), xy=(650100, 6860100))   # inside the zone
    fx.incident(t0, t0 + dt.timedelta(hours=72), xy=(650900, 6860900))   # in the quartier, outside the zone
    fx.incident(t0, t0 + dt.timedelta(hours=1), xy=(700000, 6900000))    # outside every quartier
    assign_points(connection, "incidents")
    compute_all(connection, as_of=AS_OF)
    zone_rows = fx.results(in_zone)
    assert [(r["zone_id"], r["cases"], r["compliant"]) for r in zone_rows] == [(None, 1, 1), (z, 1, 1)]
    all_rows = fx.results(everywhere)
    # Territory norm: both quartier incidents (72 h < 7 days), one of them also in the zone row.
    assert [(r["zone_id"], r["cases"], r["compliant"]) for r in all_rows] == [(None, 2, 2), (z, 1, 1)]
    assert all(r["quartier_id"] == q for r in all_rows)


def test_zone_redrawn_mid_month_judges_each_incident_by_the_version_of_its_day(connection, fx):
    q = fx.quartier("Q1")
    v1 = fx.zone("ZCP-1", q, dt.date(2024, 1, 1), dt.date(2024, 3, 15), box=(650000, 6860000, 650500, 6860500))
    v2 = fx.zone("ZCP-1", q, dt.date(2024, 3, 15), None, box=(650500, 6860500, 651000, 6861000))
    n = fx.norm("g48-zcp", scope="priority_zones", hours=48, min_sample=1)
    old_area, new_area = (650100, 6860100), (650900, 6860900)
    fx.incident(dt.datetime(2024, 3, 10, 9, tzinfo=UTC), dt.datetime(2024, 3, 11, 9, tzinfo=UTC), xy=old_area)
    fx.incident(dt.datetime(2024, 3, 20, 9, tzinfo=UTC), dt.datetime(2024, 3, 25, 9, tzinfo=UTC), xy=old_area)
    fx.incident(dt.datetime(2024, 3, 20, 9, tzinfo=UTC), dt.datetime(2024, 3, 25, 9, tzinfo=UTC), xy=new_area)
    fx.incident(dt.datetime(2024, 3, 10, 9, tzinfo=UTC), dt.datetime(2024, 3, 25, 9, tzinfo=UTC), xy=new_area)
    assign_points(connection, "incidents")
    compute_all(connection, as_of=AS_OF)
    rows = fx.results(n)
    # 10 March: only the old-area incident is in a zone (v1, compliant); 20 March: only the new-area
    # one (v2, late). The other two were outside the zone valid on their day.
    assert [(r["zone_id"], r["cases"], r["compliant"]) for r in rows] == [(None, 2, 1), (v1, 1, 1), (v2, 1, 0)]
    assert rows[0]["rate"] == Decimal("0.5")


def test_paris_months_and_daylight_saving(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("g48", hours=48, min_sample=1)
    # Saturday 30 March 2024 12:00 Paris (11:00 UTC); clocks go forward on the 31st. Resolved on
    # Monday 1 April 12:30 Paris (10:30 UTC): 48.5 h on the wall clock but 47.5 h elapsed: compliant.
    fx.incident(dt.datetime(2024, 3, 30, 11, 0, tzinfo=UTC), dt.datetime(2024, 4, 1, 10, 30, tzinfo=UTC), quartier_id=q)
    # 30 April 23:30 Paris (21:30 UTC) belongs to April; 1 May 00:30 Paris (30 April 22:30 UTC) to May.
    fx.incident(dt.datetime(2024, 4, 30, 21, 30, tzinfo=UTC), dt.datetime(2024, 5, 1, tzinfo=UTC), quartier_id=q)
    fx.incident(dt.datetime(2024, 4, 30, 22, 30, tzinfo=UTC), dt.datetime(2024, 5, 5, tzinfo=UTC), quartier_id=q)
    compute_all(connection, as_of=AS_OF)
    rows = fx.results(n)
    assert [(r["month"], r["cases"], r["compliant"]) for r in rows] == [
        (dt.date(2024, 3, 1), 1, 1), (dt.date(2024, 4, 1), 1, 1), (dt.date(2024, 5, 1), 1, 0)]
    assert rows[0]["median_delay_hours"] == Decimal("47.50")


def test_incremental_recompute_matches_a_full_recompute(connection, fx):
    q1, q2 = fx.quartier("Q1"), fx.quartier("Q2", x0=651000)
    n = fx.norm("g48", hours=48, min_sample=1)
    t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
    fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q1)
    other = fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q2)
    compute_all(connection, as_of=AS_OF)
    untouched = fx.results(n, quartier_id=q2)
    late = fx.incident(t0, t0 + dt.timedelta(hours=100), quartier_id=q1)
    summary = recompute(connection, incident_ids=[late], as_of=AS_OF)
    assert summary.keys == 1 and summary.deleted == 1 and summary.inserted == 1
    assert fx.results(n, quartier_id=q2) == untouched       # other quartier-months not rewritten
    incremental = {(r["quartier_id"], r["month"], r["cases"], r["compliant"]) for r in fx.results(n)}
    compute_all(connection, as_of=AS_OF)
    full = {(r["quartier_id"], r["month"], r["cases"], r["compliant"]) for r in fx.results(n)}
    assert incremental == full == {(q1, dt.date(2024, 3, 1), 2, 1), (q2, dt.date(2024, 3, 1), 1, 1)}
    assert other


def test_since_keeps_earlier_months(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("g48", hours=48, min_sample=1)
    fx.incident(dt.datetime(2024, 2, 4, tzinfo=UTC), dt.datetime(2024, 2, 5, tzinfo=UTC), quartier_id=q)
    fx.incident(dt.datetime(2024, 3, 4, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=UTC), quartier_id=q)
    compute_all(connection, as_of=AS_OF)
    february = fx.results(n)[0]
    compute_all(connection, since=dt.date(2024, 3, 1), as_of=AS_OF)
    rows = fx.results(n)
    assert rows[0] == february and len(rows) == 2


def test_frequency_norm_judges_each_week_starting_in_the_month(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("balayage", metric="frequency", activity_kind="balayage", events_required=2, period="week",
                tache="EP1", target_rate=0.75, valid_from=dt.date(2024, 3, 1), valid_to=dt.date(2024, 4, 1))
    # Mondays of March 2024: 4, 11, 18, 25. Events: 2, 1, 3, 0 → 2 weeks of 4 compliant.
    for day, count in ((4, 2), (12, 1), (19, 3)):
        for h in range(count):
            fx.activity("balayage", dt.datetime(2024, 3, day, 6 + h, tzinfo=UTC), q)
    fx.activity("balayage", dt.datetime(2024, 3, 2, 6, tzinfo=UTC), q)   # week starting in February
    fx.activity("autre", dt.datetime(2024, 3, 26, 6, tzinfo=UTC), q)     # another kind
    compute_all(connection, as_of=AS_OF)
    [row] = fx.results(n)
    assert (row["month"], row["cases"], row["compliant"], row["rate"], row["status"]) == (
        dt.date(2024, 3, 1), 4, 2, Decimal("0.5"), "not_met")


def test_yearly_frequency_is_judged_when_the_year_ends(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("reunions", metric="frequency", activity_kind="reunion", events_required=3, period="year",
                tache="IG3", target_rate=1, valid_from=dt.date(2023, 1, 1))
    for month in (2, 5, 11):
        fx.activity("reunion", dt.datetime(2023, month, 10, 18, tzinfo=UTC), q)
    compute_all(connection, since=dt.date(2023, 1, 1), as_of=dt.datetime(2024, 1, 15, tzinfo=UTC))
    by_month = {r["month"]: r for r in fx.results(n)}
    assert by_month[dt.date(2023, 6, 1)]["status"] == "insufficient_data"   # year still running
    assert by_month[dt.date(2023, 11, 1)]["status"] == "met"                # third meeting held
    assert (by_month[dt.date(2023, 12, 1)]["cases"], by_month[dt.date(2023, 12, 1)]["status"]) == (1, "met")
    assert by_month[dt.date(2024, 1, 1)]["status"] == "insufficient_data"   # new year


def test_document_norm_is_met_from_the_month_of_delivery(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("guide", metric="document", tache="IG1", target_rate=1, valid_from=dt.date(2024, 2, 1))
    connection.execute(text("INSERT INTO document_deliveries (norm_id, quartier_id, delivered_on) "
                            "VALUES (:n, :q, '2024-03-10')"), {"n": n, "q": q})
    compute_all(connection, since=dt.date(2024, 2, 1), as_of=dt.datetime(2024, 3, 20, tzinfo=UTC))
    assert [(r["month"], r["status"]) for r in fx.results(n)] == [
        (dt.date(2024, 2, 1), "not_met"), (dt.date(2024, 3, 1), "met")]


def test_quarterly_frequency(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("animations", metric="frequency", activity_kind="animation", events_required=3, period="quarter",
                tache="IA1", target_rate=1, valid_from=dt.date(2024, 1, 1))
    for month in (1, 2):                         # only two events in Q1 2024
        fx.activity("animation", dt.datetime(2024, month, 10, 18, tzinfo=UTC), q)
    for day in (1, 2, 3):                        # three in April: Q2 met early
        fx.activity("animation", dt.datetime(2024, 4, day, 18, tzinfo=UTC), q)
    compute_all(connection, since=dt.date(2024, 1, 1), as_of=dt.datetime(2024, 5, 15, tzinfo=UTC))
    status = {r["month"]: r["status"] for r in fx.results(n)}
    assert status == {dt.date(2024, 1, 1): "insufficient_data", dt.date(2024, 2, 1): "insufficient_data",
                      dt.date(2024, 3, 1): "not_met", dt.date(2024, 4, 1): "met", dt.date(2024, 5, 1): "met"}
