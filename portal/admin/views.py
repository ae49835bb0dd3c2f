"""Administration: the audit log of changes to norms, zones, incidents, layers and users; the e-mail outbox."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from notifications import outbox
from ova import audit
from ova.models import OUTBOX_STATUSES
from ova.settings import env, public_url
from portal.notifications.forms import ConfirmForm
from portal.auth.services import roles_required
from portal.database import get_session

bp = Blueprint("admin", __name__)


@bp.route("/audit")
@roles_required("admin")
def audit_log():
    """The audit log, newest first, 50 entries a page, optionally for one table."""
    table = request.args.get("table") or None
    if table is not None and table not in audit.AUDITED_TABLES:
        abort(400)
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        abort(400)
    page = int(raw)
    entries, total = audit.list_entries(get_session(), table=table, page=page)
    pages = max(1, -(-total // audit.PER_PAGE))
    return render_template("admin/audit.html", entries=entries, total=total, page=page, pages=pages,
                           table=table, tables=audit.AUDITED_TABLES, show=audit.display)


@bp.route("/outbox")
@roles_required("admin")
def outbox_list():
    """The e-mail outbox: every message with its state (the demo's mailbox when no SMTP is set)."""
    status = request.args.get("status") or None
    if status is not None and status not in OUTBOX_STATUSES:
        abort(400)
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        abort(400)
    page = int(raw)
    messages, total, counts = outbox.list_messages(get_session().connection(), status=status, page=page)
    pages = max(1, -(-total // outbox.PER_PAGE))
    return render_template("admin/outbox.html", messages=messages, total=total, counts=counts, page=page,
                           pages=pages, status=status, statuses=OUTBOX_STATUSES,
                           smtp_configured=bool(env("OVA_SMTP_URL")), form=ConfirmForm())


@bp.route("/outbox/<int:message_id>")
@roles_required("admin")
def outbox_message(message_id: int):
    """One message as its recipient gets it: subject, text and HTML (in a sandboxed frame)."""
    conn = get_session().connection()
    message = outbox.get_message(conn, message_id)
    if message is None:
        abort(404)
    rendered = outbox.render_message(conn, message, base_url=public_url())
    return render_template("admin/outbox_message.html", message=message, rendered=rendered, form=ConfirmForm())


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@roles_required("admin")
def outbox_retry(message_id: int):
    """Put a failed message back in the queue."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = get_session()
    if outbox.retry_failed(session.connection(), message_id):
        session.commit()
        flash(_("Message remis dans la file d'envoi."), "success")
    return redirect(url_for("admin.outbox_message", message_id=message_id))
