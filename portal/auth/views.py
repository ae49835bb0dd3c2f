"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from portal.auth.forms import LoginForm
from portal.auth.services import (LoginLimits, PortalUser, account_key, authenticate, check_login_allowed,
                                   clear_login_failures, login_manager, record_login_failure)
from portal.database import get_session
from ova.models import User
from ova.errors import RateLimited
from ova.ratelimit import client_hash

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


def _limits() -> LoginLimits:
    cfg = current_app.config
    return LoginLimits(per_account=cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
                       per_client=cfg["LOGIN_MAX_FAILURES_PER_CLIENT"],
                       window=dt.timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"]))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        secret = current_app.config["SECRET_KEY"]
        account = account_key(secret, form.email.data)
        client = client_hash(secret, request.remote_addr)
        limits = _limits()
        try:
            check_login_allowed(session, account, client, limits)
        except RateLimited as err:
            flash(_("Trop de tentatives de connexion échouées. Réessayez dans %(minutes)d minutes.",
                    minutes=err.retry_after // 60), "danger")
            return render_template("auth/login.html", form=form), err.status, err.headers
        user = authenticate(session, form.email.data, form.password.data)
        if user is not None:
            clear_login_failures(session, account)
            session.commit()
            login_user(PortalUser.from_model(user))
            return redirect(_safe_next(request.args.get("next")))
        record_login_failure(session, account, client, limits)
        session.commit()
        flash(_("Adresse ou mot de passe incorrect."), "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("home.index"))
