"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from portal.auth.forms import LoginForm
from portal.auth.services import PortalUser, authenticate, login_manager
from portal.database import get_session
from ova.models import User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> PortalUser | None:
    user = get_session().get(User, int(user_id))
    if user is None or not user.active:
        return None
    return PortalUser.from_model(user)


def _safe_next(target: str | None) -> str:
    """Only follow local redirects (no open redirect through ?next=)."""
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(get_session(), form.email.data, form.password.data)
        if user is not None:
            login_user(PortalUser.from_model(user))
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Adresse ou mot de passe incorrect."), "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("home.index"))
