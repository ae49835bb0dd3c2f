"""Folium maps with every asset served by the portal itself (no CDN, works on an intranet)."""
from __future__ import annotations

import re
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
                 link_label: str | None = None, fill_field: str | None = None,
                 color_field: str | None = None, label_field: str | None = None,
                 label_min_zoom: int = 0, value_labels: dict | None = None,
                 date_fields: list[str] | None = None, status_element: str | None = None,
                 status_texts: dict | None = None, max_zoom_fit: int = 17,
                 attribution: str | None = None, class_name: str | None = None):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RemoteGeoJson"
        self.options = {
            "url": url, "show": show, "cluster": cluster, "byBbox": by_bbox, "fitBounds": fit_bounds,
            "style": style or {}, "pointStyle": point_style, "tooltipField": tooltip_field,
            "titleField": title_field, "popupFields": popup_fields or [],
            "linkTemplate": link_template, "linkField": link_field, "linkLabel": link_label,
            "fillField": fill_field, "colorField": color_field, "labelField": label_field,
            "labelMinZoom": label_min_zoom, "valueLabels": value_labels or {},
            "dateFields": date_fields or [], "statusElement": status_element,
            "statusTexts": status_texts or {}, "maxZoomFit": max_zoom_fit,
            "attribution": attribution, "className": class_name,
        }
        if cluster:
            # Asks Folium's MarkerCluster assets (local copies) on the page.
            self.default_js = [("markerclusterjs", "")]
            self.default_css = [("markerclustercss", ""), ("markerclusterdefaultcss", "")]


class AccessibleMap(MacroElement):
    """Keyboard and screen-reader support of a map (``OVA.accessibleMap`` in ova-map.js), in the
    page's language. ``render_parts`` adds it last, once every control of the map exists."""

    _template = Template(
        """{% macro script(this, kwargs) %}
OVA.accessibleMap({{ this._parent.get_name() }}, {{ this.labels|tojson }});
{% endmacro %}"""
    )

    def __init__(self, label: str | None = None):
        from flask_babel import gettext as _

        super().__init__()
        self._name = "AccessibleMap"
        self.labels = {
            "map": label or _("Carte"),
            "help": _("Carte interactive : flèches pour la déplacer, touches + et − pour zoomer, Tab pour "
                      "passer d’un objet à l’autre, Entrée pour ouvrir sa fiche, Échap pour la fermer. "
                      "Les informations de la carte sont aussi données en texte sur la page."),
            "zoomIn": _("Zoomer"), "zoomOut": _("Dézoomer"), "layers": _("Couches"),
            "close": _("Fermer la fiche"), "feature": _("Objet de la carte"),
        }


class Basemap(MacroElement):
    """The basemap under a map: the portal's own street tiles or ``OVA_BASEMAP_URL`` (ova-basemap.js)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
OVABasemap.basemap({{ this._parent.get_name() }}, {{ this.config|tojson }});
{% endmacro %}"""
    )

    def __init__(self, config: dict):
        super().__init__()
        self._name = "Basemap"
        self.config = config


def external_basemap(url: str, attribution: str = "") -> dict:
    """The basemap config of an XYZ/WMTS template (``OVA_BASEMAP_URL``)."""
    return {"url": url, "attribution": attribution or "—", "own": False, "maxNativeZoom": 19}


def make_map(static_url: Callable[[str], str], *, basemap_url: str = "", basemap_attribution: str = "",
             bounds: list[list[float]] | None = None, height: str = "70vh", label: str | None = None,
             basemap: dict | None = None) -> folium.Map:
    """Return a Folium map with local assets, drawn over a basemap.

    The basemap is ``basemap`` (a config as built by ``portal.basemap.views.basemap_config``),
    else ``basemap_url`` (an XYZ/WMTS template), else, inside a request, the portal's own street
    tiles; outside a request and without either, there is none. ``label`` names the map for
    screen readers (default: "Carte").
    """
    from ova.territory import current

    # Before fitting ``bounds`` (or without any), the map shows the territory (OVA_STORAGE_CRS's).
    m = folium.Map(location=list(current().centre), zoom_start=6, tiles=None, control_scale=True,
                   height=height, prefer_canvas=False)
    # Folium passes max/min zoom to its own tiles only; marker clustering needs them on the map.
    m.options.update({"maxZoom": 19, "minZoom": 5})
    if basemap is None:
        if basemap_url:
            basemap = external_basemap(basemap_url, basemap_attribution)
        else:
            from portal.basemap.views import current_basemap

            basemap = current_basemap()
    if basemap:
        m.add_child(Basemap(basemap))
    if bounds:
        m.fit_bounds(bounds)
    m.ova_label = label
    m.get_root().header.add_child(
        Element(f'<script src="{static_url("js/ova-map.js")}"></script>'), name="ova_map_js")
    m.get_root().header.add_child(
        Element(f'<script src="{static_url("js/ova-basemap.js")}"></script>'), name="ova_basemap_js")
    return m


def points_bounds(points: list[tuple[float, float]], *, radius_km: float = 20.0,
                  pad: float = 0.002) -> list[list[float]] | None:
    """[[south, west], [north, east]] around ``points`` (lat, lon), keeping only those within
    ``radius_km`` of their median: a queue spread over two cities opens on the busier one."""
    if not points:
        return None
    lats = sorted(p[0] for p in points)
    lons = sorted(p[1] for p in points)
    mid_lat, mid_lon = lats[len(lats) // 2], lons[len(lons) // 2]
    near = [(lat, lon) for lat, lon in points
            if abs(lat - mid_lat) * 111 <= radius_km and abs(lon - mid_lon) * 73 <= radius_km]
    return [[min(p[0] for p in near) - pad, min(p[1] for p in near) - pad],
            [max(p[0] for p in near) + pad, max(p[1] for p in near) + pad]]


#: The viewport Folium's map template writes (``maximum-scale=1.0, user-scalable=no``): it forbids
#: zooming the page, which WCAG 1.4.4 / RGAA 10.4 reject. Pages keep base.html's own viewport.
_FOLIUM_VIEWPORT = re.compile(r'<meta\s+name="viewport"[^>]*>\s*', re.IGNORECASE)

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)(?![^>]*\bnonce\s*=)(?=[\s>])", re.IGNORECASE)


def add_nonce(html: str, nonce: str | None) -> str:
    """Give every inline ``<script>`` (one without ``src``) of ``html`` the CSP ``nonce``."""
    if not nonce:
        return html
    return _INLINE_SCRIPT.sub(f'<script nonce="{nonce}"', html)


def render_parts(m: folium.Map, static_url: Callable[[str], str], *, nonce: str | None = None) -> dict[str, str]:
    """Render ``m`` into the header, body and script parts a page template embeds.

    Inline scripts Folium writes in the header and body get the request's CSP nonce (``nonce``,
    by default the current request's); the ``script`` part is raw JavaScript that templates wrap
    in ``<script nonce="{{ csp_nonce() }}">``. Folium's zoom-forbidding viewport is left out of the
    header: the page's own (base.html) lets the browser zoom.
    """
    from portal.security import current_nonce

    nonce = nonce or current_nonce()
    if not any(isinstance(c, AccessibleMap) for c in m._children.values()):
        m.add_child(AccessibleMap(getattr(m, "ova_label", None)))
    localise(m, static_url)
    root = m.get_root()
    localise(root, static_url)
    root.render()
    return {
        "header": add_nonce(_FOLIUM_VIEWPORT.sub("", root.header.render()), nonce),
        "html": add_nonce(root.html.render(), nonce),
        "script": root.script.render(),
    }


#: Sequential colour ramp of choropleths (ColorBrewer YlOrRd, 5 classes), light to dark.
CHOROPLETH_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

#: Colours of incident categories on maps (cycled in category order); all readable on white.
CATEGORY_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                    "#bcbd22", "#17becf", "#ff7f0e", "#393b79", "#637939", "#8c6d31", "#843c39",
                    "#7b4173", "#3182bd")


def class_breaks(values: list[float], classes: int = len(CHOROPLETH_COLOURS)) -> list[float]:
    """Quantile class breaks (upper bounds, ascending, unique) of ``values`` for a choropleth.

    The last break is the maximum; fewer classes come back when values repeat (e.g. many zeros).
    """
    data = sorted(v for v in values if v is not None)
    if not data:
        return []
    breaks: list[float] = []
    for k in range(1, classes + 1):
        idx = max(0, min(len(data) - 1, round(k * len(data) / classes) - 1))
        b = data[idx]
        if not breaks or b > breaks[-1]:
            breaks.append(b)
    if breaks[-1] < data[-1]:
        breaks.append(data[-1])
    return breaks


def class_of(value: float | None, breaks: list[float]) -> int | None:
    """Index of the class of ``value`` (first break it does not exceed), None when no value."""
    if value is None or not breaks:
        return None
    for i, b in enumerate(breaks):
        if value <= b:
            return i
    return len(breaks) - 1


def class_colours(breaks: list[float]) -> list[str]:
    """Colours of ``breaks`` spread over the ramp: the lightest for the lowest class, the darkest for the top one."""
    n = len(breaks)
    if n == 0:
        return []
    ramp = CHOROPLETH_COLOURS
    if n == 1:  # every quartier has the same value (often 0): nothing stands out
        return [ramp[0]]
    return [ramp[round(i * (len(ramp) - 1) / (n - 1))] for i in range(n)]
