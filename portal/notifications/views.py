"""Subscription pages, the account page, Atom feeds: thin adapters over :mod:`notifications`.

- ``/abonnements/``: subscribe an address (double opt-in) or, logged in, the account;
- ``/abonnements/confirmer/<token>``: the confirmation link;
- ``/abonnements/desabonner/<token>``: the one-click unsubscribe link of every message (GET
  unsubscribes at once and offers to undo; POST is RFC 8058's ``List-Unsubscribe-Post``);
- ``/abonnements/flux.atom?quartier=…|zone=…|category=…|area=<GeoJSON>``: the same selections as feeds;
- ``/compte``: a logged-in user's subscriptions and the messages of their role.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import text
from wtforms.fields.choices import SelectChoice

from notifications import feeds, subscriptions
from ova import ratelimit
from ova.errors import InvalidInput, NotFound, OvaError
from portal import csrf
from portal.database import get_session
from portal.notifications.forms import ConfirmForm, PreferenceForm, SubscribeForm

bp = Blueprint("notifications", __name__)

#: Subscription requests per client address per hour (each may send one confirmation message).
SUBSCRIBE_PER_HOUR = 20


def _locale() -> str:
    return str(get_locale())


def _choices(conn):
    locale = _locale()
    quartiers = conn.execute(text("SELECT code, name FROM quartiers ORDER BY name")).all()
    zones = conn.execute(text(
        "SELECT DISTINCT ON (code) code, name FROM priority_zones WHERE status = 'approved' "
        "ORDER BY code, valid_from DESC")).all()
    categories = conn.execute(text(
        f"SELECT code, label_{'en' if locale == 'en' else 'fr'} FROM incident_categories ORDER BY 2")).all()
    empty = SelectChoice("", _("— Choisir —"))
    return ([empty] + [SelectChoice(c, n) for c, n in quartiers], [empty] + [SelectChoice(c, n) for c, n in zones],
            [empty] + [SelectChoice(c, n) for c, n in categories])


def _feed_url(query: dict | None) -> str | None:
    return url_for("notifications.feed") + "?" + urlencode(query) if query else None


@bp.route("/abonnements/", methods=["GET", "POST"])
def subscribe():
    """Subscribe to a quartier, a priority zone, a category or an area drawn on the map."""
    session = get_session()
    conn = session.connection()
    form = SubscribeForm()
    form.quartier.choices, form.zone.choices, form.category.choices = _choices(conn)
    if request.method == "GET":
        form.locale.data = _locale()
        for kind in subscriptions.PUBLIC_KINDS:
            if request.args.get(kind) and kind != "area":
                form.kind.data = kind
                getattr(form, kind).data = request.args[kind]
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            value = form.geometry.data if form.kind.data == "area" else getattr(form, form.kind.data).data
            selection = subscriptions.Selection(form.kind.data, value or "")
            try:
                if current_user.is_authenticated:
                    subscription = subscriptions.subscribe(conn, selection, user_id=current_user.id,
                                                           locale=form.locale.data, frequency=form.frequency.data)
                else:
                    key = ratelimit.client_hash(current_app.config["SECRET_KEY"], request.remote_addr)
                    if key:
                        hits, retry = ratelimit.count_hit(conn, "subscribe", key, dt.timedelta(hours=1))
                        if hits > SUBSCRIBE_PER_HOUR:
                            raise ratelimit.RateLimited(_("trop de demandes d'abonnement depuis cette connexion ; "
                                                          "réessayez plus tard"), retry_after=retry)
                    subscription = subscriptions.subscribe(conn, selection, email=form.email.data,
                                                           locale=form.locale.data, frequency=form.frequency.data)
            except OvaError as err:
                session.rollback()
                flash(_("Abonnement refusé : %(reason)s", reason=err.message), "danger")
                status = err.status
            else:
                label = subscriptions.describe(conn, subscription, _locale())
                session.commit()
                return render_template("notifications/subscribed.html", label=label,
                                       confirmed=subscription["confirmed_at"] is not None), 201
    return render_template("notifications/subscribe.html", form=form), status


@bp.route("/abonnements/confirmer/<token>")
def confirm(token: str):
    """The confirmation link of a subscription (double opt-in)."""
    session = get_session()
    conn = session.connection()
    subscription = subscriptions.confirm(conn, token)
    label = subscriptions.describe(conn, subscription, _locale())
    session.commit()
    return render_template("notifications/confirmed.html", label=label)


@bp.route("/abonnements/desabonner/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click POSTs carry no CSRF token: the secret token is the proof
def unsubscribe(token: str):
    """End the subscriptions a message came from, in one click (GET from the link, POST from the mail client)."""
    session = get_session()
    conn = session.connection()
    ended = subscriptions.unsubscribe_by_message(conn, token)
    labels = [subscriptions.describe(conn, s, _locale()) for s in ended]
    session.commit()
    if request.method == "POST":
        return Response(_("Désabonnement enregistré.") + "\n", mimetype="text/plain")
    return render_template("notifications/unsubscribed.html", labels=labels, token=token, form=ConfirmForm())


@bp.route("/abonnements/desabonner/<token>/annuler", methods=["POST"])
def resubscribe(token: str):
    """Undo an unsubscription made by mistake."""
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    if not subscriptions.resubscribe(session.connection(), token):
        raise NotFound(_("ce lien de désabonnement n'est pas valable"))
    session.commit()
    flash(_("Abonnement rétabli."), "success")
    return redirect(url_for("notifications.subscribe"))


@bp.route("/abonnements/flux.atom")
def feed():
    """Atom feed of the newest reports of a selection (no personal data, no free text)."""
    conn = get_session().connection()
    selection = feeds.selection_from_args(request.args)
    title = feeds.selection_title(conn, selection, _locale())
    entries = feeds.recent_reports(conn, selection)
    updated = max((e["updated_at"] for e in entries), default=dt.datetime.now(dt.timezone.utc))
    body = render_template("notifications/feed.atom", title=title, entries=entries, updated=updated,
                           self_url=request.url)
    return Response(body, mimetype="application/atom+xml")


@bp.route("/compte", methods=["GET", "POST"])
@login_required
def account():
    """The logged-in user's subscriptions, and the messages of their role (queue, publication)."""
    session = get_session()
    conn = session.connection()
    subscriptions.ensure_role_subscriptions(conn)
    role_kind = {"agent": "queue", "urbaniste": "publication", "admin": "publication"}.get(current_user.role)
    preference = PreferenceForm(prefix="pref")
    if request.method == "POST" and role_kind:
        if not preference.validate_on_submit():
            raise InvalidInput(_("Formulaire incomplet ou expiré."))
        frequency = None if preference.frequency.data == "off" else preference.frequency.data
        subscriptions.set_preference(conn, current_user.id, role_kind, frequency=frequency,
                                     producer_id=current_user.producer_id if role_kind == "queue" else None,
                                     locale=preference.locale.data)
        session.commit()
        flash(_("Préférence enregistrée."), "success")
        return redirect(url_for("notifications.account"))
    session.commit()  # the role subscriptions just ensured
    rows = subscriptions.for_user(conn, current_user.id, _locale())
    role_row = conn.execute(text(
        "SELECT frequency, locale, unsubscribed_at FROM subscriptions WHERE user_id = :u AND kind = :k "
        "ORDER BY id LIMIT 1"), {"u": current_user.id, "k": role_kind}).mappings().first() if role_kind else None
    if role_row:
        preference.frequency.data = "off" if role_row["unsubscribed_at"] else role_row["frequency"]
        preference.locale.data = role_row["locale"]
    for row in rows:
        path = subscriptions.purchase_feed_path(row)
        row["feed_url"] = _feed_url(row["feed_query"]) or (url_for("home.index").rstrip("/") + path if path else None)
    return render_template("notifications/account.html", rows=[r for r in rows if r["kind"] not in ("queue", "publication")],
                           role_kind=role_kind, preference=preference, end_form=ConfirmForm())


@bp.route("/compte/abonnements/<int:subscription_id>/fin", methods=["POST"])
@login_required
def end(subscription_id: int):
    """End one of the logged-in user's subscriptions."""
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    subscriptions.end_for_user(session.connection(), subscription_id, current_user.id)
    session.commit()
    flash(_("Abonnement arrêté."), "success")
    return redirect(url_for("notifications.account"))
