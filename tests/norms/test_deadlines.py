"""Incident deadlines from response-delay norms: category, scope, validity, strictest wins."""
import datetime as dt

from sqlalchemy import text

from norms.deadlines import refresh_deadlines

PARIS = dt.timezone(dt.timedelta(hours=1))


def _quartier(conn, code):
    return conn.scalar(text(
        "INSERT INTO quartiers (code, name, source, geom) VALUES (:c, :c, 'test', "
        "ST_Multi(ST_MakeEnvelope(650000, 6860000, 651000, 6861000, 2154))) RETURNING id"), {"c": code})


def _zone(conn, code, quartier_id, valid_from):
    return conn.scalar(text(
        "INSERT INTO priority_zones (code, name, quartier_id, valid_from, status, geom) VALUES "
        "(:c, :c, :q, :vf, 'approved', ST_Multi(ST_MakeEnvelope(650000, 6860000, 650500, 6860500, 2154))) "
        "RETURNING id"), {"c": code, "q": quartier_id, "vf": valid_from})


def _norm(conn, code, scope, hours, categories, **extra):
    params = {"code": code, "scope": scope, "hours": hours, "cats": categories,
              "quartier_id": None, "zone_code": None, "valid_from": dt.date(2024, 1, 1), "valid_to": None}
    params.update(extra)
    conn.execute(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, quartier_id, zone_code, "
        "category_codes, delay_value, valid_from, valid_to) VALUES (:code, 'EP2', :code, :code, "
        "'response_delay', :scope, :quartier_id, :zone_code, :cats, :hours, :valid_from, :valid_to)"), params)


def _incident(conn, ext, category, reported_at, quartier_id=None, zone_id=None):
    return conn.scalar(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, quartier_id, zone_id, geom) "
        "VALUES ('test', :e, :c, :r, :q, :z, ST_SetSRID(ST_MakePoint(650100, 6860100), 2154)) RETURNING id"),
        {"e": ext, "c": category, "r": reported_at, "q": quartier_id, "z": zone_id})


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
