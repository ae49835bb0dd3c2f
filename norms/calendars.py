"""Working calendars: which days (and hours) count for delays in working days or working hours.

A calendar names the ISO weekdays that are worked, the public holidays that are not (computed by
the `holidays` library for the territory's country and subdivision, ``OVA_HOLIDAYS``: ``FR`` by
default, ``FR-57`` Moselle, ``FR-RE`` La Réunion, ``DE-SN`` Saxony, ``US-MA`` Massachusetts…), the
extra days a city closes (a strike, a local holiday) and optional service hours. Its days are
materialised in ``calendar_days`` — one row per calendar day with the working-day ordinal and the
number of days worked so far — so that ``norms.deadlines`` computes every deadline of a load with
joins in SQL, never a loop over incidents. The table covers ``DEFAULT_FIRST_DAY`` to five years
ahead, and is extended when incidents fall outside (``ensure_calendar_range``).
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ova.errors import DataFileError, InvalidInput
from ova.settings import holidays_setting, timezone_name

SEED_FILE = Path(__file__).resolve().parent / "seed" / "calendars.yml"
#: First day of the materialised calendars (extended when older incidents are loaded).
DEFAULT_FIRST_DAY = dt.date(2000, 1, 1)
_YEARS_AHEAD = 5
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_WEEKDAY_NAMES_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def parse_holidays(code: str | None) -> tuple[str, str | None] | None:
    """``FR`` → (FR, None); ``FR-57`` → (FR, 57); ``none`` → None. Raises InvalidInput when unknown."""
    value = (code or holidays_setting()).strip()
    if value.lower() == "none":
        return None
    country, _, subdiv = value.partition("-")
    return _known_rule(country.upper(), subdiv or None, value)


@lru_cache(maxsize=64)
def _known_rule(country: str, subdiv: str | None, value: str) -> tuple[str, str | None]:
    import holidays as holidays_lib

    try:
        holidays_lib.country_holidays(country, subdiv=subdiv, years=2024)
    except NotImplementedError as err:
        raise InvalidInput(f"holidays: unknown country or subdivision {value!r} "
                           "(e.g. FR, FR-57, FR-RE, DE-SN, US-MA)") from err
    return country, subdiv


def public_holidays(code: str | None, first: dt.date, last: dt.date, language: str = "fr") -> dict[dt.date, str]:
    """The public holidays of ``code`` (None: the territory's) between two days, with their names."""
    rule = parse_holidays(code)
    if rule is None:
        return {}
    return dict(_holidays(*rule, first, last, language))


@lru_cache(maxsize=64)
def _holidays(country: str, subdiv: str | None, first: dt.date, last: dt.date,
              language: str) -> tuple[tuple[dt.date, str], ...]:
    import holidays as holidays_lib

    years = range(first.year, last.year + 1)
    try:
        days = holidays_lib.country_holidays(country, subdiv=subdiv, years=years, language=language)
    except (NotImplementedError, ValueError):
        days = holidays_lib.country_holidays(country, subdiv=subdiv, years=years)
    return tuple(sorted((d, name) for d, name in days.items() if first <= d <= last))


def parse_service_hours(value: str | None) -> tuple[dt.timedelta, dt.timedelta]:
    """``"08:00-18:00"`` → (8 h, 18 h); None → the whole day (0, 24 h)."""
    if not value:
        return dt.timedelta(0), dt.timedelta(hours=24)
    match = _HOURS.match(str(value))
    if not match:
        raise InvalidInput(f"service_hours: expected HH:MM-HH:MM, got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens, closes = dt.timedelta(hours=h1, minutes=m1), dt.timedelta(hours=h2, minutes=m2)
    if not dt.timedelta(0) <= opens < closes <= dt.timedelta(hours=24) or m1 > 59 or m2 > 59:
        raise InvalidInput(f"service_hours: {value!r} is not a range within one day")
    return opens, closes


def read_calendars(path: Path = SEED_FILE) -> list[dict]:
    """Read and validate the calendars of ``path``; errors name the file, entry and field."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    rows = []
    for i, entry in enumerate(entries, start=1):
        for field in ("code", "fr", "en", "weekdays"):
            if entry.get(field) in (None, "", []):
                raise DataFileError(path, "missing value", row=i, field=field)
        weekdays = entry["weekdays"]
        if not isinstance(weekdays, list) or not all(isinstance(d, int) and 1 <= d <= 7 for d in weekdays):
            raise DataFileError(path, "expected a list of ISO weekdays 1 (Monday) … 7 (Sunday)", row=i,
                                field="weekdays")
        try:
            opens, closes = parse_service_hours(entry.get("service_hours"))
            if entry.get("holidays"):
                parse_holidays(entry["holidays"])
        except InvalidInput as err:
            raise DataFileError(path, str(err), row=i, field=str(err).split(":")[0]) from err
        closed = []
        for day in entry.get("closed_days") or []:
            if not isinstance(day, dict) or not isinstance(day.get("day"), dt.date):
                raise DataFileError(path, "expected {day: YYYY-MM-DD, reason: …}", row=i, field="closed_days")
            closed.append({"day": day["day"], "reason": str(day.get("reason") or "fermeture")[:200]})
        rows.append({"code": entry["code"], "fr": entry["fr"], "en": entry["en"], "weekdays": sorted(set(weekdays)),
                     "holidays": entry.get("holidays"), "opens": opens, "closes": closes,
                     "is_default": bool(entry.get("default")), "closed_days": closed})
    if sum(r["is_default"] for r in rows) > 1:
        raise DataFileError(path, "only one calendar may be the default", field="default")
    return rows


def seed_calendars(conn: Connection, path: Path = SEED_FILE) -> int:
    """Upsert the calendars of ``path`` (by code) and rebuild their days; returns the count."""
    rows = read_calendars(path)
    for row in rows:
        calendar_id = conn.scalar(text("""
            INSERT INTO calendars (code, label_fr, label_en, weekdays, holidays, opens, closes, is_default)
            VALUES (:code, :fr, :en, :weekdays, :holidays, :opens, :closes, :is_default)
            ON CONFLICT (code) DO UPDATE SET label_fr = excluded.label_fr, label_en = excluded.label_en,
                weekdays = excluded.weekdays, holidays = excluded.holidays, opens = excluded.opens,
                closes = excluded.closes, is_default = excluded.is_default
            RETURNING id"""), row)
        conn.execute(text("DELETE FROM calendar_closed_days WHERE calendar_id = :id"), {"id": calendar_id})
        if row["closed_days"]:
            conn.execute(text("INSERT INTO calendar_closed_days (calendar_id, day, reason) VALUES (:id, :day, :reason)"),
                         [{"id": calendar_id, **d} for d in row["closed_days"]])
    if any(r["is_default"] for r in rows):
        conn.execute(text("UPDATE calendars SET is_default = false WHERE is_default AND code <> ALL (:codes)"),
                     {"codes": [r["code"] for r in rows if r["is_default"]]})
    build_calendar_days(conn)
    return len(rows)


def build_calendar_days(conn: Connection, first: dt.date | None = None, last: dt.date | None = None) -> int:
    """(Re)build ``calendar_days`` of every calendar from ``first`` to ``last``; returns the rows written.

    Ordinals count from ``first``: rebuilding shifts them all, which is harmless because deadlines
    are stored as instants, never as ordinals.
    """
    current = conn.execute(text("SELECT min(day), max(day) FROM calendar_days")).one()
    first = min(d for d in (first, current[0], DEFAULT_FIRST_DAY) if d is not None)
    last = max(d for d in (last, current[1], dt.date.today().replace(month=12, day=31)
                           + dt.timedelta(days=365 * _YEARS_AHEAD)) if d is not None)
    calendars = conn.execute(text("SELECT id, weekdays, holidays FROM calendars ORDER BY id")).all()
    closed = {}
    for calendar_id, day, reason in conn.execute(text("SELECT calendar_id, day, reason FROM calendar_closed_days")):
        closed.setdefault(calendar_id, {})[day] = reason
    conn.execute(text("DELETE FROM calendar_days"))
    written = 0
    for calendar_id, weekdays, holidays_code in calendars:
        feries = public_holidays(holidays_code, first, last)
        own = closed.get(calendar_id, {})
        days, ordinals, worked, reasons = [], [], [], []
        ordinal = 0
        day = first
        while day <= last:
            reason = own.get(day) or feries.get(day)
            if reason is None and day.isoweekday() not in weekdays:
                reason = _WEEKDAY_NAMES_FR[day.weekday()]
            if reason is None:
                ordinal += 1
            days.append(day)
            ordinals.append(None if reason else ordinal)
            worked.append(ordinal)
            reasons.append(reason[:200] if reason else None)
            day += dt.timedelta(days=1)
        conn.execute(text("""
            INSERT INTO calendar_days (calendar_id, day, ordinal, worked_through, closed_reason, opens_at, closes_at)
            SELECT :id, d.day, d.ordinal, d.worked, d.reason, (d.day + c.opens) AT TIME ZONE :tz,
                   (d.day + c.closes) AT TIME ZONE :tz
            FROM unnest(CAST(:days AS date[]), CAST(:ordinals AS integer[]), CAST(:worked AS integer[]),
                        CAST(:reasons AS text[])) AS d(day, ordinal, worked, reason)
            JOIN calendars c ON c.id = :id"""),
                     {"id": calendar_id, "days": days, "ordinals": ordinals, "worked": worked, "reasons": reasons,
                      "tz": timezone_name()})
        written += len(days)
    return written


def ensure_calendar_range(conn: Connection, relation: str = "incidents", where: str = "true",
                          params: dict | None = None) -> None:
    """Extend ``calendar_days`` when rows of ``relation`` (trusted SQL) were reported outside it."""
    # OFFSET 0: without it PostgreSQL answers min/max by walking the whole reported_at index
    # backwards until a row matches the filter (3.5 s for 1 000 new ids among 1 000 000 rows).
    span = conn.execute(text(f"SELECT min(r)::date - 1, max(r)::date + 1 FROM (SELECT i.reported_at AS r "
                             f"FROM {relation} i WHERE {where} OFFSET 0) s"), params or {}).one()
    if span[0] is None:
        return
    built = conn.execute(text("SELECT min(day), max(day) FROM calendar_days")).one()
    if built[0] is None and not conn.scalar(text("SELECT count(*) FROM calendars")):
        return
    if built[0] is None or span[0] < built[0] or span[1] + dt.timedelta(days=366) > built[1]:
        build_calendar_days(conn, span[0], span[1] + dt.timedelta(days=366))


def delay_words(value: int | None, unit: str | None, lang: str = "fr") -> str:
    """A norm's delay in words: « sous 2 jours ouvrés », « within 48 h », « dans le délai du système source »."""
    if unit == "source":
        return "dans le délai fixé par le système source" if lang == "fr" else "within the source system's deadline"
    if not value or not unit:
        return ""
    if lang == "fr":
        words = {"hours": ("h", "h"), "working_days": ("jour ouvré", "jours ouvrés"),
                 "working_hours": ("heure ouvrée", "heures ouvrées")}[unit]
        return f"sous {value} {words[0] if value == 1 else words[1]}"
    words = {"hours": ("h", "h"), "working_days": ("working day", "working days"),
             "working_hours": ("working hour", "working hours")}[unit]
    return f"within {value} {words[0] if value == 1 else words[1]}"
