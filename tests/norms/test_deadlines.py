"""Incident deadlines from response-delay norms: category, scope, validity, strictest wins."""
import datetime as dt

from sqlalchemy import text

from norms.deadlines import refresh_deadlines
from tests.builders import add_incident, add_norm, add_quartier, add_zone

PARIS = dt.timezone(dt.timedelta(hours=1))


def _quartier(conn, code):
    return add_quartier(conn, code, code, x0=650000, y0=6860000)


def _zone(conn, code, quartier_id, valid_from):
    return add_zone(conn, code, quartier_id, valid_from=valid_from, x0=650000, y0=6860000)


def _norm(conn, code, scope, hours, categories, *, quartier_id=None, zone_code=None,
          valid_from=dt.date(2024, 1, 1), valid_to=None):
    add_norm(conn, code, "EP2", code, scope=scope, quartier_id=quartier_id, zone_code=zone_code,
             categories=tuple(categories), delay_hours=hours, producer=None, valid_from=valid_from, valid_to=valid_to)


def _incident(conn, ext, category, reported_at, quartier_id=None, zone_id=None):
    return add_incident(conn, quartier_id, external_id=ext, category=category, reported_at=reported_at,
                        zone_id=zone_id, x=650100, y=6860100)


def test_strictest_applicable_norm_sets_the_deadline(connection):
    q = _quartier(connection, "Q1")
    z = _zone(connection, "ZCP-1", q, dt.date(2024, 1, 1))
    _norm(connection, "graffiti-7j", "territory", 168, ["graffiti"])
    _norm(connection, "graffiti-48h-zcp", "priority_zones", 48, ["graffiti"])
    reported = dt.datetime(2024, 3, 4, 10, 0, tzinfo=PARIS)
    in_zone = _incident(connection, "a", "graffiti", reported, q, z)
    outside = _incident(connection, "b", "graffiti", reported, q, None)
    other = _incident(connection, "c", "eclairage", reported, q, z)
    assert refresh_deadlines(connection) == 2
    rows = dict(connection.execute(text("SELECT id, expected_at FROM incidents")).all())
    assert rows[in_zone] == reported + dt.timedelta(hours=48)
    assert rows[outside] == reported + dt.timedelta(hours=168)
    assert rows[other] is None
    assert refresh_deadlines(connection) == 0  # nothing changes the second time


def test_norm_validity_uses_the_paris_calendar_day(connection):
    _norm(connection, "enc-72h", "territory", 72, ["encombrants"], valid_from=dt.date(2024, 6, 1))
    # 31 May 23:30 in Paris is 21:30 UTC: before the norm's first day, so no deadline.
    before = _incident(connection, "d", "encombrants", dt.datetime(2024, 5, 31, 21, 30, tzinfo=dt.timezone.utc))
    first_day = _incident(connection, "e", "encombrants", dt.datetime(2024, 5, 31, 22, 30, tzinfo=dt.timezone.utc))
    refresh_deadlines(connection, [before, first_day])
    rows = dict(connection.execute(text("SELECT id, expected_at FROM incidents")).all())
    assert rows[before] is None
    assert rows[first_day] == dt.datetime(2024, 6, 3, 22, 30, tzinfo=dt.timezone.utc)


def test_delay_counts_elapsed_hours_across_daylight_saving(connection):
    _norm(connection, "graffiti-48h", "territory", 48, ["graffiti"])
    # Saturday 30 March 2024 12:00 in Paris (UTC+1); clocks go forward on the 31st.
    reported = dt.datetime(2024, 3, 30, 11, 0, tzinfo=dt.timezone.utc)
    i = _incident(connection, "f", "graffiti", reported)
    refresh_deadlines(connection, [i])
    expected = connection.scalar(text("SELECT expected_at FROM incidents WHERE id = :i"), {"i": i})
    assert expected - reported == dt.timedelta(hours=48)
