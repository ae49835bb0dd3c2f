"""Folium maps with every asset served by the portal itself (no CDN, works on an intranet)."""
from __future__ import annotations

from typing import Callable

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

#: Folium's asset names → files under portal/static/. A Folium element asking for an asset
#: not listed here makes ``localise`` fail loudly instead of silently loading it from a CDN.
LOCAL_ASSETS = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "jquery": "vendor/jquery/jquery.min.js",
    "bootstrap": "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "awesome_markers": "vendor/leaflet.awesome-markers/leaflet.awesome-markers.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "bootstrap_css": "vendor/bootstrap/css/bootstrap.min.css",
    "glyphicons_css": "vendor/bootstrap3-glyphicons/css/glyphicons.css",
    "awesome_markers_font_css": "vendor/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "vendor/leaflet.awesome-markers/leaflet.awesome-markers.css",
    "awesome_rotate_css": "vendor/folium/leaflet.awesome.rotate.min.css",
    "markerclusterjs": "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet_draw_js": "vendor/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "vendor/leaflet-draw/leaflet.draw.css",
}


def localise(element: MacroElement, static_url: Callable[[str], str]) -> None:
    """Point ``element`` and its children at local copies of their JS/CSS assets."""
    for attr in ("default_js", "default_css"):
        assets = getattr(element, attr, None)
        if assets:
            local = []
            for name, url in assets:
                if name not in LOCAL_ASSETS:
                    raise LookupError(f"Folium asset '{name}' ({url}) has no local copy in LOCAL_ASSETS")
                local.append((name, static_url(LOCAL_ASSETS[name])))
            setattr(element, attr, local)
    for child in element._children.values():
        localise(child, static_url)


class RemoteGeoJson(JSCSSMixin, Layer):
    """A GeoJSON layer fetched by the browser from ``url`` (optionally by bbox), never embedded.

    Popups and tooltips are built from feature properties as text nodes (see ova-map.js).
    """

    default_js: list = []
    default_css: list = []
    _template = Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = OVA.remoteGeoJson({{ this._parent.get_name() }}, {{ this.options|tojson }});
{% endmacro %}"""
    )

    def __init__(self, url: str, name: str, *, show: bool = True, cluster: bool = False,
                 by_bbox: bool = False, fit_bounds: bool = False, style: dict | None = None,
                 point_style: dict | None = None, tooltip_field: str | None = None,
                 title_field: str | None = None, popup_fields: list[tuple[str, str]] | None = None,
                 link_template: str | None = None, link_field: str | None = None,
                 link_label: str | None = None):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RemoteGeoJson"
        self.options = {
            "url": url, "show": show, "cluster": cluster, "byBbox": by_bbox, "fitBounds": fit_bounds,
            "style": style or {}, "pointStyle": point_style, "tooltipField": tooltip_field,
            "titleField": title_field, "popupFields": popup_fields or [],
            "linkTemplate": link_template, "linkField": link_field, "linkLabel": link_label,
        }
        if cluster:
            # Asks Folium's MarkerCluster assets (local copies) on the page.
            self.default_js = [("markerclusterjs", "")]
            self.default_css = [("markerclustercss", ""), ("markerclusterdefaultcss", "")]


def make_map(static_url: Callable[[str], str], *, basemap_url: str = "", basemap_attribution: str = "",
             bounds: list[list[float]] | None = None, height: str = "70vh") -> folium.Map:
    """Return a Folium map whose basemap is optional and whose assets are local."""
    m = folium.Map(location=[46.6, 2.4], zoom_start=6, tiles=None, control_scale=True,
                   height=height, prefer_canvas=False)
    if basemap_url:
        folium.TileLayer(basemap_url, attr=basemap_attribution or "—", name="Fond de carte",
                         max_zoom=19).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    m.get_root().header.add_child(
        Element(f'<script src="{static_url("js/ova-map.js")}"></script>'), name="ova_map_js")
    return m


def render_parts(m: folium.Map, static_url: Callable[[str], str]) -> dict[str, str]:
    """Render ``m`` into the header, body and script parts a page template embeds."""
    localise(m, static_url)
    root = m.get_root()
    localise(root, static_url)
    root.render()
    return {
        "header": root.header.render(),
        "html": root.html.render(),
        "script": root.script.render(),
    }
