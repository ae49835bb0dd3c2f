"""Deadlines in working days and hours, public holidays, service hours, holds and source deadlines.

Every expected deadline below is computed by hand from the French calendar of 2024 (Whit Monday
20 May, 1 May and 8 May, Ascension 9 May; Moselle's Good Friday and 26 December; the end of
summer time on Sunday 27 October) and written as a local time of the territory.
"""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from norms.calendars import build_calendar_days, delay_words, parse_service_hours, seed_calendars
from norms.deadlines import refresh_deadlines
from norms.engine import recompute
from ova.errors import DataFileError, InvalidInput

PARIS = ZoneInfo("Europe/Paris")


def local(y, m, d, h=0, mi=0, tz=PARIS):
    return dt.datetime(y, m, d, h, mi, tzinfo=tz)


@pytest.fixture
def calendars(connection):
    seed_calendars(connection)
    return dict(connection.execute(text("SELECT code, id FROM calendars")).all())


def _calendar(conn, code, weekdays=(1, 2, 3, 4, 5), holidays=None, hours=None, closed=()):
    opens, closes = parse_service_hours(hours)
    cid = conn.scalar(text(
        "INSERT INTO calendars (code, label_fr, label_en, weekdays, holidays, opens, closes) "
        "VALUES (:c, :c, :c, :w, :h, :o, :cl) RETURNING id"),
        {"c": code, "w": list(weekdays), "h": holidays, "o": opens, "cl": closes})
    for day, reason in closed:
        conn.execute(text("INSERT INTO calendar_closed_days VALUES (:c, :d, :r)"), {"c": cid, "d": day, "r": reason})
    build_calendar_days(conn, dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    return cid


def _norm(conn, code, value, unit, categories=("graffiti",), calendar_id=None, pauses=False, **extra):
    params = {"code": code, "value": value, "unit": unit, "cats": list(categories), "cal": calendar_id,
              "pauses": pauses, "scope": "territory", "vf": dt.date(2020, 1, 1)}
    params.update(extra)
    return conn.scalar(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, category_codes, delay_value, "
        "delay_unit, calendar_id, pauses_on_hold, valid_from) VALUES (:code, 'EP2', :code, :code, 'response_delay', "
        ":scope, :cats, :value, :unit, :cal, :pauses, :vf) RETURNING id"), params)


def _incident(conn, ext, reported_at, category="graffiti", source_expected_at=None, resolved_at=None,
              quartier_id=None):
    return conn.scalar(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, source_expected_at, resolved_at, "
        "status, quartier_id, geom) VALUES ('test', :e, :c, :r, :s, :res, :st, :q, "
        "ST_SetSRID(ST_MakePoint(650100, 6860100), 2154)) RETURNING id"),
        {"e": ext, "c": category, "r": reported_at, "s": source_expected_at, "res": resolved_at,
         "st": "resolved" if resolved_at else "new", "q": quartier_id})


def _deadline(conn, incident_id):
    refresh_deadlines(conn, [incident_id])
    return conn.scalar(text("SELECT expected_at FROM incidents WHERE id = :i"), {"i": incident_id})


def test_friday_evening_before_whit_monday_is_due_at_the_end_of_tuesday(connection, calendars):
    _norm(connection, "graffiti-1jo", 1, "working_days", calendar_id=calendars["ouvres"])
    i = _incident(connection, "whit", local(2024, 5, 17, 19, 0))          # Friday 19:00
    assert _deadline(connection, i) == local(2024, 5, 22)                  # end of Tuesday 21 May


def test_two_working_days_skip_the_weekend_and_whit_monday(connection, calendars):
    _norm(connection, "graffiti-2jo", 2, "working_days")                  # the default calendar: ouvrés
    i = _incident(connection, "whit2", local(2024, 5, 17, 19, 0))
    assert _deadline(connection, i) == local(2024, 5, 23)                  # end of Wednesday 22 May


def test_may_holidays_and_ascension_do_not_count(connection, calendars):
    _norm(connection, "graffiti-2jo", 2, "working_days")
    before_may_day = _incident(connection, "may1", local(2024, 4, 30, 10, 0))   # Tue; Wed 1 May is off
    assert _deadline(connection, before_may_day) == local(2024, 5, 4)          # end of Friday 3 May
    before_victory = _incident(connection, "may8", local(2024, 5, 7, 10, 0))    # Tue; Wed 8, Thu 9 off
    assert _deadline(connection, before_victory) == local(2024, 5, 14)         # end of Monday 13 May


def test_ouvrables_count_saturdays(connection, calendars):
    _norm(connection, "graffiti-1jouvrable", 1, "working_days", calendar_id=calendars["ouvrables"])
    i = _incident(connection, "sat", local(2024, 6, 7, 16, 0))              # Friday
    assert _deadline(connection, i) == local(2024, 6, 9)                     # end of Saturday 8 June


def test_alsace_moselle_keeps_saint_stephens_day(connection, calendars):
    moselle = _calendar(connection, "moselle", holidays="FR-57")
    _norm(connection, "national", 1, "working_days", categories=("graffiti",), calendar_id=calendars["ouvres"])
    _norm(connection, "moselle", 1, "working_days", categories=("encombrants",), calendar_id=moselle)
    christmas = local(2024, 12, 25, 10, 0)
    national = _incident(connection, "xmas-fr", christmas, category="graffiti")
    metz = _incident(connection, "xmas-57", christmas, category="encombrants")
    assert _deadline(connection, national) == local(2024, 12, 27)           # end of Thursday 26 December
    assert _deadline(connection, metz) == local(2024, 12, 28)               # 26 Dec is off: end of Friday 27
    reasons = dict(connection.execute(text(
        "SELECT day, closed_reason FROM calendar_days WHERE calendar_id = :c AND day IN ('2024-12-26', '2024-03-29')"),
        {"c": moselle}).all())
    assert set(reasons) == {dt.date(2024, 12, 26), dt.date(2024, 3, 29)}   # Saint-Étienne, Vendredi saint
    assert all(reasons.values())


def test_a_city_closed_day_does_not_count(connection, calendars):
    strike = _calendar(connection, "greve", closed=[(dt.date(2024, 6, 11), "grève")])
    _norm(connection, "g", 1, "working_days", calendar_id=strike)
    i = _incident(connection, "strike", local(2024, 6, 10, 9, 0))           # Monday; Tuesday closed
    assert _deadline(connection, i) == local(2024, 6, 13)                    # end of Wednesday 12 June


def test_service_hours_start_counting_the_next_working_morning(connection, calendars):
    hours = calendars["ouvres-8h-18h"]
    _norm(connection, "g-4ho", 4, "working_hours", calendar_id=hours)
    _norm(connection, "e-1jo", 1, "working_days", categories=("encombrants",), calendar_id=hours)
    evening = _incident(connection, "19h", local(2024, 6, 3, 19, 0))        # Monday 19:00
    assert _deadline(connection, evening) == local(2024, 6, 4, 12, 0)       # Tuesday 08:00 + 4 h
    morning = _incident(connection, "7h", local(2024, 6, 4, 7, 0))          # before opening
    assert _deadline(connection, morning) == local(2024, 6, 4, 12, 0)
    during = _incident(connection, "16h", local(2024, 6, 7, 16, 0))         # Friday 16:00: 2 h left
    assert _deadline(connection, during) == local(2024, 6, 10, 10, 0)       # Monday 10:00
    bulky = _incident(connection, "enc", local(2024, 6, 3, 19, 0), category="encombrants")
    assert _deadline(connection, bulky) == local(2024, 6, 4, 18, 0)         # Tuesday's closing time


def test_working_hours_exactly_to_closing_time(connection, calendars):
    _norm(connection, "g-8ho", 8, "working_hours", calendar_id=calendars["ouvres-8h-18h"])
    i = _incident(connection, "10h", local(2024, 6, 7, 10, 0))              # Friday 10:00 + 8 h
    assert _deadline(connection, i) == local(2024, 6, 7, 18, 0)


def test_hold_spanning_a_weekend_does_not_count(connection, calendars):
    _norm(connection, "g-48h", 48, "hours", pauses=True)
    _norm(connection, "e-8ho", 8, "working_hours", categories=("encombrants",),
          calendar_id=calendars["ouvres-8h-18h"], pauses=True)
    _norm(connection, "v-1jo", 1, "working_days", categories=("voirie",), pauses=True)
    _norm(connection, "d-48h", 48, "hours", categories=("depot-sauvage",), pauses=False)
    friday = local(2024, 6, 7, 10, 0)
    ids = {c: _incident(connection, c, friday, category=c)
           for c in ("graffiti", "encombrants", "voirie", "depot-sauvage")}
    for incident_id in ids.values():  # waiting for a third party from Friday 12:00 to Monday 12:00
        connection.execute(text("INSERT INTO incident_holds (incident_id, started_at, ended_at, reason) "
                                "VALUES (:i, :s, :e, 'attente du bailleur')"),
                           {"i": incident_id, "s": local(2024, 6, 7, 12, 0), "e": local(2024, 6, 10, 12, 0)})
    assert _deadline(connection, ids["graffiti"]) == local(2024, 6, 12, 10, 0)      # Sun 10:00 + 72 h held
    assert _deadline(connection, ids["encombrants"]) == local(2024, 6, 10, 18, 0)   # 8 h + 10 h held (Fri 6, Mon 4)
    assert _deadline(connection, ids["voirie"]) == local(2024, 6, 12)               # one working day held (Fri)
    assert _deadline(connection, ids["depot-sauvage"]) == local(2024, 6, 9, 10, 0)  # this norm ignores holds


def test_an_open_hold_keeps_moving_the_deadline(connection, calendars):
    _norm(connection, "g-48h", 48, "hours", pauses=True)
    reported = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)
    i = _incident(connection, "open-hold", reported)
    connection.execute(text("INSERT INTO incident_holds (incident_id, started_at, reason) VALUES (:i, :s, 'x')"),
                       {"i": i, "s": reported + dt.timedelta(hours=1)})
    deadline = _deadline(connection, i)
    assert deadline - reported > dt.timedelta(hours=48 + 28)               # 29 h held so far


def test_a_daylight_saving_change_never_shifts_a_deadline(connection, calendars):
    _norm(connection, "g-1jo", 1, "working_days")
    _norm(connection, "e-2ho", 2, "working_hours", categories=("encombrants",), calendar_id=calendars["ouvres-8h-18h"])
    friday = local(2024, 10, 25, 17, 0)                                      # UTC+2; Sunday 27 back to UTC+1
    days = _incident(connection, "dst-days", friday)
    hours = _incident(connection, "dst-hours", friday, category="encombrants")
    assert _deadline(connection, days) == local(2024, 10, 29)               # end of Monday 28, i.e. 23:00 UTC
    assert _deadline(connection, days) == dt.datetime(2024, 10, 28, 23, 0, tzinfo=dt.timezone.utc)
    assert _deadline(connection, hours) == local(2024, 10, 28, 9, 0)        # Fri 17–18 + Mon 08–09
    assert _deadline(connection, hours) == dt.datetime(2024, 10, 28, 8, 0, tzinfo=dt.timezone.utc)


def test_the_territory_time_zone_and_holidays(connection, monkeypatch):
    monkeypatch.setenv("OVA_TIMEZONE", "Indian/Reunion")
    monkeypatch.setenv("OVA_HOLIDAYS", "FR-RE")
    reunion = ZoneInfo("Indian/Reunion")
    seed_calendars(connection)                                               # ouvrés with La Réunion's holidays
    _norm(connection, "g-1jo", 1, "working_days")
    i = _incident(connection, "abolition", local(2024, 12, 19, 15, 0, tz=reunion))   # Thu; Fri 20 Dec is off
    assert _deadline(connection, i) == local(2024, 12, 24, tz=reunion)      # end of Monday 23 December


def test_source_deadline_earlier_than_the_norm_wins_and_is_judged(connection, calendars):
    q = connection.scalar(text("INSERT INTO quartiers (code, name, source, geom) VALUES ('Q', 'Q', 'test', "
                               "ST_Multi(ST_MakeEnvelope(650000, 6860000, 651000, 6861000, 2154))) RETURNING id"))
    by_delay = _norm(connection, "g-7j", 168, "hours")
    by_source = _norm(connection, "g-source", None, "source")
    reported = local(2024, 6, 3, 9, 0)
    late_for_source = _incident(connection, "src", reported, source_expected_at=reported + dt.timedelta(hours=24),
                                resolved_at=reported + dt.timedelta(hours=30), quartier_id=q)
    without = _incident(connection, "nosrc", reported, resolved_at=reported + dt.timedelta(hours=30), quartier_id=q)
    assert _deadline(connection, late_for_source) == reported + dt.timedelta(hours=24)
    assert connection.scalar(text("SELECT norm_id FROM incidents WHERE id = :i"), {"i": late_for_source}) == by_source
    assert _deadline(connection, without) == reported + dt.timedelta(hours=168)
    recompute(connection, keys=[(q, dt.date(2024, 6, 1))], as_of=local(2024, 7, 1))
    results = {r.norm_id: (r.cases, r.compliant) for r in connection.execute(text(
        "SELECT norm_id, cases, compliant FROM compliance_results WHERE zone_id IS NULL"))}
    assert results[by_delay] == (2, 2)
    assert results[by_source] == (1, 0)        # the request without a source deadline is not judged by it


def test_no_norm_keeps_the_source_deadline(connection, calendars):
    reported = local(2024, 6, 3, 9, 0)
    i = _incident(connection, "only-src", reported, category="voirie", source_expected_at=reported + dt.timedelta(days=3))
    assert _deadline(connection, i) == reported + dt.timedelta(days=3)


def test_compliance_counts_working_days(connection, calendars):
    q = connection.scalar(text("INSERT INTO quartiers (code, name, source, geom) VALUES ('Q', 'Q', 'test', "
                               "ST_Multi(ST_MakeEnvelope(650000, 6860000, 651000, 6861000, 2154))) RETURNING id"))
    working = _norm(connection, "g-1jo", 1, "working_days")
    elapsed = _norm(connection, "g-48h", 48, "hours")
    # Friday 19:00 before Whit Monday, resolved Tuesday 20:00: within 1 jour ouvré, not within 48 h.
    _incident(connection, "w", local(2024, 5, 17, 19, 0), resolved_at=local(2024, 5, 21, 20, 0), quartier_id=q)
    recompute(connection, keys=[(q, dt.date(2024, 5, 1))], as_of=local(2024, 7, 1))
    results = {r.norm_id: (r.cases, r.compliant) for r in connection.execute(text(
        "SELECT norm_id, cases, compliant FROM compliance_results WHERE zone_id IS NULL"))}
    assert results == {working: (1, 1), elapsed: (1, 0)}


def test_delay_words():
    assert delay_words(2, "working_days") == "sous 2 jours ouvrés"
    assert delay_words(1, "working_days") == "sous 1 jour ouvré"
    assert delay_words(16, "working_hours", "en") == "within 16 working hours"
    assert delay_words(48, "hours") == "sous 48 h"
    assert delay_words(None, "source") == "dans le délai fixé par le système source"


def test_bad_calendar_settings_are_refused(connection, monkeypatch, tmp_path):
    with pytest.raises(InvalidInput, match="service_hours"):
        parse_service_hours("18:00-08:00")
    monkeypatch.setenv("OVA_HOLIDAYS", "XX-99")
    with pytest.raises(InvalidInput, match="unknown country or subdivision 'XX-99'"):
        seed_calendars(connection)
    monkeypatch.delenv("OVA_HOLIDAYS")
    bad = tmp_path / "calendars.yml"
    bad.write_text("- {code: c, fr: c, en: c, weekdays: [1, 8]}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="weekdays"):
        seed_calendars(connection, bad)


def _reference_deadline(reported: dt.datetime, value: int, unit: str, working_days: list[dt.date],
                        opens: dt.timedelta, closes: dt.timedelta) -> dt.datetime:
    """The deadline counted by walking the calendar day by day in local time (the test's oracle)."""
    local_reported = reported.astimezone(PARIS)
    day = local_reported.date()
    at = lambda d, offset: (dt.datetime.combine(d, dt.time()) + offset).replace(tzinfo=PARIS)  # noqa: E731
    later = [d for d in working_days if d > day]
    if unit == "working_days":
        return at(later[value - 1], closes)
    remaining = dt.timedelta(hours=value)
    into = local_reported.replace(tzinfo=None) - dt.datetime.combine(day, dt.time())
    worked = set(working_days)
    while True:
        if day in worked:
            start = min(max(into, opens), closes)
            available = closes - start
            if available > dt.timedelta(0) and remaining <= available:
                return at(day, start + remaining)
            remaining -= available
        day, into = day + dt.timedelta(days=1), dt.timedelta(0)


def test_deadlines_agree_with_a_day_by_day_walk_of_the_calendar(connection, calendars):
    """Every branch of the deadline arithmetic (before opening, during service, at closing, after it,
    days off, holidays, delays of whole service days and more), against the walk above; the same
    incidents with an empty hold take the general path and must agree too."""
    import random

    hours_calendar = calendars["ouvres-8h-18h"]
    opens, closes = connection.execute(text("SELECT opens, closes FROM calendars WHERE id = :c"),
                                       {"c": hours_calendar}).one()
    days = {cid: list(connection.scalars(text(
        "SELECT day FROM calendar_days WHERE calendar_id = :c AND ordinal IS NOT NULL ORDER BY day"), {"c": cid}))
        for cid in (hours_calendar, calendars["ouvres"])}
    # One category per norm (seeded categories): 1 h, a whole service day, a day and more, three days.
    cases = [("graffiti", 1, "working_hours", hours_calendar), ("encombrants", 10, "working_hours", hours_calendar),
             ("depot-sauvage", 13, "working_hours", hours_calendar), ("eclairage", 30, "working_hours", hours_calendar),
             ("voirie", 1, "working_days", hours_calendar), ("proprete", 3, "working_days", calendars["ouvres"])]
    for code, value, unit, calendar_id in cases:
        _norm(connection, code, value, unit, categories=(code,), calendar_id=calendar_id)
    rng = random.Random(7)
    instants = [local(2024, 5, 7, 18, 0), local(2024, 5, 7, 8, 0), local(2024, 5, 7, 0, 0),
                local(2024, 5, 8, 12, 0), local(2024, 10, 25, 17, 59), local(2024, 3, 29, 23, 30)]
    instants += [local(2024, rng.randint(1, 11), rng.randint(1, 28), rng.choice([0, 7, 8, 9, 12, 17, 18, 21]),
                       rng.choice([0, 0, 30, 59])) for _ in range(60)]
    expected, ids = {}, []
    for n, reported in enumerate(instants):
        for code, value, unit, calendar_id in cases:
            cal_opens, cal_closes = (opens, closes) if calendar_id == hours_calendar else \
                (dt.timedelta(0), dt.timedelta(hours=24))
            i = _incident(connection, f"{code}-{n}", reported, category=code)
            expected[i] = _reference_deadline(reported, value, unit, days[calendar_id], cal_opens, cal_closes)
            ids.append(i)
    refresh_deadlines(connection, ids)
    got = dict(connection.execute(text("SELECT id, expected_at FROM incidents WHERE id = ANY (:i)"), {"i": ids}).all())
    wrong = {i: (got[i], expected[i]) for i in ids if got[i] != expected[i]}
    assert not wrong, list(wrong.items())[:5]
    # The general path (an incident on hold under a norm that pauses), with holds of no length.
    connection.execute(text("UPDATE norms SET pauses_on_hold = true"))
    connection.execute(text("INSERT INTO incident_holds (incident_id, started_at, ended_at, reason) "
                            "SELECT id, reported_at, reported_at, 'vide' FROM incidents WHERE id = ANY (:i)"), {"i": ids})
    refresh_deadlines(connection, ids)
    got = dict(connection.execute(text("SELECT id, expected_at FROM incidents WHERE id = ANY (:i)"), {"i": ids}).all())
    wrong = {i: (got[i], expected[i]) for i in ids if got[i] != expected[i]}
    assert not wrong, list(wrong.items())[:5]
