"""Events → messages. Each function is called in the transaction of the change it reports and
only writes outbox rows (set-based INSERT … SELECT over the subscriptions concerned).

Messages to subscribers carry the category, the place (quartier, priority zone), the status and
a link — never the citizen's description, address or photo (unmoderated free text), and never
anyone's address but the recipient's own.

Time-based events (a report becoming overdue, the monthly publication's deadline) are found by
:func:`scan`, which the sender runs before each pass; their idempotency keys make each one a
single message however often it runs.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from notifications.outbox import enqueue, enqueue_select
from notifications.subscriptions import SELECTION_LABEL_SQL, ensure_role_subscriptions, follow_incident
from ova.settings import timezone_name

INCIDENT_PATH = "/incidents/{id}"
FOLLOW_UP_PATH = "/incidents/{id}/suivi/{token}"
QUEUE_PATH = "/incidents/queue"
PUBLICATIONS_PATH = "/normes/publications"
#: Hour of the day (territory time) at which daily digests leave.
DIGEST_HOUR = 7
#: Days before the deadline at which urbanists and admins are reminded of the monthly publication.
PUBLICATION_REMINDER_DAYS = 2
#: Overdue reports older than this are not announced (no flood on the first run over old data).
OVERDUE_LOOKBACK = dt.timedelta(days=2)
#: Transitions the reporter hears about (reopening is resolved → in_progress).
REPORTER_STATUSES = frozenset({"acknowledged", "resolved", "rejected"})


def next_digest_time(now: dt.datetime | None = None, hour: int = DIGEST_HOUR) -> dt.datetime:
    """The next ``hour`` o'clock in the territory's time zone (when daily digests are due)."""
    zone = ZoneInfo(timezone_name())
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone)
    due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due = (due + dt.timedelta(days=1)).replace(hour=hour)
    return due.astimezone(dt.timezone.utc)


_INCIDENT_CONTEXT = """
    jsonb_build_object('id', i.id, 'category', jsonb_build_object('fr', c.label_fr, 'en', c.label_en),
        'quartier', q.name, 'zone', z.name, 'status_code', i.status, 'reported_at', i.reported_at,
        'expected_at', i.expected_at, 'producer', p.name, 'incident_path', '/incidents/' || i.id,
        'queue_path', '/incidents/queue')
"""
_INCIDENT_JOINS = """
    JOIN incident_categories c ON c.code = i.category
    LEFT JOIN quartiers q ON q.id = i.quartier_id
    LEFT JOIN priority_zones z ON z.id = i.zone_id
    LEFT JOIN producers p ON p.id = i.producer_id
"""
#: Recipient address of subscription ``s`` (its own, or its account's).
_RECIPIENT = "coalesce(s.email, u.email)"
_DUE = "CASE WHEN s.frequency = 'daily' THEN CAST(:digest_at AS timestamptz) ELSE now() END"


def _queue_messages(conn: Connection, incident_ids: Sequence[int], template: str, key: str,
                    extra: str = "'{}'::jsonb") -> int:
    """One message per incident to each agent of its service (immediate or at the daily digest)."""
    ensure_role_subscriptions(conn)
    return enqueue_select(conn, f"""
        SELECT format({key}, i.id, s.id) AS key, {_RECIPIENT} AS recipient, s.locale, '{template}' AS template,
               {_INCIDENT_CONTEXT} || {extra} AS context, s.id AS subscription_id, {_DUE} AS due_at
        FROM incidents i {_INCIDENT_JOINS}
        JOIN subscriptions s ON s.kind = 'queue' AND s.producer_id = i.producer_id
             AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
        JOIN users u ON u.id = s.user_id AND u.active AND u.role = 'agent' AND u.producer_id = i.producer_id
        WHERE i.id = ANY (:ids)""", {"ids": list(incident_ids), "digest_at": next_digest_time()})


def report_created(conn: Connection, incident_id: int, *, email: str | None, locale: str = "fr",
                   follow_up_token: str | None = None) -> None:
    """A report was accepted: its reporter (if they gave an address), the agents of its service and
    the subscribers of its quartier, zone, category or drawn area each get a message."""
    reporter = None
    if email:
        subscription = follow_incident(conn, incident_id, email, locale)
        reporter = subscription["email"]
        row = conn.execute(text(f"SELECT {_INCIDENT_CONTEXT} AS context FROM incidents i {_INCIDENT_JOINS} "
                                "WHERE i.id = :id"), {"id": incident_id}).one()
        context = dict(row.context)
        if follow_up_token:
            context["follow_up_path"] = FOLLOW_UP_PATH.format(id=incident_id, token=follow_up_token)
        enqueue(conn, reporter, "report_accepted", context, f"report_accepted:{incident_id}", locale=locale,
                subscription_id=subscription["id"])
    _queue_messages(conn, [incident_id], "queue_new", "'queue_new:%s:%s'")
    # Subscribers: one message per address, whichever of its subscriptions matched first.
    enqueue_select(conn, f"""
        SELECT DISTINCT ON ({_RECIPIENT}) format('area_new_report:%s:%s', i.id, md5({_RECIPIENT})) AS key,
               {_RECIPIENT} AS recipient, s.locale, 'area_new_report' AS template,
               {_INCIDENT_CONTEXT} || jsonb_build_object('selection', {SELECTION_LABEL_SQL}) AS context,
               s.id AS subscription_id, {_DUE} AS due_at
        FROM incidents i {_INCIDENT_JOINS}
        JOIN subscriptions s ON s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL AND (
               (s.kind = 'quartier' AND s.quartier_id = i.quartier_id)
            OR (s.kind = 'zone' AND s.zone_code = z.code)
            OR (s.kind = 'category' AND s.category = i.category)
            OR (s.kind = 'area' AND ST_Intersects(s.geom, i.geom)))
        LEFT JOIN users u ON u.id = s.user_id
        WHERE i.id = :id AND (u.id IS NULL OR u.active)
          AND {_RECIPIENT} IS DISTINCT FROM CAST(:reporter AS text)
        ORDER BY {_RECIPIENT}, s.id""",
        {"id": incident_id, "reporter": reporter, "digest_at": next_digest_time()})


def status_changed(conn: Connection, events: Iterable[tuple[int, int, str | None, str, str | None]]) -> int:
    """Status changes ``(event_id, incident_id, from_status, to_status, note)``: the reporter of each
    incident hears of acknowledgement, resolution, rejection (with the reason) and reopening."""
    count = 0
    for event_id, incident_id, from_status, to_status, note in events:
        reopened = from_status in ("resolved", "rejected") and to_status not in ("resolved", "rejected")
        if to_status not in REPORTER_STATUSES and not reopened:
            continue
        count += enqueue_select(conn, f"""
            SELECT 'report_status:' || CAST(:event AS text) AS key, s.email AS recipient, s.locale,
                   'report_status' AS template,
                   {_INCIDENT_CONTEXT} || jsonb_build_object('to_status', CAST(:to AS text),
                       'from_status', CAST(:from AS text), 'note', CAST(:note AS text),
                       'reopened', CAST(:reopened AS boolean)) AS context,
                   s.id AS subscription_id, now() AS due_at
            FROM incidents i {_INCIDENT_JOINS}
            JOIN subscriptions s ON s.kind = 'incident' AND s.incident_id = i.id AND s.email IS NOT NULL
                 AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
            WHERE i.id = :id""",
            {"event": event_id, "id": incident_id, "to": to_status, "from": from_status, "note": note,
             "reopened": reopened})
    return count


def resolution_answered(conn: Connection, incident_id: int, *, confirmed: bool, answered_at: dt.datetime) -> int:
    """The reporter confirmed or disputed a resolution: the agents of the service are told (the
    reporter's comment stays on the incident page, for the service only)."""
    stamp = answered_at.strftime("%Y%m%dT%H%M%S")
    return _queue_messages(conn, [incident_id], "queue_answer", f"'queue_answer:%s:{stamp}:%s'",
                           extra=f"jsonb_build_object('confirmed', {'true' if confirmed else 'false'})")


def compliance_published(conn: Connection, publication_id: int) -> int:
    """A month's compliance was published: each subscriber of a quartier, a zone or a drawn area gets
    the norms not met there (frozen results of the publication)."""
    return enqueue_select(conn, f"""
        WITH pub AS (SELECT id, month, version FROM compliance_publications WHERE id = :pub),
        matched AS (
            SELECT s.id AS sid, r.*
            FROM subscriptions s
            JOIN published_results r ON r.publication_id = :pub AND (
                   (s.kind = 'quartier' AND r.zone_code IS NULL
                    AND r.quartier_code = (SELECT code FROM quartiers WHERE id = s.quartier_id))
                OR (s.kind = 'zone' AND r.zone_code = s.zone_code)
                OR (s.kind = 'area' AND r.zone_code IS NULL AND r.geom IS NOT NULL AND ST_Intersects(s.geom, r.geom)))
            WHERE s.kind IN ('quartier', 'zone', 'area') AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
        ),
        per_sub AS (
            SELECT sid,
                   coalesce(jsonb_agg(jsonb_build_object(
                       'norm', jsonb_build_object('fr', m.norm_label, 'en', coalesce(n.label_en, m.norm_label)),
                       'place', coalesce(m.zone_code, m.quartier_name), 'rate', m.rate, 'target', m.target_rate,
                       'simulated', m.simulated) ORDER BY m.norm_code, m.quartier_code)
                       FILTER (WHERE m.status = 'not_met'), '[]'::jsonb) AS failures,
                   count(*) FILTER (WHERE m.status = 'met') AS met
            FROM matched m LEFT JOIN norms n ON n.code = m.norm_code
            GROUP BY sid
        )
        SELECT format('compliance:%s:%s', pub.id, s.id) AS key, {_RECIPIENT} AS recipient, s.locale,
               'compliance_published' AS template,
               jsonb_build_object('month_start', pub.month, 'version', pub.version, 'failures', ps.failures,
                   'met', ps.met, 'selection', {SELECTION_LABEL_SQL}, 'publications_path', '{PUBLICATIONS_PATH}')
                   AS context,
               s.id AS subscription_id, now() AS due_at
        FROM per_sub ps JOIN subscriptions s ON s.id = ps.sid CROSS JOIN pub
        LEFT JOIN incident_categories c ON c.code = s.category
        LEFT JOIN users u ON u.id = s.user_id
        WHERE u.id IS NULL OR u.active""", {"pub": publication_id})


def scan(conn: Connection, *, now: dt.datetime | None = None,
         publication_due: Callable[[dt.date], dt.date] | None = None) -> dict:
    """Queue the time-based messages due at ``now``: reports that just became overdue (to the
    agents of their service) and the monthly publication's reminder and overdue notice (to
    urbanists and admins). ``publication_due(month)`` gives a month's deadline (the norms' rule).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    overdue_ids = [r[0] for r in conn.execute(text(
        "SELECT id FROM incidents WHERE status IN ('new', 'acknowledged', 'in_progress') AND producer_id IS NOT NULL "
        "AND expected_at <= :now AND expected_at > :since"), {"now": now, "since": now - OVERDUE_LOOKBACK})]
    counts = {"overdue": 0, "publication": 0}
    if overdue_ids:
        counts["overdue"] = _queue_messages(
            conn, overdue_ids, "queue_overdue",
            "'queue_overdue:%s:' || to_char(i.expected_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS') || ':%s'")
    if publication_due is not None:
        counts["publication"] = _publication_deadline(conn, now, publication_due)
    return counts


def _publication_deadline(conn: Connection, now: dt.datetime, publication_due: Callable[[dt.date], dt.date]) -> int:
    today = now.astimezone(ZoneInfo(timezone_name())).date()
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # the month to publish now
    due_on = publication_due(month)
    if today < due_on - dt.timedelta(days=PUBLICATION_REMINDER_DAYS):
        return 0
    published = conn.scalar(text("SELECT 1 FROM compliance_publications WHERE month = :m LIMIT 1"), {"m": month})
    has_results = conn.scalar(text("SELECT 1 FROM compliance_results WHERE month = :m LIMIT 1"), {"m": month})
    if published or not has_results:
        return 0
    overdue = today > due_on
    ensure_role_subscriptions(conn)
    return enqueue_select(conn, f"""
        SELECT format('publication_%s:%s:%s', CAST(:phase AS text), CAST(:month AS text), s.id) AS key,
               u.email AS recipient, s.locale, 'publication_due' AS template,
               jsonb_build_object('month_start', CAST(:month AS text), 'due_on', CAST(:due AS text),
                   'overdue', CAST(:overdue AS boolean), 'publications_path', '{PUBLICATIONS_PATH}') AS context,
               s.id AS subscription_id, now() AS due_at
        FROM subscriptions s JOIN users u ON u.id = s.user_id AND u.active AND u.role IN ('urbaniste', 'admin')
        WHERE s.kind = 'publication' AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL""",
        {"phase": "overdue" if overdue else "reminder", "month": month.isoformat(), "due": due_on.isoformat(),
         "overdue": overdue})


PURCHASE_PATH = "/achats/a-venir/{id}"
PURCHASE_FEED_PATH = "/achats/a-venir"


def purchases_changed(conn: Connection, purchase_ids: Sequence[int]) -> int:
    """New or changed planned purchases: each firm following their CPV division or their commune
    gets one message per purchase and change (the key carries ``updated_at``), whichever of its
    subscriptions matched first. Cancelled purchases are announced too (the firm may have prepared)."""
    if not purchase_ids:
        return 0
    count = enqueue_select(conn, f"""
        SELECT DISTINCT ON (p.id, {_RECIPIENT})
               format('purchase:%s:%s:%s', p.id, to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS'),
                      md5({_RECIPIENT})) AS key,
               {_RECIPIENT} AS recipient, s.locale, 'purchase_changed' AS template,
               jsonb_build_object('id', p.id, 'object', p.object, 'buyer', p.buyer_name, 'cpv_code', p.cpv_code,
                   'amount', coalesce(p.amount, (p.amount_min + p.amount_max) / 2, p.amount_max, p.amount_min),
                   'quarter', p.expected_quarter, 'status_code', p.status, 'procedure', p.procedure,
                   'status_label', CASE WHEN s.locale = 'en' THEN CASE p.status WHEN 'planned' THEN 'planned'
                        WHEN 'published' THEN 'notice published' WHEN 'awarded' THEN 'awarded' ELSE 'cancelled' END
                        ELSE CASE p.status WHEN 'planned' THEN 'prévu' WHEN 'published' THEN 'avis publié'
                        WHEN 'awarded' THEN 'attribué' ELSE 'abandonné' END END,
                   'new', p.alerted_at IS NULL,
                   'selection', CASE s.kind WHEN 'cpv_division' THEN
                        CASE s.locale WHEN 'en' THEN 'CPV division ' ELSE 'division CPV ' END || s.cpv_division
                        ELSE 'commune ' || s.commune_insee END,
                   'purchase_path', '/achats/a-venir/' || p.id) AS context,
               s.id AS subscription_id, {_DUE} AS due_at
        FROM planned_purchases p
        JOIN subscriptions s ON s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL AND (
               (s.kind = 'cpv_division' AND s.cpv_division = left(p.cpv_code, 2))
            OR (s.kind = 'commune' AND s.commune_insee = p.place_commune))
        LEFT JOIN users u ON u.id = s.user_id
        WHERE p.id = ANY (:ids) AND (u.id IS NULL OR u.active)
        ORDER BY p.id, {_RECIPIENT}, s.id""", {"ids": list(purchase_ids), "digest_at": next_digest_time()})
    conn.execute(text("UPDATE planned_purchases SET alerted_at = now() WHERE id = ANY (:ids)"),
                 {"ids": list(purchase_ids)})
    return count
