"""Mapbox vector tiles from ST_AsMVT on the Web Mercator grid, with a cache keyed by data version.

A tile of a point layer is bounded: when the tile holds more points than a :class:`TileBudget`
allows (features, bytes), it carries a grid of aggregates instead (one point per occupied cell with
its ``count`` and dominant ``category``), computed in PostGIS, in the same layer name.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import morecantile
from sqlalchemy import text

from layers.sources import Source
from ova.errors import InvalidInput
from ova.sqlnames import quote_ident
from ova.territory import clip_box

TMS = morecantile.tms.get("WebMercatorQuad")
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
#: Aggregated tiles: cells per tile side tried in turn until the tile fits the byte budget.
GRID_CELLS = (64, 32, 16, 8)
#: Highest zoom looked at when estimating from which zoom every tile fits the feature budget.
ESTIMATE_MAX_ZOOM = 18
POINT_TYPES = {"POINT", "MULTIPOINT"}
#: Property columns preferred, in order, as the ``category`` of an aggregate cell.
CATEGORY_PREFERENCE = ("category", "categorie", "kind", "type", "nature", "status")
_TEXT_TYPES = {"text", "character varying"}
_MVT_PROPERTY_TYPES = {"integer", "bigint", "smallint", "double precision", "real", "boolean", "text",
                       "character varying"}


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds of tile z/x/y (checked against the grid)."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise InvalidInput(f"no tile {z}/{x}/{y} on the WebMercatorQuad grid")
    b = TMS.xy_bounds(morecantile.Tile(x, y, z))
    return b.left, b.bottom, b.right, b.top


def _property(source: Source, name: str) -> str:
    kind = source.columns[name]
    col = f"t.{quote_ident(name)}"
    if kind in _MVT_PROPERTY_TYPES:
        return f"{col} AS {quote_ident(name)}"
    if kind == "numeric":
        return f"{col}::float8 AS {quote_ident(name)}"
    return f"{col}::text AS {quote_ident(name)}"


#: The features' filter: the tile with its margin, clipped to the territory's extent (cx0 … cy1, in
#: Web Mercator, see :func:`clip_params`) and segmentized (``seg``) so that its transform into the
#: storage CRS bounds the curved edges of a large tile.
_CLIPPED = "t.geom && ST_Transform(ST_Segmentize(ST_MakeEnvelope(:cx0, :cy0, :cx1, :cy1, 3857), :seg), {srid})"


def clip_params(bounds: tuple[float, float, float, float], margin: float, srid: int) -> dict | None:
    """Parameters of :data:`_CLIPPED` for a tile's ``bounds``; None when the tile misses the territory.

    The storage CRS is defined around its area of use only: a z0 tile transformed whole found nothing.
    """
    x0, y0, x1, y1 = bounds
    box = clip_box((x0 - margin, y0 - margin, x1 + margin, y1 + margin), 3857, srid)
    if box is None:
        return None
    return {"cx0": box[0], "cy0": box[1], "cx1": box[2], "cy1": box[3], "seg": max(box[2] - box[0], box[3] - box[1]) / 16}


def tile_sql(source: Source, layer_name: str) -> str:
    """The SQL of one MVT tile of ``source`` (parameters: x0, y0, x1, y1, tol, those of :func:`clip_params`)."""
    clauses, _ = source.where_filters()
    integer_id = source.id_type in ("integer", "bigint", "smallint")
    props = [_property(source, n) for n in source.columns]
    if not integer_id:
        props.insert(0, "t.id::text AS id")
    cols = ", ".join((["t.id"] if integer_id else []) + props)
    where = " AND ".join(clauses + [
        _CLIPPED.format(srid=int(source.srid))])
    fid = ", 'id'" if integer_id else ""
    name = layer_name.replace("'", "''")
    return (
        f"SELECT ST_AsMVT(q, '{name}', {EXTENT}, 'geom'{fid}) FROM ("
        f"SELECT {cols}, {_mvt_geom(source)} AS geom FROM {source.qualified} t WHERE {where}) q WHERE q.geom IS NOT NULL"
    )


def _mvt_geom(source: Source) -> str:
    """The feature's tile geometry.

    Lines and polygons are simplified (Douglas-Peucker, collapsed rings kept) to ``:tol``, half a
    tile pixel in Web Mercator metres, before ST_AsMVTGeom snaps and repairs them: a low-zoom
    quartier tile carries the outline a screen can draw rather than every surveyed vertex. One
    smaller than a pixel (every quartier at zoom 0) becomes a point on its surface instead of
    vanishing from the tile. Points are left as they are (their tiles are bounded by aggregation).
    """
    envelope = "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857)"
    if is_point_layer(source):
        return f"ST_AsMVTGeom(ST_Transform(t.geom, 3857), {envelope}, {EXTENT}, {BUFFER}, true)"
    geom = f"ST_AsMVTGeom(ST_Simplify(ST_Transform(t.geom, 3857), :tol, true), {envelope}, {EXTENT}, {BUFFER}, true)"
    point = f"ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(t.geom), 3857), {envelope}, {EXTENT}, {BUFFER}, true)"
    return f"coalesce({geom}, {point})"


@dataclass(frozen=True)
class TileBudget:
    """The most a point tile may carry before it is aggregated (OVA_TILE_MAX_BYTES/_FEATURES)."""

    max_bytes: int = 500 * 1024
    max_features: int = 20_000


def is_point_layer(source: Source) -> bool:
    """True when ``source`` holds points (its tiles are aggregated past the budget)."""
    return (source.geometry_type or "").upper() in POINT_TYPES


def category_column(source: Source) -> str | None:
    """The text column summarised as the dominant ``category`` of an aggregate cell, if any."""
    for name in CATEGORY_PREFERENCE:
        if source.columns.get(name) in _TEXT_TYPES:
            return name
    return next((n for n, kind in source.columns.items() if kind in _TEXT_TYPES and n != "id"), None)


def _point_3857(source: Source) -> str:
    point = "ST_Centroid(t.geom)" if (source.geometry_type or "").upper() == "MULTIPOINT" else "t.geom"
    return f"ST_Transform({point}, 3857)"


def count_sql(source: Source) -> str:
    """SQL counting the points of a tile, index-backed and capped (parameters as tile_sql, plus cap)."""
    clauses, _ = source.where_filters()
    where = " AND ".join(clauses + [
        _CLIPPED.format(srid=int(source.srid))])
    return f"SELECT count(*) FROM (SELECT 1 FROM {source.qualified} t WHERE {where} LIMIT :cap) s"


def aggregate_sql(source: Source, layer_name: str) -> str:
    """The SQL of an aggregated tile: one point per occupied grid cell (parameters: x0..y1, cell, n).

    Cells are ``cell`` metres wide in Web Mercator, ``n`` per tile side, aligned on the tile; a point
    belongs to the cell holding it (the tile's west and south edges included, east and north
    excluded), so the counts of a tile sum to its points and neighbouring tiles never count one twice.

    An aggregated tile reads every point under it (all of them at city zooms), so the cost per point
    is the tile's cost: each point is projected once (``OFFSET 0`` fences the projection, which the
    planner otherwise pushed into the scan's filter, evaluated five times per point), and counted
    per cell and category in a hash aggregate (the cells of the tile's buffer margin, counted too,
    are dropped after it: filtered before, their estimate led the planner to sort every point), the dominant
    category then read from those counts (as ``mode()``: the most frequent, ties to the first in
    order, NULL ignored) instead of sorting every point (1 000 000 points, z8: 11.9 s → see
    ``bench/scale.py``).
    """
    clauses, _ = source.where_filters()
    where = " AND ".join(clauses + [
        _CLIPPED.format(srid=int(source.srid))])
    category = category_column(source)
    picked = f", t.{quote_ident(category)}::text AS cat" if category else ", NULL::text AS cat"
    name = layer_name.replace("'", "''")
    return (
        f"SELECT ST_AsMVT(q, '{name}', {EXTENT}, 'geom') FROM ("
        "SELECT sum(k.n)::integer AS count, "
        "(array_agg(k.cat ORDER BY k.n DESC, k.cat) FILTER (WHERE k.cat IS NOT NULL))[1] AS category, "
        "ST_AsMVTGeom(ST_MakePoint(:x0 + (k.i + 0.5) * :cell, :y0 + (k.j + 0.5) * :cell), "
        f"ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), {EXTENT}, 0, false) AS geom FROM ("
        "SELECT c.i, c.j, c.cat, count(*) AS n FROM ("
        "SELECT floor((ST_X(g.p) - :x0) / :cell)::integer AS i, floor((ST_Y(g.p) - :y0) / :cell)::integer AS j, "
        f"g.cat FROM (SELECT {_point_3857(source)} AS p{picked} FROM {source.qualified} t WHERE {where} "
        "OFFSET 0) g) c GROUP BY c.i, c.j, c.cat OFFSET 0) k "
        "WHERE k.i BETWEEN 0 AND :n - 1 AND k.j BETWEEN 0 AND :n - 1 GROUP BY k.i, k.j) q"
    )


def render_tile(conn, source: Source, layer_name: str, z: int, x: int, y: int,
                budget: TileBudget | None = None) -> bytes:
    """Render tile z/x/y of ``source`` as MVT bytes (empty bytes when no feature).

    A point layer's tile over more points than ``budget`` allows (counted first, capped at the
    budget + 1, so a dense tile costs no more than the budget to decide) carries grid aggregates.
    """
    budget = budget or TileBudget()
    x0, y0, x1, y1 = tile_bounds(z, x, y)
    _, params = source.where_filters()
    margin = (x1 - x0) * BUFFER / EXTENT
    clipped = clip_params((x0, y0, x1, y1), margin, source.srid)
    if clipped is None:
        return b""
    bounds = {**params, **clipped, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
    if is_point_layer(source):
        n = conn.execute(text(count_sql(source)), {**bounds, "cap": budget.max_features + 1}).scalar()
        if n > budget.max_features:
            return render_aggregates(conn, source, layer_name, bounds, budget)
    tolerance = (x1 - x0) / EXTENT / 2          # half a pixel of the tile's grid, in metres
    data = bytes(conn.execute(text(tile_sql(source, layer_name)), {**bounds, "tol": tolerance}).scalar() or b"")
    if is_point_layer(source) and len(data) > budget.max_bytes:
        return render_aggregates(conn, source, layer_name, bounds, budget)
    return data


def render_aggregates(conn, source: Source, layer_name: str, bounds: dict, budget: TileBudget) -> bytes:
    """The aggregated tile: the finest grid of :data:`GRID_CELLS` whose tile fits the byte budget."""
    sql = text(aggregate_sql(source, layer_name))
    data = b""
    # The planner, which cannot know how few cells the points fall in, would sort every point to
    # group them (spilling to disk past a million); the hash aggregate holds a few thousand cells.
    # Restored after; on an error inside a transaction, its rollback restores it (the serving
    # connections are in autocommit: restored at once).
    previous = conn.execute(text("SELECT current_setting('enable_sort'), set_config('enable_sort', 'off', false)")).one()[0]
    restore = text("SELECT set_config('enable_sort', :v, false)")
    try:
        for n in GRID_CELLS:
            cell = (bounds["x1"] - bounds["x0"]) / n
            data = bytes(conn.execute(sql, {**bounds, "cell": cell, "n": n}).scalar() or b"")
            if len(data) <= budget.max_bytes:
                break
    except Exception:
        if conn.connection.driver_connection.autocommit:
            conn.execute(restore, {"v": previous})
        raise
    conn.execute(restore, {"v": previous})
    return data


def aggregated_below_zoom(conn, source: Source, budget: TileBudget) -> int | None:
    """The lowest zoom from which every tile of a point layer holds at most ``budget.max_features``.

    Tiles below it over dense areas carry aggregates (a tile is still decided on its own count:
    a sparse one keeps its points). Estimated in one pass over the layer: the points are counted
    per tile at :data:`ESTIMATE_MAX_ZOOM` and those counts rolled up zoom by zoom (the tiles'
    64-pixel buffers are not counted). 0 for an empty layer; None for a layer that is not points,
    or whose densest tile is over the budget even at :data:`ESTIMATE_MAX_ZOOM`.
    """
    if not is_point_layer(source):
        return None
    clauses, params = source.where_filters()
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    half = 20037508.342789244
    size = 2 * half / 2 ** ESTIMATE_MAX_ZOOM
    row = conn.execute(text(
        "WITH p AS (SELECT floor((ST_X(g) + :h) / :s)::bigint AS tx, floor((:h - ST_Y(g)) / :s)::bigint AS ty "
        f"FROM (SELECT {_point_3857(source)} AS g FROM {source.qualified} t {where}) q), "
        "c AS (SELECT tx, ty, count(*) AS n FROM p GROUP BY tx, ty), "
        "z AS (SELECT k, max(n) AS densest FROM ("
        "SELECT k, sum(n) AS n FROM c, generate_series(0, :zmax) AS k GROUP BY k, tx >> (:zmax - k), ty >> (:zmax - k)"
        ") r GROUP BY k) "
        "SELECT (SELECT count(*) FROM z) AS zooms, (SELECT min(k) FROM z WHERE densest <= :cap) AS fits"),
        {**params, "h": half, "s": size, "zmax": ESTIMATE_MAX_ZOOM, "cap": budget.max_features}).one()
    return 0 if row.zooms == 0 else row.fits


class TileCache:
    """A bounded in-process LRU of tiles keyed by (layer id, data version, z, x, y).

    A data change bumps the layer's data_version, so stale tiles are never served: their keys are
    simply never asked for again and age out of the LRU.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            tile = self._data.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, key: tuple, tile: bytes) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = tile
            self._size += len(tile)
            while self._size > self.max_bytes and self._data:
                _, old = self._data.popitem(last=False)
                self._size -= len(old)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0


def etag(layer_id: int, data_version: int, z: int, x: int, y: int, budget: TileBudget | None = None) -> str:
    """A strong ETag that changes whenever the layer's data (or the tile budget) changes."""
    budget = budget or TileBudget()
    key = f"{layer_id}:{data_version}:{z}:{x}:{y}:{budget.max_bytes}:{budget.max_features}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:20]
    return f'"{digest}"'


def tilejson(layer, source: Source, stats: dict, tile_url: str, aggregated_below: int | None = None,
             budget: TileBudget | None = None) -> dict:
    """The TileJSON 3.0 document of a layer's vector tiles.

    For a point layer, ``ova:aggregated_below_zoom`` gives the zoom below which dense tiles carry
    grid aggregates (``count``, ``category``) instead of points, and the budget that decides it.
    """
    budget = budget or TileBudget()
    bounds = stats.get("bbox") or [-180.0, -85.0511, 180.0, 85.0511]
    fields = {n: ("Number" if source.columns[n] in {"integer", "bigint", "smallint", "double precision", "real",
                                                    "numeric"} else "String") for n in source.columns}
    description = layer.title
    extra = {}
    if is_point_layer(source):
        category = category_column(source)
        extra = {"ova:aggregated_below_zoom": aggregated_below,
                 "ova:tile_budget": {"max_bytes": budget.max_bytes, "max_features": budget.max_features}}
        shown = "tous les zooms" if aggregated_below is None else f"les zooms inférieurs à {aggregated_below}"
        description = (f"{layer.title}. Une tuile de plus de {budget.max_features} points ou "
                       f"{budget.max_bytes} octets ({shown} sur les zones denses) porte une grille "
                       "d'agrégats : un point par cellule avec `count` (nombre de points) et `category` "
                       f"(valeur la plus fréquente de `{category or '-'}`).")
        fields = {**fields, "count": "Number", "category": "String"} if "count" not in fields else fields
    return {
        **extra,
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.abstract or "",
        "attribution": layer.attribution or layer.licence,
        "version": f"1.0.{layer.data_version}",
        "scheme": "xyz",
        "tiles": [tile_url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 12],
        "vector_layers": [{"id": layer.slug, "description": description, "fields": fields,
                           "minzoom": 0, "maxzoom": MAX_ZOOM}],
    }
