"""Who sees what on the indicator and procurement pages (the rule itself is in indicators.suppression)."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user

from indicators.suppression import DEFAULT_THRESHOLD, can_see_detail, check_threshold
from ova.errors import Forbidden


def threshold() -> int:
    """The suppression threshold of public outputs (setting INDICATORS_SUPPRESSION_THRESHOLD, default 5)."""
    return check_threshold(current_app.config.get("INDICATORS_SUPPRESSION_THRESHOLD", DEFAULT_THRESHOLD))


def sees_detail() -> bool:
    """True when the logged-in user's role sees unsuppressed figures and the per-zone view."""
    return bool(current_user.is_authenticated) and can_see_detail(current_user.role)


def check_level(level: str) -> None:
    """Refuse the per-zone level to users who may not see it."""
    if level == "zone" and not sees_detail():
        raise Forbidden("La vue par zone prioritaire est réservée aux banques et aux administrateurs.")
