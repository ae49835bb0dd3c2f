"""Point tiles are bounded: past the feature/byte budget a tile carries grid aggregates."""
from __future__ import annotations

from collections import Counter

import mapbox_vector_tile
import morecantile
import pytest
from sqlalchemy import text

from layers.tiles import EXTENT, tile_bounds

TMS = morecantile.tms.get("WebMercatorQuad")
BUDGET = 50


@pytest.fixture
def low_budget(app):
    app.config["TILE_MAX_FEATURES"] = BUDGET
    return app


def _points(connection):
    return connection.execute(text(
        "SELECT id, kind, ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat "
        "FROM layertest.places")).all()


def _in_tile(connection, z, x, y):
    x0, y0, x1, y1 = tile_bounds(z, x, y)
    return connection.execute(text(
        "SELECT id, kind FROM layertest.places WHERE ST_Intersects(ST_Transform(geom, 3857), "
        "ST_MakeEnvelope(:a, :b, :c, :d, 3857))"), {"a": x0, "b": y0, "c": x1, "d": y1}).all()


def test_dense_tile_carries_counts_summing_to_its_points(low_budget, client, connection):
    t = TMS.tile(2.30, 48.83, 11)
    expected = _in_tile(connection, t.z, t.x, t.y)
    assert len(expected) > BUDGET
    resp = client.get(f"/tiles/t-places/{t.z}/{t.x}/{t.y}.pbf")
    assert resp.status_code == 200 and len(resp.data) <= low_budget.config["TILE_MAX_BYTES"]
    features = mapbox_vector_tile.decode(resp.data)["t-places"]["features"]
    assert 1 < len(features) <= BUDGET * 10
    assert all(set(f["properties"]) == {"count", "category"} for f in features)
    assert sum(f["properties"]["count"] for f in features) == len(expected)
    assert {f["properties"]["category"] for f in features} <= {"banc", "fontaine", "poubelle"}
    # each cell's point lies inside the tile, at a cell centre
    for f in features:
        px, py = f["geometry"]["coordinates"]
        assert 0 < px < EXTENT and 0 < py < EXTENT and px % (EXTENT // 64) == EXTENT // 128
    # a cell holding one point names that point's category
    kinds = Counter(k for _, k in expected)
    singles = [f for f in features if f["properties"]["count"] == 1]
    assert all(kinds[f["properties"]["category"]] for f in singles)
    again = client.get(f"/tiles/t-places/{t.z}/{t.x}/{t.y}.pbf", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_dominant_category_of_a_cell(low_budget, client, connection):
    """One z7 tile, 64 cells: the cell holding the whole set of places names its most frequent kind."""
    t = TMS.tile(2.30, 48.83, 7)
    features = mapbox_vector_tile.decode(client.get(f"/tiles/t-places/{t.z}/{t.x}/{t.y}.pbf").data)["t-places"]["features"]
    biggest = max(features, key=lambda f: f["properties"]["count"])
    rows = connection.execute(text(
        "SELECT kind, ST_X(ST_Transform(geom, 3857)) AS x, ST_Y(ST_Transform(geom, 3857)) AS y "
        "FROM layertest.places")).all()
    x0, y0, x1, y1 = tile_bounds(t.z, t.x, t.y)
    cell = (x1 - x0) / 64
    cx, cy = biggest["geometry"]["coordinates"]
    i, j = cx // 64, cy // 64
    in_cell = Counter(r.kind for r in rows if int((r.x - x0) // cell) == i and int((r.y - y0) // cell) == j)
    assert sum(in_cell.values()) == biggest["properties"]["count"]
    top = max(in_cell.values())
    assert in_cell[biggest["properties"]["category"]] == top


def test_tile_under_the_budget_keeps_its_points(low_budget, client, connection):
    t = TMS.tile(2.304, 48.83, 14)
    expected = _in_tile(connection, t.z, t.x, t.y)
    assert 0 < len(expected) <= BUDGET
    features = mapbox_vector_tile.decode(client.get(f"/tiles/t-places/{t.z}/{t.x}/{t.y}.pbf").data)["t-places"]["features"]
    assert {f["id"] for f in features} >= {r.id for r in expected}
    one = next(f for f in features if f["id"] == expected[0].id)
    assert one["properties"]["name"].startswith("Lieu n°") and one["properties"]["kind"] == expected[0].kind
    assert "count" not in one["properties"]


def test_byte_budget_alone_aggregates_and_coarsens(app, client, connection):
    """Under the feature budget but over the byte budget: aggregated, on a grid coarse enough to fit."""
    app.config["TILE_MAX_BYTES"] = 1500
    t = TMS.tile(2.30, 48.83, 11)
    resp = client.get(f"/tiles/t-places/{t.z}/{t.x}/{t.y}.pbf")
    assert 0 < len(resp.data) <= 1500
    features = mapbox_vector_tile.decode(resp.data)["t-places"]["features"]
    assert sum(f["properties"]["count"] for f in features) == len(_in_tile(connection, t.z, t.x, t.y))
    app.config["TILE_MAX_BYTES"] = 500 * 1024
    plain = client.get(f"/tiles/t-places/{t.z}/{t.x}/{t.y}.pbf")
    assert plain.headers["ETag"] != resp.headers["ETag"]
    assert "name" in mapbox_vector_tile.decode(plain.data)["t-places"]["features"][0]["properties"]


def test_polygon_layer_is_never_aggregated(low_budget, client):
    t = TMS.tile(2.35, 48.86, 11)
    feats = mapbox_vector_tile.decode(client.get(f"/tiles/t-areas/{t.z}/{t.x}/{t.y}.pbf").data)["t-areas"]["features"]
    assert len(feats) > BUDGET and "name" in feats[0]["properties"]


def test_tilejson_reports_the_aggregated_zooms(low_budget, client, connection):
    doc = client.get("/tiles/t-places.json").get_json()
    below = doc["ova:aggregated_below_zoom"]
    assert doc["ova:tile_budget"] == {"max_bytes": 500 * 1024, "max_features": BUDGET}
    layer = doc["vector_layers"][0]
    assert layer["fields"]["count"] == "Number" and layer["fields"]["category"] == "String"
    assert str(BUDGET) in layer["description"] and f"inférieurs à {below}" in layer["description"]
    # checked against the tiles of every point, counted here in Python
    points = _points(connection)

    def densest(z):
        return max(Counter(tuple(TMS.tile(p.lon, p.lat, z))[:2] for p in points).values())

    assert densest(below) <= BUDGET < densest(below - 1)
    polygons = client.get("/tiles/t-areas.json").get_json()
    assert "ova:aggregated_below_zoom" not in polygons


def test_an_aggregated_tile_projects_each_point_once(connection):
    """At city zooms an aggregated tile reads every point: the projection to Web Mercator is computed
    once per point, never repeated in the scan's filter or in a sort of every point."""
    from layers.sources import describe
    from layers.tiles import BUFFER, aggregate_sql, clip_params

    source = describe(connection, "layertest.places")
    t = TMS.tile(2.30, 48.83, 7)
    x0, y0, x1, y1 = tile_bounds(t.z, t.x, t.y)
    bounds = {**clip_params((x0, y0, x1, y1), (x1 - x0) * BUFFER / EXTENT, source.srid),
              "x0": x0, "y0": y0, "x1": x1, "y1": y1, "cell": (x1 - x0) / 64, "n": 64}
    plan = "\n".join(connection.execute(text("EXPLAIN (VERBOSE) " + aggregate_sql(source, "t")), bounds).scalars())
    assert plan.count("st_transform(t.geom") == 1, plan
    # rendered, the points are grouped by hashing (no sort of every point), the session left as it was
    from layers.tiles import TileBudget, render_aggregates

    connection.execute(text("SET enable_sort = on"))
    assert render_aggregates(connection, source, "t", bounds, TileBudget())
    assert connection.scalar(text("SHOW enable_sort")) == "on"
