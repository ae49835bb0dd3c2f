"""Dashboard /normes: quartiers × norms matrix, quartier drill-down, producer view, grid, publications."""
from __future__ import annotations

import datetime as dt
import json

import folium
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from norms import queries, services
from norms.publication import list_publications
from ova import audit
from ova.errors import InvalidInput
from ova.models import Norm
from portal.auth.services import roles_required
from portal.database import get_session
from portal.fields import bounded_int
from portal.home import services as home_services
from portal.maps import RemoteGeoJson, make_map, render_parts
from portal.norms.forms import ActivityForm, AuditForm, DeliveryForm, NormForm

bp = Blueprint("norms", __name__)

STATUS_LABELS = {"met": _l("Atteinte"), "not_met": _l("Non atteinte"), "insufficient_data": _l("Données insuffisantes")}


def _static(path: str) -> str:
    return url_for("static", filename=path)


def _conn():
    return get_session().connection()


def _month_arg(months: list[dt.date]) -> dt.date | None:
    raw = request.args.get("month")
    if raw:
        try:
            return dt.datetime.strptime(raw, "%Y-%m").date()
        except ValueError as err:
            raise InvalidInput(_("mois invalide : %(v)s (attendu AAAA-MM)", v=raw)) from err
    return queries.default_month(_conn()) or (months[0] if months else None)


def delay_words(norm) -> str:
    """A response-delay norm's delay in words, in the page's language (« sous 2 jours ouvrés »)."""
    if not norm or norm.get("metric", "response_delay") != "response_delay":
        return ""
    unit, value = norm.get("delay_unit"), norm.get("delay_value")
    if unit == "source":
        return _("dans le délai fixé par le système source")
    if not value:
        return ""
    if unit == "working_days":
        return ngettext("sous %(num)s jour ouvré", "sous %(num)s jours ouvrés", value)
    if unit == "working_hours":
        return ngettext("sous %(num)s heure ouvrée", "sous %(num)s heures ouvrées", value)
    return _("sous %(num)s h", num=value)


@bp.app_context_processor
def _labels():
    return {"status_label": lambda s: str(STATUS_LABELS.get(s, s)), "delay_words": delay_words}


@bp.route("/")
def dashboard():
    conn = _conn()
    months = queries.months_with_results(conn)
    month = _month_arg(months)
    communes, commune = _commune_arg()
    norms, rows = queries.matrix(conn, month, commune=commune) if month else ([], [])
    return render_template("norms/dashboard.html", months=months, month=month, norms=norms, rows=rows,
                           ranking=queries.ranking(rows)[:10], producer=None, communes=communes, commune=commune)


def _commune_arg() -> tuple[list[str], str | None]:
    """Communes with quartiers, and the one asked for (``?commune=``; empty: all of them), else
    the configured territory, else the one with most quartiers, as on the home map."""
    communes = home_services.communes(get_session())
    asked = request.args.get("commune")
    if asked == "":
        return communes, None
    return communes, home_services.choose_commune(communes, asked, current_app.config.get("TERRITORY_NAME"))


@bp.route("/service")
@roles_required("agent", "urbaniste")
def producer_view():
    """My service's compliance: agents see their producer; urbanists and admins pick one."""
    conn = _conn()
    producers = queries.producers(conn)
    if current_user.role == "agent":
        producer_id = current_user.producer_id
    else:
        producer_id = request.args.get("producer", type=bounded_int) or (producers[0]["id"] if producers else None)
    producer = next((p for p in producers if p["id"] == producer_id), None)
    if producer is None:
        abort(404)
    months = queries.months_with_results(conn)
    month = _month_arg(months)
    communes, commune = _commune_arg()
    norms, rows = queries.matrix(conn, month, producer_id, commune=commune) if month else ([], [])
    return render_template("norms/dashboard.html", months=months, month=month, norms=norms, rows=rows,
                           ranking=queries.ranking(rows)[:10], producer=producer,
                           producers=producers if current_user.role != "agent" else [],
                           communes=communes, commune=commune)


@bp.route("/quartier/<int:quartier_id>")
def quartier(quartier_id: int):
    conn = _conn()
    q = queries.quartier(conn, quartier_id)
    if q is None:
        abort(404)
    months = queries.months_with_results(conn)
    month = _month_arg(months)
    results = queries.quartier_results(conn, quartier_id, month) if month else []
    norm_id = request.args.get("norm", type=bounded_int)
    failing = [r for r in results if r["metric"] == "response_delay" and r["zone_id"] is None
               and r["cases"] > r["compliant"]]
    if norm_id is None and failing:
        norm_id = failing[0]["norm_id"]
    m = make_map(_static, basemap_url=current_app.config["BASEMAP_URL"],
                 basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"], bounds=q["bounds"],
                 height="420px")
    RemoteGeoJson(url_for("norms.quartier_outline", quartier_id=quartier_id), _("Quartier et zones"),
                  style={"color": "#000091", "weight": 2, "fillOpacity": 0.05},
                  tooltip_field="name", title_field="name").add_to(m)
    failing_incidents = []
    if norm_id and month:
        # The same features as the map's layer, listed under it (the map's text alternative).
        failing_incidents = json.loads(queries.failing_incidents_geojson(conn, norm_id, quartier_id, month))["features"]
        RemoteGeoJson(
            url_for("norms.failing_feed", norm=norm_id, quartier=quartier_id, month=month.strftime("%Y-%m")),
            _("Signalements en échec"), point_style={"radius": 6, "color": "#b00020", "fillOpacity": 0.8},
            tooltip_field="category", title_field="category",
            link_template=url_for("incidents.detail", incident_id=0).replace("/0", "/__ID__"), link_field="id",
            link_label=_("Voir le signalement"),
            popup_fields=[("state", _("État")), ("reported_at", _("Signalé le")), ("deadline", _("Échéance")),
                          ("resolved_at", _("Résolu le")), ("delay_hours", _("Délai (h)")),
                          ("simulated", _("Délais simulés")), ("address", _("Adresse"))],
        ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return render_template("norms/quartier.html", q=q, months=months, month=month, results=results,
                           norm_id=norm_id, map=render_parts(m, _static), failing_incidents=failing_incidents,
                           failing_norm=next((r for r in results if r["norm_id"] == norm_id), None),
                           series=queries.quartier_series(conn, quartier_id))


@bp.route("/api/echecs.geojson")
def failing_feed():
    norm_id = request.args.get("norm", type=bounded_int)
    quartier_id = request.args.get("quartier", type=bounded_int)
    if not norm_id or not quartier_id:
        raise InvalidInput("norm and quartier are required")
    month = _month_arg([]) or abort(400)
    body = queries.failing_incidents_geojson(_conn(), norm_id, quartier_id, month,
                                             request.args.get("zone", type=bounded_int))
    return Response(body, mimetype="application/geo+json")


@bp.route("/api/quartier/<int:quartier_id>.geojson")
def quartier_outline(quartier_id: int):
    body = queries.quartier_outline_geojson(_conn(), quartier_id)
    return Response(body, mimetype="application/geo+json")


@bp.route("/normes-qualite")
def norm_list():
    return render_template("norms/norm_list.html", norms=queries.norms_list(_conn()))


@bp.route("/normes-qualite/<int:norm_id>", methods=["GET", "POST"])
@roles_required("urbaniste")
def norm_edit(norm_id: int):
    session = get_session()
    conn = session.connection()
    norm = services.get_norm(conn, norm_id)
    form = NormForm(data={**norm, "category_codes": ", ".join(norm["category_codes"] or [])})
    quartiers = queries.quartiers(conn)
    form.quartier_id.choices = [SelectChoice(None, "—")] + [SelectChoice(q.id, q.name) for q in quartiers]
    calendars = conn.exec_driver_sql("SELECT id, label_fr, label_en FROM calendars ORDER BY id").all()
    form.calendar_id.choices = [SelectChoice(None, _("calendrier par défaut"))] + [
        SelectChoice(c.id, c.label_fr if get_locale().language == "fr" else c.label_en) for c in calendars]
    if form.validate_on_submit():
        values = {k: getattr(form, k).data for k in services.EDITABLE if hasattr(form, k)}
        values["category_codes"] = [c.strip() for c in (form.category_codes.data or "").split(",")]
        values["period"] = form.period.data or None
        values["producer_id"] = norm["producer_id"]
        for key in ("zone_code", "activity_kind"):
            values[key] = values[key] or None
        try:
            before = audit.row_values(conn, Norm.__table__, norm_id)
            services.update_norm(conn, norm_id, values)
            after = audit.row_values(conn, Norm.__table__, norm_id)
            if audit.changed(before, after):
                audit.record(conn, current_user.id, "norms", norm_id, "update", before, after)
        except InvalidInput as err:
            session.rollback()
            flash(err.message, "danger")
        else:
            session.commit()
            flash(_("Norme enregistrée."), "success")
            return redirect(url_for("norms.norm_list"))
    return render_template("norms/norm_edit.html", form=form, norm=norm)


@bp.route("/grille")
def grid():
    conn = _conn()
    quartiers = queries.quartiers_by_commune(conn)
    quartier_id = request.args.get("quartier", type=bounded_int) or (quartiers[0].id if quartiers else None)
    years = services.audit_years(conn, quartier_id)
    year = request.args.get("year", type=bounded_int) or years[0]
    can_edit = current_user.is_authenticated and current_user.role in ("urbaniste", "admin")
    return render_template("norms/grid.html", champs=services.grid(conn, quartier_id, year), quartiers=quartiers,
                           quartier_id=quartier_id, years=years, year=year, can_edit=can_edit,
                           form=AuditForm() if can_edit else None)


@bp.route("/grille/<int:quartier_id>/<int:year>", methods=["POST"])
@roles_required("urbaniste")
def audit_save(quartier_id: int, year: int):
    session = get_session()
    form = AuditForm()
    if not form.validate_on_submit():
        flash(_("Audit non enregistré : formulaire incomplet."), "danger")
    else:
        services.save_audit(session.connection(), quartier_id=quartier_id, tache_code=form.tache_code.data,
                            year=year, clear_commitment=form.clear_commitment.data == "oui",
                            comment=form.comment.data, user_id=current_user.id)
        session.commit()
        flash(_("Audit enregistré."), "success")
    return redirect(url_for("norms.grid", quartier=quartier_id, year=year))


@bp.route("/publications")
def publications():
    return render_template("norms/publications.html", publications=list_publications(_conn()))


@bp.route("/activites", methods=["GET", "POST"])
@roles_required("agent", "urbaniste")
def activities():
    """Log an activity (frequency norms) or a document delivery (document norms)."""
    session = get_session()
    conn = session.connection()
    quartiers = queries.quartiers(conn)
    kinds = queries.activity_kinds(conn)
    documents = queries.document_norms(conn)
    activity, delivery = ActivityForm(prefix="a"), DeliveryForm(prefix="d")
    activity.kind.choices = kinds
    activity.quartier_id.choices = [SelectChoice(q.id, q.name) for q in quartiers]
    delivery.norm_id.choices = [SelectChoice(d.id, d.label_fr) for d in documents]
    delivery.quartier_id.choices = [SelectChoice(None, "—")] + [SelectChoice(q.id, q.name) for q in quartiers]
    try:
        if "a-kind" in request.form and activity.validate_on_submit():
            services.log_activity(conn, kind=activity.kind.data, quartier_id=activity.quartier_id.data,
                                  occurred_at=activity.occurred_at.data, producer_id=current_user.producer_id,
                                  note=activity.note.data)
        elif "d-norm_id" in request.form and delivery.validate_on_submit():
            services.record_delivery(conn, norm_id=delivery.norm_id.data, quartier_id=delivery.quartier_id.data,
                                     delivered_on=delivery.delivered_on.data, note=delivery.note.data)
        else:
            if request.method == "POST":
                flash(_("Formulaire incomplet."), "danger")
            return render_template("norms/activities.html", activity=activity, delivery=delivery,
                                   recent=services.recent_activities(conn))
    except InvalidInput as err:
        session.rollback()
        flash(err.message, "danger")
    else:
        session.commit()
        flash(_("Enregistré ; la conformité du quartier est recalculée."), "success")
    return redirect(url_for("norms.activities"))
