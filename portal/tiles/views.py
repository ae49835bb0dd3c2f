"""Vector tiles /tiles/{collection}/{z}/{x}/{y}.pbf and a TileJSON per collection."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request

from layers.catalogue import cached_stats, get_layer, get_layer_row, source_of
from layers.tiles import TileBudget, TileCache, aggregated_below_zoom, etag, render_tile, tilejson
from portal.catalogue.access import current_reader, token_args
from portal.catalogue.serving import init_blueprint, serving_connection
from portal.database import get_session
from portal.urls import external_url

bp = Blueprint("tiles", __name__)
init_blueprint(bp)

MVT = "application/vnd.mapbox-vector-tile"


def tile_cache() -> TileCache:
    """The app's tile cache (created on first use)."""
    return current_app.extensions.setdefault("ova_tile_cache", TileCache())


def tile_budget() -> TileBudget:
    """The tile budget of the app (TILE_MAX_BYTES, TILE_MAX_FEATURES)."""
    return TileBudget(max_bytes=int(current_app.config["TILE_MAX_BYTES"]),
                      max_features=int(current_app.config["TILE_MAX_FEATURES"]))


def cached_aggregated_below_zoom(conn, layer, source, budget: TileBudget) -> int | None:
    """:func:`aggregated_below_zoom` computed once per layer data version and budget."""
    cache = current_app.extensions.setdefault("ova_tile_zooms", {})
    key = (layer.id, layer.data_version, budget)
    if key not in cache:
        if len(cache) > 512:
            cache.clear()
        cache[key] = aggregated_below_zoom(conn, source, budget)
    return cache[key]


@bp.route("/<slug>/<int:z>/<int:x>/<int:y>.pbf")
def tile(slug, z, x, y):
    conn = serving_connection()
    layer = get_layer_row(conn, slug, current_reader())
    budget = tile_budget()
    tag = etag(layer.id, layer.data_version, z, x, y, budget)
    headers = {"ETag": tag,
               "Cache-Control": "private, max-age=60" if layer.restricted_to else "public, max-age=60",
               "Vary": "Authorization, Cookie"}
    if request.if_none_match.contains(tag.strip('"')):
        return Response(status=304, headers=headers)
    key = (layer.id, layer.data_version, z, x, y, budget)
    cache = tile_cache()
    data = cache.get(key)
    if data is None:
        data = render_tile(conn, source_of(conn, layer), layer.slug, z, x, y, budget)
        cache.put(key, data)
    if not data:
        return Response(status=204, headers=headers)
    return Response(data, mimetype=MVT, headers=headers)


@bp.route("/<slug>.json")
def tilejson_doc(slug):
    session = get_session()
    layer = get_layer(session, slug, current_reader())
    conn = session.connection()
    source = source_of(conn, layer)
    template = external_url("tiles.tile", slug=slug, z=0, x=0, y=0).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    query = {"v": str(layer.data_version), **token_args()}
    template += "?" + urlencode(query)
    budget = tile_budget()
    return tilejson(layer, source, cached_stats(conn, layer, source), template,
                    cached_aggregated_below_zoom(conn, layer, source, budget), budget)

