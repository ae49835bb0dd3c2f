"""Incident pages: the report form, the public page with its history, the agent work queue.

Views only adapt the :mod:`incidents` domain package (which holds every rule) to HTTP.
Rate limiting: reports per client IP are counted in the database (``incident_reports``, keyed
hash of the address) over the last hour, so the limit holds across worker processes; set
``OVA_REPORTS_PER_HOUR`` (0 disables it). Behind a reverse proxy, set ``OVA_TRUSTED_PROXIES``
so that ``request.remote_addr`` is the client's address (see :mod:`portal.security`).
"""
from __future__ import annotations

from pathlib import Path

import folium
from branca.element import MacroElement
from jinja2 import Template
from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template,
                   request, send_from_directory, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from addresses import search as geocoder
from incidents import moderation, queries, reports, workflow
from layers.quartiers import commune_extent, main_commune
from ova import ratelimit, settings
from ova.errors import InvalidInput, OvaError
from ova.models import OPEN_STATUSES, Incident, IncidentReport
from portal.auth.services import roles_required
from portal.database import get_session
from portal.fields import bounded_int
from portal.incidents.forms import AnswerForm, BulkAcknowledgeForm, HoldForm, ReportForm, StatusForm
from portal.maps import RemoteGeoJson, make_map, points_bounds, render_parts
from portal.urls import external_url

bp = Blueprint("incidents", __name__)

STATUS_LABELS = {
    "new": _l("Nouveau"),
    "acknowledged": _l("Pris en compte"),
    "in_progress": _l("En cours de traitement"),
    "resolved": _l("Résolu"),
    "rejected": _l("Rejeté"),
}
ACTION_LABELS = {
    "acknowledged": _l("Prendre en compte"),
    "in_progress": _l("Commencer le traitement"),
    "resolved": _l("Marquer comme résolu"),
    "rejected": _l("Rejeter (motif obligatoire)"),
}
REOPEN_LABEL = _l("Rouvrir (motif obligatoire)")


@bp.record_once
def _defaults(state) -> None:
    """Settings of this blueprint, read once when the app is built (env → app config)."""
    app = state.app
    app.config.setdefault("PHOTO_DIR", settings.env("OVA_PHOTO_DIR") or str(Path(app.instance_path) / "photos"))


@bp.app_context_processor
def _labels():
    return {"status_labels": STATUS_LABELS}


def _static(path: str) -> str:
    return url_for("static", filename=path)


def _new_map(session, height="60vh", bounds=None):
    """A map framed on ``bounds``, else on one commune (``?commune=``, else the configured territory)."""
    if not bounds:
        commune = main_commune(session, request.args.get("commune"), current_app.config.get("TERRITORY_NAME"))
        bounds = commune_extent(session, commune)
    return make_map(_static, basemap_url=current_app.config["BASEMAP_URL"],
                    basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"],
                    bounds=bounds, height=height)


def _label(category) -> str:
    return category.label_en if str(get_locale()) == "en" else category.label_fr


class _PickPoint(MacroElement):
    """Click on the map to set the form's hidden lat/lon fields (see ova-incidents.js)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "OVAIncidents.pickPoint({{ this._parent.get_name() }}, {{ this.options|tojson }});"
        "{% endmacro %}")

    def __init__(self, options: dict):
        super().__init__()
        self._name = "PickPoint"
        self.options = options


@bp.route("/new", methods=["GET", "POST"])
def new():
    """The report form (anonymous citizens or logged-in users)."""
    session = get_session()
    cats = queries.categories(session)
    form = ReportForm()
    form.category.choices = [SelectChoice("", _("— Choisir —"))] + [SelectChoice(c.code, _label(c)) for c in cats]
    status, headers = 200, {}
    if request.method == "POST":
        if form.validate_on_submit():
            upload = form.photo.data
            photo = upload.read() if upload else None
            key = ratelimit.client_hash(current_app.config["SECRET_KEY"], request.remote_addr)
            lat, lon, address = _place(session, form.lat.data, form.lon.data, form.address.data)
            try:
                created = reports.create_report(session, reports.NewReport(
                    category=form.category.data, lat=lat, lon=lon,
                    description=form.description.data, address=address, email=form.email.data,
                    photo=photo or None, client_key=key,
                    reporter_id=current_user.id if current_user.is_authenticated else None,
                    locale=str(get_locale()),
                ), photo_dir=Path(current_app.config["PHOTO_DIR"]),
                    rate_limit=current_app.config["REPORTS_PER_HOUR"])
            except OvaError as err:
                session.rollback()
                if not form.has_point() and err.status == 400:
                    # The typed address could not be located: say so on the address field.
                    form.address.errors = [*form.address.errors, err.message]
                else:
                    flash(_("Signalement refusé : %(reason)s", reason=err.message), "danger")
                status = err.status
                headers.update(err.headers)
            else:
                session.commit()
                follow_up = external_url("incidents.follow_up", incident_id=created.incident.id,
                                         token=created.token)
                return render_template("incidents/created.html", incident=created.incident,
                                       follow_up=follow_up), 201
        else:
            status = 400
    m = _new_map(session)
    _PickPoint({"quartiersUrl": url_for("home.quartiers_feed"),
                "duplicatesUrl": url_for("incidents.duplicates"),
                "placesUrl": url_for("incidents.places"),
                "searchUrl": url_for("adresse.search"),
                "reverseUrl": url_for("adresse.reverse"),
                "incidentUrl": url_for("incidents.detail", incident_id=0).replace("/0", "/__ID__"),
                "labels": {"distance": _("à %(n)s m", n="__N__"),
                           "noPlace": _("Aucun lieu connu : cliquez sur la carte."),
                           "nearest": _("adresse la plus proche : %(label)s (à %(n)s m)", label="__LABEL__", n="__N__"),
                           "noAddress": _("aucune adresse connue à moins de %(n)s m", n=int(geocoder.NEAREST_MAX_M)),
                           "found": _("%(n)s proposition(s)", n="__N__")},
                "nearestMaxM": geocoder.NEAREST_MAX_M}).add_to(m)
    return render_template("incidents/new.html", form=form, map=render_parts(m, _static)), status, headers


def _blank(value) -> bool:
    return value is None or str(value).strip() == ""


def _place(session, lat, lon, address):
    """The point and address of a report: a typed address alone is enough (geocoded to its house
    number, for keyboard and screen-reader users), and a point alone gets its nearest address."""
    if _blank(lat) and _blank(lon) and not _blank(address):
        found = geocoder.locate(session.connection(), address)
        if found:
            lon, lat = found["geometry"]["coordinates"]
    elif not _blank(lat) and not _blank(lon) and _blank(address):
        try:
            nearest = geocoder.nearest(session.connection(), float(lon), float(lat))
        except (ValueError, OvaError):
            nearest = None  # the point itself is checked (and refused) by create_report
        if nearest:
            address = nearest["properties"]["label"]
    return lat, lon, address


@bp.route("/duplicates.json")
def duplicates():
    """Open incidents of the same category within 50 m of a point (JSON), shown before submitting."""
    category = request.args.get("category", "")
    found = queries.find_duplicates(get_session(), category, request.args.get("lat"), request.args.get("lon"))
    for d in found:
        d["status_label"] = str(STATUS_LABELS[d["status"]])
        d["url"] = url_for("incidents.detail", incident_id=d["id"])
    return jsonify(duplicates=found, radius_m=queries.DUPLICATE_RADIUS_M)


@bp.route("/places.json")
def places():
    """Places matching typed address text (known addresses, quartiers), to set the point."""
    return jsonify(places=reports.find_places(get_session(), request.args.get("q")))


@bp.route("/<int:incident_id>")
def detail(incident_id: int):
    """Public page of an incident: status history, deadline, responsible service; no personal data."""
    session = get_session()
    incident = queries.incident_detail(session, incident_id)
    model = session.get(Incident, incident_id)
    actor = current_user if current_user.is_authenticated else None
    actions = [(a, REOPEN_LABEL if model.status == "resolved" else ACTION_LABELS[a])
               for a in workflow.allowed_transitions(actor, model)]
    # The reporter's email is shown to the responsible service only, never on the public page.
    contact = workflow.reporter_contact(session, model) if workflow.can_handle(actor, model) else None
    lat, lon = incident["lat"], incident["lon"]
    m = _new_map(session, height="300px", bounds=[[lat - 0.002, lon - 0.003], [lat + 0.002, lon + 0.003]])
    folium.CircleMarker([lat, lon], radius=9, color="#c00", fill=True,
                        fill_opacity=0.7).add_to(m)
    can_hold = bool(actions) and model.status in OPEN_STATUSES
    return render_template("incidents/detail.html", incident=incident, actions=actions, contact=contact,
                           can_moderate=moderation.can_moderate(actor, model.producer_id),
                           form=StatusForm(), hold_form=HoldForm() if can_hold else None,
                           map=render_parts(m, _static))


@bp.route("/<int:incident_id>/photo")
def photo(incident_id: int):
    """The re-encoded photo of a report (no metadata): public once a moderator published it.

    Before that (or when hidden) only the responsible service sees it, never cached.
    """
    session = get_session()
    detail_row = queries.incident_detail(session, incident_id)
    if detail_row["photo_path"]:
        return send_from_directory(current_app.config["PHOTO_DIR"], detail_row["photo_path"], max_age=3600)
    model = session.get(Incident, incident_id)
    report = session.get(IncidentReport, incident_id)
    if report is None or not report.photo_path or not moderation.can_moderate(
            current_user if current_user.is_authenticated else None, model.producer_id):
        abort(404)
    response = send_from_directory(current_app.config["PHOTO_DIR"], report.photo_path, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:incident_id>/status", methods=["POST"])
@roles_required("agent", "admin")
def change_status(incident_id: int):
    """An agent of the responsible service (or an admin) changes the status."""
    form = StatusForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    try:
        workflow.change_status(session, incident_id, form.to_status.data, actor=current_user,
                               note=form.note.data)
    except OvaError:
        session.rollback()
        raise
    session.commit()
    flash(_("Statut mis à jour : %(status)s", status=STATUS_LABELS[form.to_status.data]), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id))


@bp.route("/<int:incident_id>/hold", methods=["POST"])
@roles_required("agent", "admin")
def hold(incident_id: int):
    """An agent of the responsible service stops (action=start, with a public reason) or restarts the clock."""
    form = HoldForm()
    if not form.validate_on_submit() or form.action.data not in ("start", "stop"):
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    session = get_session()
    try:
        if form.action.data == "start":
            workflow.put_on_hold(session, incident_id, actor=current_user, reason=form.reason.data)
        else:
            workflow.release_hold(session, incident_id, actor=current_user)
    except OvaError:
        session.rollback()
        raise
    session.commit()
    flash(_("Signalement mis en attente : le délai est suspendu.") if form.action.data == "start"
          else _("Attente terminée : le délai reprend."), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id))


@bp.route("/<int:incident_id>/suivi/<token>", methods=["GET", "POST"])
def follow_up(incident_id: int, token: str):
    """The reporter's private follow-up page: confirm or dispute a resolution."""
    session = get_session()
    workflow.check_follow_up(session, incident_id, token)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            workflow.answer_resolution(session, incident_id, confirmed=form.answer.data == "confirmed",
                                       comment=form.comment.data, token=token)
        except OvaError as err:
            session.rollback()
            flash(err.message, "danger")
            return render_template("incidents/follow_up.html", incident=queries.incident_detail(session, incident_id),
                                   form=form), err.status
        session.commit()
        flash(_("Merci, votre réponse est enregistrée."), "success")
        return redirect(url_for("incidents.detail", incident_id=incident_id))
    return render_template("incidents/follow_up.html", incident=queries.incident_detail(session, incident_id),
                           form=form)


def _queue_producer() -> int | None:
    """Agents see their service's queue; admins may pick one with ?producer=<id> (all by default)."""
    if current_user.role == "admin":
        return request.args.get("producer", type=bounded_int)
    return current_user.producer_id


@bp.route("/queue")
@roles_required("agent", "admin")
def queue():
    """The agent's work queue: open incidents of the service, earliest deadline first."""
    session = get_session()
    producer_id = _queue_producer()
    rows = queries.work_queue(session, producer_id)
    m = _new_map(session, height="45vh", bounds=points_bounds([(r["lat"], r["lon"]) for r in rows]))
    for overdue, name, color in ((True, _("En retard"), "#c00000"), (False, _("Dans les délais ou sans délai"), "#000091")):
        RemoteGeoJson(
            url_for("incidents.queue_geojson", producer=producer_id, overdue=int(overdue)), name,
            point_style={"radius": 7, "weight": 1, "color": color, "fillColor": color, "fillOpacity": 0.8},
            tooltip_field="category_fr", title_field="category_fr",
            popup_fields=[("status_label", _("Statut")), ("expected_at", _("Échéance")), ("quartier", _("Quartier"))],
            link_template=url_for("incidents.detail", incident_id=0).replace("/0", "/__ID__"),
            link_field="id", link_label=_("Ouvrir"),
        ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return render_template("incidents/queue.html", rows=rows, form=BulkAcknowledgeForm(),
                           producer=queries.producer_name(session, producer_id), map=render_parts(m, _static))


@bp.route("/queue.geojson")
@roles_required("agent", "admin")
def queue_geojson():
    """The work queue as GeoJSON (optionally only overdue=1 or overdue=0)."""
    data = queries.work_queue_geojson(get_session(), _queue_producer())
    for feature in data["features"]:
        feature["properties"]["status_label"] = str(STATUS_LABELS[feature["properties"]["status"]])
    if request.args.get("overdue") in ("0", "1"):
        wanted = request.args["overdue"] == "1"
        data["features"] = [f for f in data["features"] if f["properties"]["overdue"] is wanted]
    return Response(current_app.json.dumps(data), mimetype="application/geo+json")


@bp.route("/queue/acknowledge", methods=["POST"])
@roles_required("agent", "admin")
def bulk_acknowledge():
    """Acknowledge every ticked incident at once (all or nothing)."""
    form = BulkAcknowledgeForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Formulaire incomplet ou expiré."))
    try:
        ids = [int(v) for v in request.form.getlist("ids")]
    except ValueError as err:
        raise InvalidInput(_("Identifiants invalides.")) from err
    if not ids:
        flash(_("Aucun signalement coché."), "warning")
        return redirect(url_for("incidents.queue"))
    session = get_session()
    try:
        workflow.change_status(session, ids, "acknowledged", actor=current_user,
                               note=_("Pris en compte (traitement groupé)"))
    except OvaError:
        session.rollback()
        raise
    session.commit()
    flash(_("%(n)s signalement(s) pris en compte.", n=len(ids)), "success")
    return redirect(url_for("incidents.queue"))
