"""Mapbox vector tiles from ST_AsMVT on the Web Mercator grid, with a cache keyed by data version."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import morecantile
from sqlalchemy import text

from layers.sources import Source
from ova.errors import InvalidInput
from ova.sqlnames import quote_ident

TMS = morecantile.tms.get("WebMercatorQuad")
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
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


def tile_sql(source: Source, layer_name: str) -> str:
    """The SQL of one MVT tile of ``source`` (parameters: x0, y0, x1, y1, m = margin in metres)."""
    clauses, _ = source.where_filters()
    integer_id = source.id_type in ("integer", "bigint", "smallint")
    props = [_property(source, n) for n in source.columns]
    if not integer_id:
        props.insert(0, "t.id::text AS id")
    cols = ", ".join((["t.id"] if integer_id else []) + props)
    where = " AND ".join(clauses + [
        f"t.geom && ST_Transform(ST_Expand(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), :m), {int(source.srid)})"])
    fid = ", 'id'" if integer_id else ""
    name = layer_name.replace("'", "''")
    return (
        f"SELECT ST_AsMVT(q, '{name}', {EXTENT}, 'geom'{fid}) FROM ("
        f"SELECT {cols}, ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), "
        f"{EXTENT}, {BUFFER}, true) AS geom FROM {source.qualified} t WHERE {where}) q WHERE q.geom IS NOT NULL"
    )


def render_tile(conn, source: Source, layer_name: str, z: int, x: int, y: int) -> bytes:
    """Render tile z/x/y of ``source`` as MVT bytes (empty bytes when no feature)."""
    x0, y0, x1, y1 = tile_bounds(z, x, y)
    _, params = source.where_filters()
    margin = (x1 - x0) * BUFFER / EXTENT
    data = conn.execute(text(tile_sql(source, layer_name)),
                        {**params, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "m": margin}).scalar()
    return bytes(data or b"")


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


def etag(layer_id: int, data_version: int, z: int, x: int, y: int) -> str:
    """A strong ETag that changes whenever the layer's data changes."""
    digest = hashlib.sha1(f"{layer_id}:{data_version}:{z}:{x}:{y}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def tilejson(layer, source: Source, stats: dict, tile_url: str) -> dict:
    """The TileJSON 3.0 document of a layer's vector tiles."""
    bounds = stats.get("bbox") or [-180.0, -85.0511, 180.0, 85.0511]
    fields = {n: ("Number" if source.columns[n] in {"integer", "bigint", "smallint", "double precision", "real",
                                                    "numeric"} else "String") for n in source.columns}
    return {
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
        "vector_layers": [{"id": layer.slug, "description": layer.title, "fields": fields,
                           "minzoom": 0, "maxzoom": MAX_ZOOM}],
    }
