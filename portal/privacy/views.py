"""``/confidentialite``: the privacy notice (what is kept, why, how long, who to ask)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from incidents.privacy import DEFAULT_RETENTION_MONTHS

bp = Blueprint("privacy", __name__)


@bp.route("/confidentialite")
def notice():
    """The privacy notice of the portal (GDPR articles 13 and 14)."""
    cfg = current_app.config
    return render_template("privacy/notice.html",
                           months=int(cfg.get("RETENTION_MONTHS") or DEFAULT_RETENTION_MONTHS),
                           contact=cfg.get("PRIVACY_CONTACT") or "",
                           entity=cfg.get("ACCESSIBILITY_ENTITY") or "")
