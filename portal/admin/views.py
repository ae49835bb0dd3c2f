"""Administration: the audit log of changes to norms, zones, incidents, layers and users."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ova import audit
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
