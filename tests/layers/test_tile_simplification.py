"""Polygon tiles are simplified to the tile's resolution: smaller at low zooms, no feature lost."""
from __future__ import annotations

import mapbox_vector_tile
import morecantile
import pytest
from sqlalchemy import text

from layers.tiles import BUFFER, EXTENT, tile_bounds

TMS = morecantile.tms.get("WebMercatorQuad")


def _unsimplified(connection, z: int, x: int, y: int) -> bytes:
    """The same tile without simplification (ST_AsMVTGeom alone), for comparison."""
    x0, y0, x1, y1 = tile_bounds(z, x, y)
    return bytes(connection.scalar(text(
        "SELECT ST_AsMVT(q, 't-areas', :e, 'geom') FROM (SELECT id, name, ST_AsMVTGeom(ST_Transform(geom, 3857), "
        "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), :e, :b, true) AS geom FROM layertest.areas) q "
        "WHERE q.geom IS NOT NULL"), {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "e": EXTENT, "b": BUFFER}) or b"")


def _vertices(tile: bytes) -> int:
    def count(coords):
        return 1 if isinstance(coords[0], (int, float)) else sum(count(c) for c in coords)
    return sum(count(f["geometry"]["coordinates"]) for f in mapbox_vector_tile.decode(tile)["t-areas"]["features"])


@pytest.mark.parametrize("z", [9, 11])
def test_low_zoom_polygon_tile_is_simplified_and_keeps_every_quartier(client, connection, z):
    t = TMS.tile(2.345, 48.86, z)
    resp = client.get(f"/tiles/t-areas/{t.z}/{t.x}/{t.y}.pbf")
    assert resp.status_code == 200
    raw = _unsimplified(connection, t.z, t.x, t.y)
    ids = {f["properties"]["id"] for f in mapbox_vector_tile.decode(resp.data)["t-areas"]["features"]}
    assert ids == {f["properties"]["id"] for f in mapbox_vector_tile.decode(raw)["t-areas"]["features"]}
    assert len(ids) == (80 if z == 9 else 79)                    # z11: one quartier lies off the tile
    assert len(resp.data) < 0.75 * len(raw), (len(resp.data), len(raw))
    assert _vertices(resp.data) < 0.75 * _vertices(raw)


def test_high_zoom_polygon_tile_keeps_the_shape(client, connection):
    """At z17 half a pixel is about half a metre: the outline is what ST_AsMVTGeom alone draws."""
    t = TMS.tile(2.3522, 48.8566, 17)
    resp = client.get(f"/tiles/t-areas/{t.z}/{t.x}/{t.y}.pbf")
    raw = _unsimplified(connection, t.z, t.x, t.y)
    assert abs(_vertices(resp.data) - _vertices(raw)) <= 0.05 * _vertices(raw) + 2
