"""Home page: the territory map of quartiers (choropleth of an indicator), and its GeoJSON feeds."""
from __future__ import annotations

from urllib.parse import quote

import folium
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text

from layers.quartiers import quartiers_geojson
from portal.database import get_session
from portal.home import services
from portal.maps import RemoteGeoJson, make_map, render_parts

bp = Blueprint("home", __name__)



def static_url(path: str) -> str:
    """URL of a file under portal/static/ (Folium assets are pointed at these)."""
    return url_for("static", filename=path)


def _role() -> str | None:
    return current_user.role if current_user.is_authenticated else None


def indicator_labels() -> dict[str, str]:
    """Translated labels of the indicators (kept here so that babel extracts them)."""
    return {
        "open_incidents": _("Signalements en cours"),
        "incident_density": _("Signalements par km²"),
        "establishments": _("Établissements"),
    }


def base_map(**kwargs) -> folium.Map:
    """A map with the configured basemap (or none) and local assets."""
    return make_map(static_url, basemap_url=current_app.config["BASEMAP_URL"],
                    basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"], **kwargs)


def add_catalogue_overlays(m: folium.Map, session) -> list[dict]:
    """Add the catalogue layers the user may read, hidden at first, loaded by bbox from the OGC API."""
    layers = services.catalogue_layers(session, _role())
    for layer in layers:
        point = (layer["geometry_type"] or "").lower().endswith("point")
        RemoteGeoJson(
            f"/ogc/collections/{quote(layer['slug'], safe='')}/items?limit=1000", layer["title"], show=False,
            by_bbox=True, cluster=point, attribution=layer["attribution"],
            style={"color": "#6a3d9a", "weight": 2, "fillOpacity": 0.15},
            point_style={"radius": 5, "color": "#3d2366", "fillColor": "#6a3d9a"},
            tooltip_field="name", title_field="name",
        ).add_to(m)
    return layers


@bp.route("/")
def index():
    session = get_session()
    ind = services.indicator(request.args.get("indicator"))
    communes = services.communes(session)
    commune = services.choose_commune(communes, request.args.get("commune"),
                                      current_app.config.get("TERRITORY_NAME"))
    rows = services.quartier_indicators(session, commune=commune)
    legend = services.classify(rows, ind)
    m = base_map(bounds=services.extent(session, commune))
    labels = indicator_labels()
    RemoteGeoJson(
        url_for("home.choropleth_feed", indicator=ind.key, commune=commune),
        _("Quartiers : %(indicator)s", indicator=labels[ind.key]),
        style={"color": "#1e1e50", "weight": 1.2, "fillOpacity": 0.5, "fillColor": "#e5e5e5"},
        fill_field="fill", label_field="name", label_min_zoom=13, title_field="name",
        attribution=services.data_credit(session, commune), class_name="ova-quartier",
        popup_fields=[("commune", _("Commune")), ("value", labels[ind.key]),
                      ("open_incidents", _("Signalements en cours")), ("incidents", _("Signalements (total)")),
                      ("establishments", _("Établissements"))],
        link_template=url_for("quartiers.show", code="__ID__"), link_field="code",
        link_label=_("Voir la page du quartier →"),
    ).add_to(m)
    overlays = add_catalogue_overlays(m, session)
    folium.LayerControl(collapsed=False).add_to(m)
    for r in rows:
        r["commune"] = r.pop("commune_name")
    return render_template("home/index.html", map=render_parts(m, static_url), quartiers=rows,
                           indicator=ind, indicators=labels, legend=legend, overlays=overlays,
                           communes=communes, commune=commune)


@bp.route("/api/territory.geojson")
def choropleth_feed():
    """Quartiers with every indicator and the fill colour of the chosen one (WGS 84)."""
    session = get_session()
    ind = services.indicator(request.args.get("indicator"))
    rows = services.quartier_indicators(session, with_geometry=True, commune=request.args.get("commune") or None)
    services.classify(rows, ind)
    for r in rows:
        r["commune"] = r.pop("commune_name")
    return Response(services.choropleth_geojson(rows), mimetype="application/geo+json")


@bp.route("/api/quartiers.geojson")
def quartiers_feed():
    return Response(quartiers_geojson(get_session()), mimetype="application/geo+json")


@bp.route("/healthz")
def healthz():
    """Liveness and database check for load balancers and the container healthcheck."""
    get_session().execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.app_context_processor
def _locale_formatters():
    """Locale-aware number and date formatting in every template (Flask-Babel)."""
    from flask_babel import format_date, format_datetime, format_decimal, format_percent

    return {"format_decimal": format_decimal, "format_date": format_date,
            "format_datetime": format_datetime, "format_percent": format_percent,
            "lang_url": lang_url}


def lang_url(lang: str) -> str:
    """The current page in ``lang``, keeping its other query parameters (indicator, search…)."""
    from urllib.parse import urlencode

    args = request.args.to_dict()
    args["lang"] = lang
    rule = request.url_rule
    if request.endpoint and rule is not None and "GET" in (rule.methods or ()):
        return url_for(request.endpoint, **{**args, **(request.view_args or {})})
    return "?" + urlencode(args)
