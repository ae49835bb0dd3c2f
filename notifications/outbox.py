"""The outbox: every e-mail is a row written in the transaction of the event that causes it.

Writing a message is :func:`enqueue` (or :func:`enqueue_select` for many recipients at once, in
one INSERT … SELECT). Nothing is sent here: a rolled-back change leaves no row, hence no mail,
and a committed one leaves a row that :mod:`notifications.sender` delivers later, however long
the mail server is down. ``key`` is the message's idempotency key: queuing the same event twice
is a no-op (``ON CONFLICT DO NOTHING``) and the key travels in the ``X-OVA-Idempotency-Key``
header, so a receiver can drop the one duplicate a crash between "sent" and "marked" can cause.

States: ``pending`` (due at ``due_at``) → ``sending`` (claimed by one sender) → ``sent``;
on a temporary failure back to ``pending`` with a later ``due_at``; ``failed`` after too many
attempts or a permanent refusal; ``digested`` when bundled into a digest (``digest_id``);
``cancelled`` when its subscription ended before it left.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.engine import Connection

from notifications.render import Rendered, locale_of, render

#: Path of the one-click unsubscribe link of a message (its ``token``), on the portal.
UNSUBSCRIBE_PATH = "/abonnements/desabonner/{token}"
#: Messages listed per page at /admin/outbox.
PER_PAGE = 50

#: SQL expression of a fresh random token (244 random bits from gen_random_uuid, built in PG 13+).
TOKEN_SQL = "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')"


def enqueue(conn: Connection, recipient: str, template: str, context: Mapping, key: str, *,
            locale: str | None = None, subscription_id: int | None = None,
            due_at: dt.datetime | None = None) -> int | None:
    """Queue one message in the caller's transaction; return its id, or None if ``key`` is queued already.

    Parameters
    ----------
    conn : the connection of the transaction that makes the change (never a separate one).
    recipient : the e-mail address.
    template : a message template of ``notifications/templates/<locale>/`` (without ``.j2``).
    context : JSON-serialisable values for the template (no secrets beyond the recipient's own).
    key : idempotency key, unique per message (e.g. ``"report_accepted:123"``).
    locale : ``fr`` (default) or ``en``.
    subscription_id : the subscription the message belongs to: its unsubscribe link ends it.
    due_at : not sent before (default now).
    """
    return conn.scalar(text(
        "INSERT INTO outbox (key, token, recipient, locale, template, context, subscription_id, due_at) "
        "VALUES (:key, :token, :recipient, :locale, :template, CAST(:context AS jsonb), :sub, coalesce(:due, now())) "
        "ON CONFLICT (key) DO NOTHING RETURNING id"),
        {"key": key[:200], "token": secrets.token_hex(32), "recipient": recipient.strip().lower(),
         "locale": locale_of(locale), "template": template, "context": json.dumps(context, default=str),
         "sub": subscription_id, "due": due_at})


def enqueue_select(conn: Connection, select_sql: str, params: Mapping) -> int:
    """Queue one message per row of ``select_sql``, in the caller's transaction; return how many.

    ``select_sql`` must return the columns ``key, recipient, locale, template, context (jsonb),
    subscription_id, due_at``; rows whose key is already queued are skipped.
    """
    result = conn.execute(text(
        "INSERT INTO outbox (key, token, recipient, locale, template, context, subscription_id, due_at) "
        f"SELECT left(m.key, 200), {TOKEN_SQL}, lower(m.recipient), m.locale, m.template, m.context, "
        f"m.subscription_id, m.due_at FROM ({select_sql}) m "
        "ON CONFLICT (key) DO NOTHING"), dict(params))
    return result.rowcount


def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` of a message: derived from its key, so a resent copy has the same one."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def unsubscribe_url(base_url: str, token: str) -> str:
    """The one-click unsubscribe link of a message."""
    return base_url.rstrip("/") + UNSUBSCRIBE_PATH.format(token=token)


def _members(conn: Connection, digest_id: int) -> list:
    return conn.execute(text(
        "SELECT id, template, locale, context, token, subscription_id FROM outbox WHERE digest_id = :d "
        "ORDER BY created_at, id"), {"d": digest_id}).mappings().all()


def render_message(conn: Connection, message: Mapping, *, base_url: str) -> Rendered:
    """Render an outbox row (a mapping with template, locale, context, token, id): a digest renders
    its members, each with its own unsubscribe link."""
    context = dict(message["context"] or {})
    if message["template"] == "digest":
        items = []
        for member in _members(conn, message["id"]):
            part = render(member["template"], message["locale"], member["context"] or {}, base_url=base_url,
                          unsubscribe_url=None, wrap=False)
            items.append({"subject": part.subject, "text": part.text, "html": _markup(part.html),
                          "unsubscribe_url": unsubscribe_url(base_url, member["token"])
                          if member["subscription_id"] else None})
        context["items"] = items
    return render(message["template"], message["locale"], context, base_url=base_url,
                  unsubscribe_url=unsubscribe_url(base_url, message["token"]))


def _markup(html: str):
    from markupsafe import Markup

    # Rendered by our autoescaping environment: already escaped.
    return Markup(html)


# --- digests and the per-recipient rate limit ------------------------------------------------

_DUE_BY_RECIPIENT = """
    SELECT o.recipient, array_agg(o.id ORDER BY o.created_at, o.id) AS ids,
           (SELECT count(*) FROM outbox s WHERE s.recipient = o.recipient AND s.status = 'sent'
              AND s.sent_at > now() - make_interval(secs => :window)) AS sent_recently,
           (SELECT min(s.sent_at) FROM outbox s WHERE s.recipient = o.recipient AND s.status = 'sent'
              AND s.sent_at > now() - make_interval(secs => :window)) AS oldest_recent
    FROM outbox o
    WHERE o.status = 'pending' AND o.due_at <= now() AND o.template <> 'digest'
    GROUP BY o.recipient
    HAVING count(*) > 1 OR (SELECT count(*) FROM outbox s WHERE s.recipient = o.recipient
              AND s.status = 'sent' AND s.sent_at > now() - make_interval(secs => :window)) >= :limit
"""


def bundle_digests(conn: Connection, *, max_per_window: int, window: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Bundle each recipient's due messages into one digest, and hold back those over the limit.

    A recipient with several messages due gets one digest instead; a recipient who already got
    ``max_per_window`` messages within ``window`` gets nothing more until the window frees (then
    one digest of everything that waited). Rows another sender holds are skipped. Returns the
    number of digests created.
    """
    created = 0
    seconds = window.total_seconds()
    for row in conn.execute(text(_DUE_BY_RECIPIENT), {"window": seconds, "limit": max_per_window}).mappings().all():
        if max_per_window > 0 and row["sent_recently"] >= max_per_window:
            # Over the limit: wait until the oldest message of the window is a window old.
            conn.execute(text(
                "UPDATE outbox SET due_at = :until WHERE id = ANY (:ids) AND status = 'pending'"),
                {"until": row["oldest_recent"] + window, "ids": row["ids"]})
            continue
        members = conn.execute(text(
            "SELECT id, key, locale FROM outbox WHERE id = ANY (:ids) AND status = 'pending' "
            "ORDER BY created_at, id FOR UPDATE SKIP LOCKED"), {"ids": row["ids"]}).mappings().all()
        if len(members) < 2:
            continue
        key = "digest:" + hashlib.sha256(",".join(m["key"] for m in members).encode()).hexdigest()[:40]
        digest_id = enqueue(conn, row["recipient"], "digest", {"count": len(members)}, key,
                            locale=members[0]["locale"])
        if digest_id is None:  # the same set was bundled already (cannot happen twice: members are pending)
            continue
        conn.execute(text(
            "UPDATE outbox SET status = 'digested', digest_id = :d WHERE id = ANY (:ids)"),
            {"d": digest_id, "ids": [m["id"] for m in members]})
        created += 1
    return created


def cancel_unsubscribed(conn: Connection) -> int:
    """Cancel the pending messages whose subscription has ended (or was never confirmed)."""
    return conn.execute(text(
        "UPDATE outbox o SET status = 'cancelled' FROM subscriptions s "
        "WHERE o.subscription_id = s.id AND o.status = 'pending' "
        "AND (s.unsubscribed_at IS NOT NULL OR (s.confirmed_at IS NULL AND o.template <> 'subscription_confirm'))"
    )).rowcount


# --- reading (admin) -------------------------------------------------------------------------

def list_messages(conn: Connection, *, status: str | None = None, page: int = 1) -> tuple[list[dict], int, dict]:
    """Messages newest first (``PER_PAGE`` a page), the total, and the count per status."""
    where = "WHERE status = :status" if status else ""
    rows = conn.execute(text(
        "SELECT id, key, recipient, locale, template, status, attempts, created_at, due_at, sent_at, "
        f"last_error, digest_id FROM outbox {where} ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        {"status": status, "limit": PER_PAGE, "offset": (page - 1) * PER_PAGE}).mappings().all()
    total = conn.scalar(text(f"SELECT count(*) FROM outbox {where}"), {"status": status})
    counts = dict(conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all())
    return [dict(r) for r in rows], total, counts


def get_message(conn: Connection, message_id_: int) -> dict | None:
    """One outbox row with everything needed to render it."""
    row = conn.execute(text("SELECT * FROM outbox WHERE id = :id"), {"id": message_id_}).mappings().first()
    return dict(row) if row else None


def retry_failed(conn: Connection, message_id_: int) -> bool:
    """Put a failed message back in the queue (an admin fixed the cause); True when it was failed."""
    return bool(conn.execute(text(
        "UPDATE outbox SET status = 'pending', due_at = now(), attempts = 0, last_error = NULL "
        "WHERE id = :id AND status = 'failed'"), {"id": message_id_}).rowcount)
