"""ova norms seed, ova compliance compute, ova publish."""
import datetime as dt

from sqlalchemy import text

UTC = dt.timezone.utc


def test_norms_seed_is_idempotent(runner, connection):
    first = runner.invoke(args=["norms", "seed"])
    assert first.exit_code == 0, first.output
    count = connection.scalar(text("SELECT count(*) FROM norms"))
    assert count >= 10
    assert runner.invoke(args=["norms", "seed"]).exit_code == 0
    assert connection.scalar(text("SELECT count(*) FROM norms")) == count
    metrics = dict(connection.execute(text("SELECT code, metric FROM norms")).all())
    assert metrics["graffiti-48h-zcp"] == "response_delay" and metrics["guide-services"] == "document"
    assert metrics["balayage-2-semaine"] == "frequency"


def test_compute_then_publish(runner, connection, fx):
    q = fx.quartier("Q1")
    fx.norm("g48", hours=48, min_sample=1)
    fx.incident(dt.datetime(2024, 3, 4, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=UTC), quartier_id=q)
    result = runner.invoke(args=["compliance", "compute", "--since", "2024-03"])
    assert result.exit_code == 0, result.output
    assert "computed" in result.output
    result = runner.invoke(args=["publish", "--month", "2024-03"])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    again = runner.invoke(args=["publish", "--month", "2024-03"])
    assert again.exit_code != 0 and "already published" in again.output
    ok = runner.invoke(args=["publish", "--month", "2024-03", "--supersede", "--reason", "fix"])
    assert ok.exit_code == 0 and "version 2" in ok.output
    bad = runner.invoke(args=["publish", "--month", "2024-13"])
    assert bad.exit_code != 0


def test_norms_seed_reads_working_day_norms_and_calendars(runner, connection):
    assert runner.invoke(args=["norms", "seed"]).exit_code == 0
    rows = {r.code: r for r in connection.execute(text(
        "SELECT n.code, n.delay_value, n.delay_unit, n.pauses_on_hold, c.code AS calendar FROM norms n "
        "LEFT JOIN calendars c ON c.id = n.calendar_id"))}
    assert (rows["depots-2jo"].delay_value, rows["depots-2jo"].delay_unit, rows["depots-2jo"].calendar) == \
        (2, "working_days", "ouvres")
    assert rows["eclairage-5jo"].pauses_on_hold and rows["graffiti-48h-zcp"].delay_unit == "hours"
    whit_monday = connection.execute(text(
        "SELECT d.ordinal, d.closed_reason FROM calendar_days d JOIN calendars c ON c.id = d.calendar_id "
        "WHERE c.code = 'ouvres' AND d.day = '2024-05-20'")).one()
    assert whit_monday.ordinal is None and whit_monday.closed_reason


def test_norms_seed_names_the_bad_entry(runner, tmp_path):
    bad = tmp_path / "norms.yml"
    bad.write_text("- {code: x, tache: EP2, fr: x, en: x, metric: response_delay, scope: territory, "
                   "categories: [graffiti], delay_hours: 48, delay_working_days: 2, valid_from: 2024-01-01}\n",
                   encoding="utf-8")
    result = runner.invoke(args=["norms", "seed", "--file", str(bad)])
    assert result.exit_code != 0
    assert "norms.yml" in result.output and "row 1" in result.output and "delay_hours" in result.output
    bad.write_text("- {code: x, tache: EP2, fr: x, en: x, metric: response_delay, scope: territory, "
                   "categories: [graffiti], delay_working_days: 2, calendar: lune, valid_from: 2024-01-01}\n",
                   encoding="utf-8")
    result = runner.invoke(args=["norms", "seed", "--file", str(bad)])
    assert result.exit_code != 0 and "unknown calendar 'lune'" in result.output


def test_compliance_export_csv_and_geojson(runner, connection, fx, tmp_path):
    import csv
    import json

    q = fx.quartier("Q1")
    fx.norm("g48", hours=48, min_sample=1)
    fx.incident(dt.datetime(2024, 3, 4, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=UTC), quartier_id=q)
    fx.incident(dt.datetime(2024, 3, 6, tzinfo=UTC), dt.datetime(2024, 3, 10, tzinfo=UTC), quartier_id=q)
    assert runner.invoke(args=["compliance", "compute", "--since", "2024-03"]).exit_code == 0
    out = tmp_path / "conformite.csv"
    result = runner.invoke(args=["compliance", "export", "--month", "2024-03", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [r for r in csv.DictReader(out.open(encoding="utf-8")) if r["norm_code"] == "g48"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["quartier_code"], row["judged"], row["compliant"], row["rate"], row["delay"]) == \
        ("Q1", "2", "1", "0.5", "sous 48 h")
    result = runner.invoke(args=["compliance", "export", "--month", "2024-03", "--format", "geojson"])
    assert result.exit_code == 0, result.output
    features = [f for f in json.loads(result.stdout)["features"] if f["properties"]["norm_code"] == "g48"]
    assert features[0]["geometry"]["type"] == "MultiPolygon"
    assert -180 <= features[0]["geometry"]["coordinates"][0][0][0][0] <= 180
    empty = runner.invoke(args=["compliance", "export", "--month", "2019-01"])
    assert empty.exit_code != 0 and "no compliance results for 2019-01" in empty.output
