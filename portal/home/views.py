"""Home page: the territory map of quartiers, and its GeoJSON feed."""
from __future__ import annotations

import folium
from flask import Blueprint, Response, current_app, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, text

from layers.quartiers import quartier_extent, quartiers_geojson
from ova.models import Incident, Quartier
from portal.database import get_session
from portal.maps import RemoteGeoJson, make_map, render_parts

bp = Blueprint("home", __name__)


def _static(path: str) -> str:
    return url_for("static", filename=path)


@bp.route("/")
def index():
    session = get_session()
    m = make_map(_static, basemap_url=current_app.config["BASEMAP_URL"],
                 basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"],
                 bounds=quartier_extent(session))
    RemoteGeoJson(
        url_for("home.quartiers_feed"), _("Quartiers"),
        style={"color": "#000091", "weight": 2, "fillOpacity": 0.08},
        tooltip_field="name", title_field="name",
        popup_fields=[("commune", _("Commune")), ("area_km2", _("Surface (km²)")),
                      ("incidents", _("Signalements"))],
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    rows = session.execute(
        select(Quartier.code, Quartier.name, Quartier.commune_name,
               (func.ST_Area(Quartier.geom) / 1e6).label("area_km2"),
               select(func.count(Incident.id)).where(Incident.quartier_id == Quartier.id)
               .scalar_subquery().label("incidents"))
        .order_by(Quartier.commune_name, Quartier.name)
    ).all()
    return render_template("home/index.html", map=render_parts(m, _static), quartiers=rows)


@bp.route("/api/quartiers.geojson")
def quartiers_feed():
    return Response(quartiers_geojson(get_session()), mimetype="application/geo+json")


@bp.route("/healthz")
def healthz():
    """Liveness and database check for load balancers and the container healthcheck."""
    get_session().execute(text("SELECT 1"))
    return {"status": "ok"}
