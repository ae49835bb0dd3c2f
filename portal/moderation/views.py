"""``/moderation``: the moderation queue of a service's agents (and admins), one text's decision, photos.

Views only adapt :mod:`incidents.moderation` (which holds every rule: who may moderate, what is
published, the audit) to HTTP.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from incidents import moderation, queries
from ova import pii
from ova.errors import InvalidInput, OvaError
from portal.auth.services import roles_required
from portal.database import get_session
from portal.fields import bounded_int
from portal.moderation.forms import AddressForm, AutoPublicationForm, BlurForm, DecisionForm, PhotoForm

#: Prefixes of the address and photo forms, shown on the same page as the text's decision form:
#: their fields (action, reason, text) get ids of their own.
ADDRESS, PHOTO = "address", "photo"

bp = Blueprint("moderation", __name__)

DECISION_LABELS = {"pending": _l("en attente"), "approved": _l("approuvé"), "edited": _l("corrigé"),
                   "hidden": _l("masqué"), "auto": _l("publié automatiquement")}
#: The kinds of personal data, as the moderator reads them (highlights and the list of findings).
PII_LABELS = {pii.PERSON: _l("nom"), pii.PHONE: _l("téléphone"), pii.EMAIL: _l("e-mail"),
              pii.PLATE: _l("plaque d'immatriculation"), pii.IBAN: _l("IBAN"), pii.NIR: _l("n° de sécurité sociale"),
              pii.HOUSE_NUMBER: _l("numéro de domicile")}
FIELD_LABELS = {"description": _l("description"), "confirmation_comment": _l("commentaire du signalant"),
                "photo": _l("photo")}


def _producer() -> int | None:
    """Agents moderate their service's reports; admins may pick one with ?producer=<id> (all by default)."""
    if current_user.role == "admin":
        return request.args.get("producer", type=bounded_int)
    return current_user.producer_id


@bp.route("/")
@roles_required("agent", "admin")
def queue():
    """The texts and photos waiting for moderation, oldest first; the automatic-publication setting."""
    session = get_session()
    producer_id = _producer()
    rows = moderation.queue(session, producer_id)
    auto = moderation.auto_categories(session, producer_id) if producer_id else set()
    return render_template("moderation/queue.html", rows=rows, field_labels=FIELD_LABELS,
                           producer=queries.producer_name(session, producer_id), producer_id=producer_id,
                           categories=queries.categories(session), auto=auto, form=AutoPublicationForm())


@bp.route("/auto", methods=["POST"])
@roles_required("agent", "admin")
def auto_publication():
    """Save the categories published at once when the automatic check finds nothing."""
    form = AutoPublicationForm()
    producer_id = request.form.get("producer", type=bounded_int) if current_user.role == "admin" \
        else current_user.producer_id
    if not form.validate_on_submit() or producer_id is None:
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    try:
        moderation.set_auto_categories(session, producer_id, set(request.form.getlist("categories")),
                                       actor=current_user)
    except OvaError:
        session.rollback()
        raise
    session.commit()
    flash(_("Publication automatique enregistrée."), "success")
    return redirect(url_for("moderation.queue", producer=producer_id if current_user.role == "admin" else None))


@bp.route("/<int:incident_id>/<field>", methods=["GET", "POST"])
@roles_required("agent", "admin")
def item(incident_id: int, field: str):
    """One text: the original with what was found highlighted, the masked proposal, the decision."""
    session = get_session()
    if field == "photo":
        field = "description"
    data = moderation.item(session, incident_id, field, actor=current_user)
    form = DecisionForm(text=data["public_text"] or data["masked"])
    if request.method == "POST":
        if not form.validate_on_submit():
            raise InvalidInput(_("Formulaire incomplet ou expiré."))
        try:
            moderation.decide(session, incident_id, field, form.action.data, actor=current_user,
                              text=form.text.data, reason=form.reason.data)
        except OvaError as err:
            session.rollback()
            flash(err.message, "danger")
            return render_template("moderation/item.html", item=data, form=form, photo_form=PhotoForm(prefix=PHOTO),
                                   blur_form=BlurForm(), address_form=_address_form(data), labels=PII_LABELS,
                                   decision_labels=DECISION_LABELS,
                                   field_labels=FIELD_LABELS), err.status
        session.commit()
        flash(_("Décision enregistrée."), "success")
        return redirect(url_for("moderation.queue"))
    session.commit()  # a text loaded by the ETL was checked on this first view
    return render_template("moderation/item.html", item=data, form=form, photo_form=PhotoForm(prefix=PHOTO),
                           blur_form=BlurForm(),
                           address_form=_address_form(data), labels=PII_LABELS, decision_labels=DECISION_LABELS,
                           field_labels=FIELD_LABELS)


def _address_form(data: dict) -> AddressForm:
    return AddressForm(prefix=ADDRESS, text=data["public_address"] or data["address"])


@bp.route("/<int:incident_id>/address", methods=["POST"])
@roles_required("agent", "admin")
def address_decision(incident_id: int):
    """Publish the typed address as it is, an edited one, or go back to the automatic rule."""
    form = AddressForm(prefix=ADDRESS)
    if not form.validate_on_submit():
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    try:
        moderation.decide_address(session, incident_id, form.action.data, actor=current_user, text=form.text.data,
                                  reason=form.reason.data)
    except OvaError as err:
        session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("moderation.item", incident_id=incident_id, field="description"))
    session.commit()
    flash(_("Décision enregistrée."), "success")
    return redirect(url_for("moderation.item", incident_id=incident_id, field="description"))


@bp.route("/<int:incident_id>/photo/decision", methods=["POST"])
@roles_required("agent", "admin")
def photo_decision(incident_id: int):
    """Publish or hide a report's photo."""
    form = PhotoForm(prefix=PHOTO)
    if not form.validate_on_submit():
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    try:
        moderation.decide_photo(session, incident_id, form.action.data == "publish", actor=current_user,
                                reason=form.reason.data)
    except OvaError:
        session.rollback()
        raise
    session.commit()
    flash(_("Décision enregistrée."), "success")
    return redirect(url_for("moderation.item", incident_id=incident_id, field="description"))


@bp.route("/<int:incident_id>/photo/blur", methods=["POST"])
@roles_required("agent", "admin")
def photo_blur(incident_id: int):
    """Blur a rectangle of the photo on the server (the original is kept for the service)."""
    form = BlurForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    box = tuple(float(v) / 100 for v in (form.left.data, form.top.data, form.width.data, form.height.data))
    try:
        moderation.blur_photo(session, incident_id, box, actor=current_user,
                              photo_dir=Path(current_app.config["PHOTO_DIR"]))
    except OvaError:
        session.rollback()
        raise
    session.commit()
    flash(_("Zone floutée."), "success")
    return redirect(url_for("moderation.item", incident_id=incident_id, field="description"))


@bp.route("/<int:incident_id>/photo/original")
@roles_required("agent", "admin")
def photo_original(incident_id: int):
    """The photo as received (before blurring, not public): for the responsible service only."""
    from flask import send_from_directory

    from ova.models import Incident, IncidentReport

    session = get_session()
    incident, report = session.get(Incident, incident_id), session.get(IncidentReport, incident_id)
    if incident is None or report is None or not report.photo_path:
        abort(404)
    if not moderation.can_moderate(current_user, incident.producer_id):
        abort(403)
    path = report.photo_original_path or report.photo_path
    response = send_from_directory(current_app.config["PHOTO_DIR"], path, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
