"""Simulated resolution times: only DansMaRue incidents, flagged, seeded and idempotent."""
import datetime as dt

from sqlalchemy import text

from etl.simulation import simulate_resolutions
from etl.targets import load
from tests.etl.conftest import DANSMARUE_CSV, read_rows, write_csv


def _state(conn):
    return conn.execute(text("SELECT external_id, acknowledged_at, resolved_at, status, times_simulated "
                             "FROM incidents ORDER BY source, external_id")).all()


def test_simulation_touches_only_dansmarue_and_is_idempotent(connection, tmp_path):
    header, rows = read_rows(DANSMARUE_CSV, 400)
    load(connection, "incidents", write_csv(tmp_path / "dmr.csv", header, rows), preset="dansmarue")
    connection.execute(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, geom) VALUES "
        "('portal', 'p1', 'graffiti', '2024-01-01', ST_SetSRID(ST_MakePoint(652000, 6862000), 2154))"))
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    counts = simulate_resolutions(connection, seed=42, now=now)
    assert counts["incidents"] == 400 and counts["changed"] == 400
    assert counts["resolved"] > 300 and counts.get("rejected", 0) > 0
    first = _state(connection)
    portal = [r for r in first if r.external_id == "p1"][0]
    assert (portal.acknowledged_at, portal.resolved_at, portal.status, portal.times_simulated) == (None, None, "new", False)
    assert connection.scalar(text(
        "SELECT bool_and(times_simulated) AND bool_and(resolved_at IS NULL OR resolved_at > acknowledged_at) "
        "AND bool_and(acknowledged_at IS NULL OR acknowledged_at > reported_at) FROM incidents WHERE source = 'dansmarue'"))
    again = simulate_resolutions(connection, seed=42, now=now)
    assert again["changed"] == 0 and _state(connection) == first
    other = simulate_resolutions(connection, seed=7, now=now)
    assert other["changed"] > 0
