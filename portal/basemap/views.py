"""The portal's own basemap: raster tiles /basemap/{z}/{x}/{y}.png (and @2x), and the map config.

Tiles are rendered by ``layers.basemap`` from the loaded street network, kept in an in-process
LRU keyed by the basemap's data version and served with a strong ETag of that version, so a
reload (``ova load basemap``, which bumps it in its transaction) is seen at once. Every map of
the portal draws them by default; ``OVA_BASEMAP_URL`` (an XYZ or WMTS template) replaces them.
"""
from __future__ import annotations

import hashlib
from html import escape

from flask import Blueprint, Response, current_app, has_request_context, request, url_for
from flask_babel import gettext as _

from layers import basemap
from layers.tiles import TileCache
from portal.catalogue.serving import init_blueprint, serving_connection
from portal.maps import external_basemap

bp = Blueprint("basemap", __name__)
init_blueprint(bp)


def tile_cache() -> TileCache:
    """The app's cache of rendered basemap tiles (created on first use, 64 MB)."""
    return current_app.extensions.setdefault("ova_basemap_cache", TileCache())


def _etag(version: int, z: int, x: int, y: int, scale: int) -> str:
    return '"' + hashlib.sha1(f"basemap:{version}:{z}:{x}:{y}:{scale}".encode()).hexdigest()[:20] + '"'


def _tile(z: int, x: int, y: int, scale: int):
    conn = serving_connection()
    version = basemap.version(conn)
    if version is None:  # no catalogue layer declared: nothing can invalidate a cache
        return Response(basemap.render_tile(conn, z, x, y, scale), mimetype="image/png",
                        headers={"Cache-Control": "no-cache"})
    tag = _etag(version, z, x, y, scale)
    # The page's URLs carry ?v=<version>: such a tile never changes and may be kept long.
    fresh = request.args.get("v") == str(version)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=86400" if fresh else "public, max-age=60"}
    if request.if_none_match.contains(tag.strip('"')):
        return Response(status=304, headers=headers)
    key = ("basemap", version, z, x, y, scale)
    cache = tile_cache()
    data = cache.get(key)
    if data is None:
        data = basemap.render_tile(conn, z, x, y, scale)
        cache.put(key, data)
    return Response(data, mimetype="image/png", headers=headers)


@bp.route("/<int:z>/<int:x>/<int:y>.png")
def tile(z, x, y):
    return _tile(z, x, y, 1)


@bp.route("/<int:z>/<int:x>/<int:y>@2x.png")
def tile_2x(z, x, y):
    return _tile(z, x, y, 2)


def basemap_config() -> dict:
    """What a page's maps need to draw the basemap (``OVA.basemap`` in ova-basemap.js).

    ``OVA_BASEMAP_URL`` when set (its attribution, no coverage limit); else the portal's own
    tiles, their data's attribution and the boxes the street data covers: outside them the map
    says that no street data is loaded there.
    """
    config = current_app.config
    if config.get("BASEMAP_URL"):
        return external_basemap(config["BASEMAP_URL"], config.get("BASEMAP_ATTRIBUTION", ""))
    conn = serving_connection()
    version = basemap.version(conn)
    cached = current_app.extensions.setdefault("ova_basemap_config", {})
    entry = cached.get(version)
    if entry is None:
        template = url_for("basemap.tile", z=0, x=0, y=0).replace("/0/0/0.png", "/{z}/{x}/{y}{r}.png")
        entry = {"url": template + (f"?v={version}" if version is not None else ""),
                 # Leaflet writes attributions as HTML; the layer's is edited by producers: escaped.
                 "source": escape(basemap.attribution(conn) or "Ville de Paris – opendata.paris.fr (ODbL 1.0)"),
                 "coverage": basemap.coverage(conn), "own": True,
                 "minZoom": basemap.MIN_ZOOM, "maxNativeZoom": basemap.MAX_ZOOM}
        if version is not None:  # one entry: older versions are never asked for again
            cached.clear()
            cached[version] = entry
    return {**{k: v for k, v in entry.items() if k != "source"},
            "attribution": _("Fond de plan : %(source)s", source=entry["source"]), **_texts()}


def _texts() -> dict:
    return {"noStreets": _("Pas de fond de plan des rues ici : aucune donnée ouverte des voies n'a été "
                           "trouvée pour ce territoire. Les limites des quartiers restent affichées."),
            "zoomIn": _("Zoomez pour voir les rues.")}


@bp.app_context_processor
def _basemap_global():
    return {"basemap_config": basemap_config}


def current_basemap() -> dict | None:
    """The basemap config inside a request, None outside one (maps built by the CLI or unit tests)."""
    return basemap_config() if has_request_context() else None
