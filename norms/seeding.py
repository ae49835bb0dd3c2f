"""Load the norms of a YAML file (``norms/seed/norms.yml`` by default): idempotent upsert on code.

A response-delay norm states its delay in one of ``delay_hours`` (elapsed hours),
``delay_working_days`` or ``delay_working_hours`` (of its ``calendar``, default the default one of
``norms/seed/calendars.yml``), or judges by the source's own deadline (``deadline: source``);
``pauses_on_hold: true`` stops its clock while an incident is on hold.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ova.db import transaction
from ova.errors import DataFileError
from ova.models import NORM_METRICS, NORM_SCOPES

SEED_FILE = Path(__file__).resolve().parent / "seed" / "norms.yml"
_REQUIRED = ("code", "tache", "fr", "en", "metric", "scope", "valid_from")

_UPSERT = """
    INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, quartier_id, zone_code,
                       category_codes, delay_value, delay_unit, calendar_id, pauses_on_hold, activity_kind,
                       events_required, period, target_rate, min_sample, producer_id, valid_from, valid_to)
    VALUES (:code, :tache, :fr, :en, :metric, :scope,
            (SELECT id FROM quartiers WHERE code = :quartier), :zone, :categories, :delay_value, :delay_unit,
            (SELECT id FROM calendars WHERE code = :calendar), :pauses_on_hold,
            :activity_kind, :events_required, :period, :target_rate, :min_sample,
            (SELECT id FROM producers WHERE slug = :producer), :valid_from, :valid_to)
    ON CONFLICT (code) DO UPDATE SET tache_code = excluded.tache_code, label_fr = excluded.label_fr,
        label_en = excluded.label_en, metric = excluded.metric, scope = excluded.scope,
        quartier_id = excluded.quartier_id, zone_code = excluded.zone_code,
        category_codes = excluded.category_codes, delay_value = excluded.delay_value,
        delay_unit = excluded.delay_unit, calendar_id = excluded.calendar_id, pauses_on_hold = excluded.pauses_on_hold,
        activity_kind = excluded.activity_kind, events_required = excluded.events_required,
        period = excluded.period, target_rate = excluded.target_rate, min_sample = excluded.min_sample,
        producer_id = excluded.producer_id, valid_from = excluded.valid_from, valid_to = excluded.valid_to
"""


def read_norms(path: Path = SEED_FILE) -> list[dict]:
    """Read and validate the norm entries of ``path``; errors name the file, entry and field."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    rows = []
    for i, entry in enumerate(entries, start=1):
        for field in _REQUIRED:
            if entry.get(field) in (None, ""):
                raise DataFileError(path, "missing value", row=i, field=field)
        if entry["metric"] not in NORM_METRICS:
            raise DataFileError(path, f"unknown metric {entry['metric']!r}", row=i, field="metric")
        if entry["scope"] not in NORM_SCOPES:
            raise DataFileError(path, f"unknown scope {entry['scope']!r}", row=i, field="scope")
        for field in ("valid_from", "valid_to"):
            if entry.get(field) is not None and not isinstance(entry[field], dt.date):
                raise DataFileError(path, "expected a date YYYY-MM-DD", row=i, field=field)
        delay_value, delay_unit = _delay(path, i, entry)
        rows.append({
            "code": entry["code"], "tache": entry["tache"], "fr": entry["fr"], "en": entry["en"],
            "metric": entry["metric"], "scope": entry["scope"], "quartier": entry.get("quartier"),
            "zone": entry.get("zone"), "categories": list(entry.get("categories") or []),
            "delay_value": delay_value, "delay_unit": delay_unit, "calendar": entry.get("calendar"),
            "pauses_on_hold": bool(entry.get("pauses_on_hold", False)), "activity_kind": entry.get("activity_kind"),
            "events_required": entry.get("events_required"), "period": entry.get("period"),
            "target_rate": entry.get("target_rate", 0.9), "min_sample": entry.get("min_sample"),
            "producer": entry.get("producer"), "valid_from": entry["valid_from"],
            "valid_to": entry.get("valid_to"),
        })
    return rows


_DELAY_KEYS = {"delay_hours": "hours", "delay_working_days": "working_days", "delay_working_hours": "working_hours"}


def _delay(path: Path, row: int, entry: dict) -> tuple[int | None, str]:
    """(value, unit) of an entry's delay; exactly one way of stating it for a response-delay norm."""
    given = [key for key in _DELAY_KEYS if entry.get(key) is not None]
    if entry.get("deadline") not in (None, "source"):
        raise DataFileError(path, "deadline: the only value is 'source'", row=row, field="deadline")
    if entry.get("deadline") == "source":
        given.append("deadline")
    if entry.get("metric") != "response_delay":
        return None, "hours"
    if len(given) != 1:
        raise DataFileError(path, "a response-delay norm states one of delay_hours, delay_working_days, "
                            "delay_working_hours or deadline: source", row=row, field="delay_hours")
    if given[0] == "deadline":
        return None, "source"
    value = entry[given[0]]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise DataFileError(path, "expected a whole number above 0", row=row, field=given[0])
    return value, _DELAY_KEYS[given[0]]


def seed_norms(bind: Engine | Connection, path: Path = SEED_FILE) -> int:
    """Upsert the norms of ``path`` in one transaction and refresh incident deadlines; returns the count."""
    from norms.deadlines import refresh_deadlines

    from norms.calendars import seed_calendars

    rows = read_norms(path)
    with transaction(bind) as conn:
        seed_calendars(conn)
        known = set(conn.scalars(text("SELECT code FROM calendars")))
        for i, row in enumerate(rows, start=1):
            if row["calendar"] is not None and row["calendar"] not in known:
                raise DataFileError(path, f"unknown calendar {row['calendar']!r} (known: {', '.join(sorted(known))})",
                                    row=i, field="calendar")
        if rows:
            conn.execute(text(_UPSERT), rows)
        refresh_deadlines(conn)
    return len(rows)
