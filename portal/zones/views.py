"""Zone editor views: list of versions, draw/upload a draft, redraw it, approve, new version;
candidate zones from the density of establishments, each one click away from a draft."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from layers.quartiers import main_commune, zones_extent
from norms import zone_suggestions, zones
from ova import audit
from ova.errors import InvalidInput, OvaError
from ova.models import PriorityZone
from ova.settings import timezone_name
from portal.auth.services import roles_required
from portal.database import get_session
from portal.fields import bounded_int
from portal.zones.forms import ConfirmForm, SuggestionDraftForm, SuggestionForm, VersionForm, ZoneForm

bp = Blueprint("zones", __name__)


def _geometry(form: ZoneForm) -> str | None:
    """The drawn geometry, or the uploaded file's, as normalised GeoJSON (None when neither)."""
    if form.upload.data:
        return zones.parse_geometry(form.upload.data.read(zones.MAX_GEOJSON_CHARS + 1))
    if form.geometry.data:
        return zones.parse_geometry(form.geometry.data)
    return None


def _suggestion_parameters(args) -> zone_suggestions.Parameters:
    """The candidate-zone parameters of a query string (defaults for missing ones); InvalidInput if bad."""
    values = {}
    for field in ("distance", "min_points"):
        raw = (args.get(field) or "").strip()
        if raw:
            try:
                values[field] = int(raw)
            except ValueError as err:
                raise InvalidInput(f"{field}: an integer (got {raw!r})") from err
    return zone_suggestions.Parameters(**values)


@bp.context_processor
def _framing():
    def zones_bounds():
        """Where the zone maps open: the zones of one commune (``?commune=``, else the territory's)."""
        session = get_session()
        commune = main_commune(session, request.args.get("commune"), current_app.config.get("TERRITORY_NAME"))
        return zones_extent(session, commune)
    return {"zones_bounds": zones_bounds}


@bp.route("/")
@roles_required("urbaniste")
def index():
    try:
        params = _suggestion_parameters(request.args)
    except InvalidInput as err:
        flash(err.message, "danger")
        params = zone_suggestions.Parameters()
    form = SuggestionForm(data={"distance": params.distance, "min_points": params.min_points})
    return render_template("zones/index.html", versions=zones.versions(get_session().connection()),
                           suggestion_form=form, draft_form=SuggestionDraftForm(), params=params)


@bp.route("/api/suggestions.geojson")
@roles_required("urbaniste")
def suggestions():
    """Candidate zones (GeoJSON) for ``distance`` (m) and ``min_points`` (establishments)."""
    params = _suggestion_parameters(request.args)
    body = zone_suggestions.candidates_geojson(get_session().connection(), params)
    return Response(body, mimetype="application/geo+json")


def _next_month() -> dt.date:
    today = dt.datetime.now(ZoneInfo(timezone_name())).date()
    return (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@bp.route("/suggestions/brouillon", methods=["POST"])
@roles_required("urbaniste")
def draft_from_suggestion():
    """Save a candidate zone as a draft version starting next month, then open it in the editor."""
    form = SuggestionDraftForm()
    if not form.validate_on_submit():
        for field in form:
            for error in field.errors:
                flash(f"{field.name} : {error}", "danger")
        return redirect(url_for("zones.index"))
    session = get_session()
    params = zone_suggestions.Parameters(form.distance.data, form.min_points.data)
    try:
        zone_id = zone_suggestions.create_draft_from_candidate(session.connection(), form.seed.data, params,
                                                               valid_from=_next_month())
        _audit(session.connection(), zone_id, "create", None)
    except OvaError as err:
        session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("zones.index", distance=params.distance, min_points=params.min_points))
    session.commit()
    flash(_("Brouillon créé à partir de la suggestion : vérifiez le contour et le nom avant d'approuver."),
          "success")
    return redirect(url_for("zones.edit", zone_id=zone_id))


@bp.route("/api/zones.geojson")
@roles_required("urbaniste")
def feed():
    body = zones.versions_geojson(get_session().connection(), request.args.get("id", type=bounded_int))
    return Response(body, mimetype="application/geo+json")


def _audit(conn, zone_id: int, action: str, before: dict | None) -> None:
    """Log the change of a zone version by the current user (before → after)."""
    after = audit.row_values(conn, PriorityZone.__table__, zone_id)
    if audit.changed(before, after):
        audit.record(conn, current_user.id, "priority_zones", zone_id, action, before, after)


@bp.route("/nouvelle", methods=["GET", "POST"])
@roles_required("urbaniste")
def create():
    form = ZoneForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            geojson = _geometry(form)
            if geojson is None:
                raise InvalidInput(_("Dessinez la zone sur la carte ou envoyez un fichier GeoJSON."))
            zone_id = zones.create_draft(session.connection(), code=form.code.data, name=form.name.data,
                                         valid_from=form.valid_from.data, geojson=geojson)
            _audit(session.connection(), zone_id, "create", None)
        except OvaError as err:
            session.rollback()
            flash(err.message, "danger")
        else:
            session.commit()
            flash(_("Brouillon enregistré."), "success")
            return redirect(url_for("zones.edit", zone_id=zone_id))
    return render_template("zones/edit.html", form=form, zone=None, confirm=None, version_form=None)


@bp.route("/<int:zone_id>", methods=["GET", "POST"])
@roles_required("urbaniste")
def edit(zone_id: int):
    session = get_session()
    conn = session.connection()
    zone = zones.get_version(conn, zone_id)
    form = ZoneForm(data=zone)
    if form.validate_on_submit():
        try:
            before = audit.row_values(conn, PriorityZone.__table__, zone_id)
            zones.update_draft(conn, zone_id, name=form.name.data, valid_from=form.valid_from.data,
                               geojson=_geometry(form))
            _audit(conn, zone_id, "update", before)
        except OvaError as err:
            session.rollback()
            flash(err.message, "danger")
        else:
            session.commit()
            flash(_("Brouillon enregistré."), "success")
            return redirect(url_for("zones.edit", zone_id=zone_id))
    return render_template("zones/edit.html", form=form, zone=zone, confirm=ConfirmForm(),
                           version_form=VersionForm())


@bp.route("/<int:zone_id>/approuver", methods=["POST"])
@roles_required("urbaniste")
def approve(zone_id: int):
    session = get_session()
    if ConfirmForm().validate_on_submit():
        try:
            before = audit.row_values(session.connection(), PriorityZone.__table__, zone_id)
            summary = zones.approve(session.connection(), zone_id)
            _audit(session.connection(), zone_id, "update", before)
        except OvaError as err:
            session.rollback()
            flash(err.message, "danger")
        else:
            session.commit()
            flash(_("Version approuvée : %(c)s version(s) close(s), %(n)s signalement(s) replacé(s).",
                    c=summary["closed"], n=summary["changed"]), "success")
    return redirect(url_for("zones.edit", zone_id=zone_id))


@bp.route("/<int:zone_id>/nouvelle-version", methods=["POST"])
@roles_required("urbaniste")
def new_version(zone_id: int):
    session = get_session()
    form = VersionForm()
    if form.validate_on_submit():
        try:
            new_id = zones.new_version(session.connection(), zone_id, form.valid_from.data)
            _audit(session.connection(), new_id, "create", None)
        except OvaError as err:
            session.rollback()
            flash(err.message, "danger")
        else:
            session.commit()
            return redirect(url_for("zones.edit", zone_id=new_id))
    return redirect(url_for("zones.edit", zone_id=zone_id))
