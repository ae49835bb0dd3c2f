"""Quartier pages: map, key figures, recent incidents, norms and "Qui contacter ?"; light map feeds."""
from __future__ import annotations

import folium
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.database import get_session
from portal.home.services import data_credit, fold_name, search_quartiers
from portal.home.views import add_catalogue_overlays, base_map, static_url
from portal.maps import RemoteGeoJson, render_parts
from portal.quartiers import services

bp = Blueprint("quartiers", __name__)


def _lang() -> str:
    return str(get_locale() or "fr")


def status_labels() -> dict[str, str]:
    """Translated incident statuses."""
    return {"new": _("Nouveau"), "acknowledged": _("Pris en compte"), "in_progress": _("En cours"),
            "resolved": _("Résolu"), "rejected": _("Rejeté")}


def _feed(text: str) -> Response:
    return Response(text, mimetype="application/geo+json")


@bp.route("/quartiers/")
def search():
    """Search a quartier by name: its page when one matches, else the list of matches."""
    query = (request.args.get("q") or "").strip()
    matches = search_quartiers(get_session(), query)
    lang = {"lang": request.args["lang"]} if request.args.get("lang") else {}
    exact = matches and fold_name(query) in (fold_name(matches[0]["name"]), fold_name(matches[0]["code"]))
    if len(matches) == 1 or exact:
        return redirect(url_for("quartiers.show", code=matches[0]["code"], **lang))
    return render_template("quartiers/search.html", query=query, matches=matches)


@bp.route("/quartiers/<code>")
def show(code: str):
    session = get_session()
    lang = _lang()
    q = services.get_quartier(session, code)
    qid = q["id"]
    cats = services.categories(session)
    cat_by_code = {c["code"]: c for c in cats}
    statuses = status_labels()
    m = base_map(bounds=[[q["south"], q["west"]], [q["north"], q["east"]]])
    RemoteGeoJson(url_for("quartiers.outline_feed", code=code), _("Limite du quartier"),
                  style={"color": "#000091", "weight": 3, "fill": False},
                  label_field="name", attribution=data_credit(session, q["commune_name"]),
                  class_name="ova-boundary").add_to(m)
    RemoteGeoJson(url_for("quartiers.zones_feed", code=code), _("Zones commerciales prioritaires"),
                  style={"color": "#b34000", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.12},
                  tooltip_field="name", title_field="name", class_name="ova-zone",
                  popup_fields=[("code", _("Code")), ("status", _("Statut"))],
                  value_labels={"status": {"draft": _("Projet"), "approved": _("Approuvée")}}).add_to(m)
    category = request.args.get("category") or None
    if category not in cat_by_code:
        category = None
    RemoteGeoJson(url_for("quartiers.incidents_feed", code=code, lang=lang, category=category),
                  _("Signalements récents"),
                  cluster=True, by_bbox=True, color_field="colour", class_name="ova-incident",
                  point_style={"radius": 7, "weight": 1},
                  tooltip_field="category_label", title_field="category_label",
                  popup_fields=[("status", _("Statut")), ("reported_at", _("Signalé le")),
                                ("address", _("Adresse")), ("description", _("Description")),
                                ("simulated", _("Délais"))],
                  value_labels={"status": statuses,
                                "simulated": {"true": _("simulés"), "false": _("réels")}},
                  date_fields=["reported_at"], status_element="incidents-status",
                  status_texts={"loaded": _("__N__ signalements affichés sur la carte."),
                                "truncated": _("Les __N__ signalements les plus récents de la vue sont affichés : "
                                               "zoomez pour voir les autres.")}).add_to(m)
    RemoteGeoJson(url_for("quartiers.establishments_feed", code=code), _("Établissements"),
                  show=False, cluster=True, by_bbox=True, class_name="ova-establishment",
                  point_style={"radius": 5, "color": "#1e1e1e", "fillColor": "#ffd43b"},
                  tooltip_field="name", title_field="name",
                  popup_fields=[("siret", "SIRET"), ("naf_code", _("Code NAF")),
                                ("created_on", _("Créé le"))],
                  status_element="establishments-status",
                  status_texts={"loaded": _("__N__ établissements affichés sur la carte."),
                                "truncated": _("__N__ établissements affichés : zoomez pour voir les autres.")},
                  ).add_to(m)
    add_catalogue_overlays(m, session)
    folium.LayerControl(collapsed=False).add_to(m)

    stats = services.incident_figures(session, qid)
    figures, by_category = stats["figures"], stats["by_category"]
    for row in by_category:
        c = cat_by_code.get(row["category"], {})
        row["label"] = c.get(f"label_{lang}", row["category"]) if c else row["category"]
        row["colour"] = c.get("colour", "#777")
    recent = services.recent_incidents(session, qid)
    for row in recent:
        c = cat_by_code.get(row["category"])
        row["category_label"] = c[f"label_{lang}"] if c else row["category"]
    return render_template(
        "quartiers/show.html", q=q, map=render_parts(m, static_url), figures=figures,
        by_status=stats["by_status"], statuses=statuses,
        by_category=by_category, recent=recent, norms=services.applicable_norms(session, qid),
        contacts=services.contacts(session, qid), zones=services.zones(session, qid), lang=lang,
        categories=[c for c in cats if any(r["category"] == c["code"] for r in by_category)],
        category=category,
    )


@bp.route("/api/quartiers/<code>/incidents.geojson")
def incidents_feed(code: str):
    """Most recent incidents of the quartier in ``bbox`` (WGS 84), at most ``limit``."""
    session = get_session()
    q = services.get_quartier(session, code)
    return _feed(services.incidents_geojson(
        session, q["id"], bbox=services.Bbox.parse(request.args.get("bbox")),
        limit=services.parse_limit(request.args.get("limit")), lang=_lang(),
        category=request.args.get("category") or None))


@bp.route("/api/quartiers/<code>/establishments.geojson")
def establishments_feed(code: str):
    """Open establishments of the quartier in ``bbox`` (WGS 84), at most ``limit``."""
    session = get_session()
    q = services.get_quartier(session, code)
    return _feed(services.establishments_geojson(
        session, q["id"], bbox=services.Bbox.parse(request.args.get("bbox")),
        limit=services.parse_limit(request.args.get("limit"))))


@bp.route("/api/quartiers/<code>/outline.geojson")
def outline_feed(code: str):
    session = get_session()
    return _feed(services.outline_geojson(session, services.get_quartier(session, code)["id"]))


@bp.route("/api/quartiers/<code>/zones.geojson")
def zones_feed(code: str):
    session = get_session()
    return _feed(services.zones_geojson(session, services.get_quartier(session, code)["id"]))
