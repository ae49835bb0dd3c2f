"""``/accessibilite``: the accessibility statement in the RGAA 4.1 model, and the footer's mention.

The conformity level follows the RGAA rule: "totalement conforme" when the last audit found every
applicable criterion met, "partiellement conforme" from 50 %, "non conforme" below 50 % or when no
audit has been made (automated tests alone are no audit). The operator fills in the audit and the
contact through settings (the accessibility variables of ``ova.settings.VARIABLES``).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template
from flask_babel import lazy_gettext as _l

from ova.settings import accessibility_rate

bp = Blueprint("accessibility", __name__)

#: Date this statement's text (non-conformities, derogations, tests) was last brought up to date.
STATEMENT_UPDATED = dt.date(2026, 12, 3)
#: Version of axe-core the browser tests run (scripts/vendor_assets.sh pins it).
AXE_CORE_VERSION = "4.14.1"

CONFORMITY_LABELS = {
    "total": _l("totalement conforme"),
    "partial": _l("partiellement conforme"),
    "none": _l("non conforme"),
}


def conformity(rate: float | None) -> str:
    """RGAA conformity level (``total``, ``partial``, ``none``) of an audit's rate of criteria met (0–100)."""
    if rate is None:
        return "none"
    if rate >= 100:
        return "total"
    return "partial" if rate >= 50 else "none"


def audit_rate() -> float | None:
    """Rate of RGAA criteria met at the last audit (setting ACCESSIBILITY_AUDIT_RATE), None without audit."""
    return accessibility_rate(current_app.config.get("ACCESSIBILITY_AUDIT_RATE"))


@bp.app_context_processor
def footer_mention() -> dict:
    """``accessibility_level``: the label of the conformity level, for the footer of every page."""
    return {"accessibility_level": CONFORMITY_LABELS[conformity(audit_rate())]}


@bp.route("/accessibilite")
def statement():
    """The accessibility statement: conformity, non-conformities, derogations, contact and recourse."""
    cfg = current_app.config
    rate = audit_rate()
    return render_template(
        "accessibility/statement.html", level=conformity(rate), rate=rate,
        entity=cfg.get("ACCESSIBILITY_ENTITY") or "", contact=cfg.get("ACCESSIBILITY_CONTACT") or "",
        audit_date=cfg.get("ACCESSIBILITY_AUDIT_DATE") or "", auditor=cfg.get("ACCESSIBILITY_AUDITOR") or "",
        updated=STATEMENT_UPDATED, axe_version=AXE_CORE_VERSION)
