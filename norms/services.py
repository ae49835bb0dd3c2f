"""Editing norms, the yearly OVA audit and the OVA grid (no Flask): validate, then write."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ova.errors import InvalidInput, NotFound
from ova.settings import timezone_name
from ova.models import DELAY_UNITS, NORM_METRICS, NORM_PERIODS, NORM_SCOPES

#: Norm fields editable in the portal.
EDITABLE = ("label_fr", "label_en", "metric", "scope", "quartier_id", "zone_code", "category_codes",
            "delay_value", "delay_unit", "calendar_id", "pauses_on_hold", "activity_kind", "events_required",
            "period", "target_rate", "min_sample",
            "producer_id", "valid_from", "valid_to")


def validate_norm(values: dict) -> dict:
    """Check a norm's fields together; raise InvalidInput naming the field."""
    v = {k: values.get(k) for k in EDITABLE}
    if v["metric"] not in NORM_METRICS:
        raise InvalidInput(f"metric: unknown value {v['metric']!r}")
    if v["scope"] not in NORM_SCOPES:
        raise InvalidInput(f"scope: unknown value {v['scope']!r}")
    if v["scope"] == "quartier" and not v["quartier_id"]:
        raise InvalidInput("quartier_id: a quartier-scoped norm needs a quartier")
    if v["scope"] == "zone" and not v["zone_code"]:
        raise InvalidInput("zone_code: a zone-scoped norm needs a zone code")
    v["category_codes"] = [c for c in (v["category_codes"] or []) if c]
    too_long = [c for c in v["category_codes"] if len(c) > 64]  # the column is varchar(64)[]
    if too_long:
        raise InvalidInput(f"category_codes: unknown category code {too_long[0][:40]!r}…")
    v["delay_unit"] = v["delay_unit"] or "hours"
    if v["delay_unit"] not in DELAY_UNITS:
        raise InvalidInput(f"delay_unit: unknown value {v['delay_unit']!r}")
    if v["delay_unit"] == "source":
        v["delay_value"] = None
    if v["metric"] == "response_delay" and ((v["delay_unit"] != "source" and not v["delay_value"])
                                            or not v["category_codes"]):
        raise InvalidInput("delay_value: a response-delay norm needs a delay and categories")
    v["pauses_on_hold"] = bool(v["pauses_on_hold"])
    if v["metric"] == "frequency" and (not v["events_required"] or v["period"] not in NORM_PERIODS
                                       or not v["activity_kind"]):
        raise InvalidInput("events_required: a frequency norm needs an activity kind, a count and a period")
    if v["target_rate"] is None or not 0 < float(v["target_rate"]) <= 1:
        raise InvalidInput("target_rate: between 0 (excluded) and 1")
    if v["valid_to"] and v["valid_to"] <= v["valid_from"]:
        raise InvalidInput("valid_to: must be after valid_from")
    return v


def update_norm(conn: Connection, norm_id: int, values: dict) -> None:
    """Validate and save a norm, then refresh the deadlines of the incidents it may concern."""
    from norms.deadlines import refresh_deadlines

    v = validate_norm(values)
    sets = ", ".join(f"{k} = :{k}" for k in EDITABLE)  # identifiers from the EDITABLE whitelist
    if not conn.execute(text(f"UPDATE norms SET {sets} WHERE id = :id"), {**v, "id": norm_id}).rowcount:
        raise NotFound(f"norm {norm_id} not found")
    refresh_deadlines(conn)


def get_norm(conn: Connection, norm_id: int) -> dict:
    row = conn.execute(text("SELECT * FROM norms WHERE id = :id"), {"id": norm_id}).mappings().first()
    if row is None:
        raise NotFound(f"norm {norm_id} not found")
    return dict(row)


def save_audit(conn: Connection, *, quartier_id: int, tache_code: str, year: int, clear_commitment: bool,
               comment: str | None, user_id: int | None) -> None:
    """Record (or replace) the yearly audit of a tâche in a quartier."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("year: between 2000 and 2100")
    known = conn.execute(text(
        "SELECT (SELECT count(*) FROM quartiers WHERE id = :q), (SELECT count(*) FROM taches_standard WHERE code = :t)"),
        {"q": quartier_id, "t": tache_code}).one()
    if not all(known):
        raise InvalidInput("unknown quartier or tâche")
    conn.execute(text(
        "INSERT INTO tache_audits (quartier_id, tache_code, year, clear_commitment, comment, updated_by) "
        "VALUES (:q, :t, :y, :c, :comment, :u) ON CONFLICT ON CONSTRAINT uq_tache_audits_quartier_tache_year "
        "DO UPDATE SET clear_commitment = excluded.clear_commitment, comment = excluded.comment, "
        "updated_by = excluded.updated_by, updated_at = now()"),
        {"q": quartier_id, "t": tache_code, "y": year, "c": clear_commitment, "comment": comment or None,
         "u": user_id})


def grid(conn: Connection, quartier_id: int | None, year: int) -> list[dict]:
    """The OVA grid: champs → tâches with producers, norms and (for a quartier) the audit of ``year``."""
    taches = conn.execute(text(
        "SELECT c.code AS champ_code, c.label_fr AS champ_fr, c.label_en AS champ_en, t.code, t.label_fr, "
        "t.label_en, coalesce((SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM tache_producers tp "
        "  JOIN producers p ON p.id = tp.producer_id WHERE tp.tache_code = t.code), '') AS producers, "
        "(SELECT string_agg(n.label_fr, ' ; ' ORDER BY n.code) FROM norms n WHERE n.tache_code = t.code) AS norms, "
        "a.clear_commitment, a.comment, a.updated_at "
        "FROM taches_standard t JOIN champs_action c ON c.code = t.champ_code "
        "LEFT JOIN tache_audits a ON a.tache_code = t.code AND a.quartier_id = :q AND a.year = :y "
        "ORDER BY c.position, t.position"), {"q": quartier_id, "y": year}).mappings().all()
    champs: dict[str, dict] = {}
    for t in taches:
        champ = champs.setdefault(t["champ_code"], {"code": t["champ_code"], "label_fr": t["champ_fr"],
                                                    "label_en": t["champ_en"], "taches": []})
        champ["taches"].append(dict(t))
    return list(champs.values())


def audit_years(conn: Connection, quartier_id: int | None) -> list[int]:
    """Years having audits for the quartier, plus the current year, newest first."""
    years = set(conn.scalars(text("SELECT DISTINCT year FROM tache_audits WHERE quartier_id = :q"),
                             {"q": quartier_id}))
    years.add(dt.date.today().year)
    return sorted(years, reverse=True)


def _months_from(day: dt.date, until: dt.date) -> list[dt.date]:
    months, m = [], day.replace(day=1)
    while m <= until:
        months.append(m)
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def log_activity(conn: Connection, *, kind: str, quartier_id: int, occurred_at: dt.datetime,
                 producer_id: int | None, zone_id: int | None = None, note: str | None = None,
                 source: str = "portal", external_id: str | None = None) -> int:
    """Record an activity for frequency norms and recompute its quartier-month."""
    from zoneinfo import ZoneInfo

    from norms.engine import recompute

    kind = (kind or "").strip()
    if not kind or len(kind) > 64:
        raise InvalidInput("kind: 1 to 64 characters")
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=ZoneInfo(timezone_name()))
    activity_id = conn.scalar(text(
        "INSERT INTO activities (kind, producer_id, quartier_id, zone_id, occurred_at, source, external_id, note) "
        "VALUES (:k, :p, :q, :z, :t, :s, :e, :n) RETURNING id"),
        {"k": kind, "p": producer_id, "q": quartier_id, "z": zone_id, "t": occurred_at, "s": source,
         "e": external_id, "n": note or None})
    local = occurred_at.astimezone(ZoneInfo(timezone_name())).date()
    # A yearly or quarterly norm met in this month stays met in the following months of its period.
    recompute(conn, keys=[(quartier_id, m) for m in _months_from(local, dt.date.today())])
    return activity_id


def record_delivery(conn: Connection, *, norm_id: int, quartier_id: int | None, delivered_on: dt.date,
                    note: str | None = None) -> int:
    """Record a document delivery (one quartier, or every quartier when None) and recompute from its month."""
    from norms.engine import recompute

    if get_norm(conn, norm_id)["metric"] != "document":
        raise InvalidInput("norm: not a document norm")
    delivery_id = conn.scalar(text(
        "INSERT INTO document_deliveries (norm_id, quartier_id, delivered_on, note) VALUES (:n, :q, :d, :note) "
        "RETURNING id"), {"n": norm_id, "q": quartier_id, "d": delivered_on, "note": note or None})
    quartiers = [quartier_id] if quartier_id else list(conn.scalars(text("SELECT id FROM quartiers")))
    months = _months_from(delivered_on, dt.date.today())
    recompute(conn, keys=[(q, m) for q in quartiers for m in months])
    return delivery_id


def recent_activities(conn: Connection, limit: int = 50) -> list[dict]:
    """The latest logged activities and document deliveries, newest first."""
    rows = conn.execute(text(
        "SELECT 'activite' AS type, a.kind AS what, q.name AS quartier, a.occurred_at AS at, a.source, a.note "
        "FROM activities a LEFT JOIN quartiers q ON q.id = a.quartier_id "
        "UNION ALL SELECT 'document', n.label_fr, coalesce(q.name, '*'), d.delivered_on::timestamptz, 'portal', d.note "
        "FROM document_deliveries d JOIN norms n ON n.id = d.norm_id LEFT JOIN quartiers q ON q.id = d.quartier_id "
        "ORDER BY at DESC LIMIT :l"), {"l": limit}).mappings().all()
    return [dict(r) for r in rows]
