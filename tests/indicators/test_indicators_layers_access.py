"""Published indicator layers: the detailed ones are restricted to banque/admin on every channel,
the public one is open and carries suppressed values (issue #8: page, export, OGC API and tiles)."""
from __future__ import annotations

import json

import morecantile
import pyproj
import pytest

from indicators import publication
from tests.indicators.conftest import X0, Y0

DETAIL = ("indicateurs-quartiers-detail", "indicateurs-zones-detail")
PUBLIC = "indicateurs-quartiers"


@pytest.fixture
def published(connection, computed):
    publication.publish(connection, 5)
    lon, lat = pyproj.Transformer.from_crs(2154, 4326, always_xy=True).transform(X0 + 300, Y0 + 300)
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 14)
    return {**computed, "tile": f"14/{tile.x}/{tile.y}"}


def _channels(slug, item_id, tile):
    return [f"/catalogue/{slug}", f"/catalogue/{slug}/download.geojson", f"/catalogue/{slug}/download.csv",
            f"/catalogue/{slug}/download.gpkg", f"/ogc/collections/{slug}", f"/ogc/collections/{slug}/items",
            f"/ogc/collections/{slug}/items/{item_id}", f"/tiles/{slug}.json", f"/tiles/{slug}/{tile}.pbf"]


@pytest.mark.parametrize("slug", DETAIL)
def test_detail_layers_denied_to_anonymous_and_public_roles(slug, client, login_as, published):
    item = published["z1"] if "zones" in slug else published["q1"]
    others = {role: login_as(role) for role in ("citizen", "commercant", "agent", "urbaniste")}
    for url in _channels(slug, item, published["tile"]):
        assert client.get(url).status_code == 401, url
        for role, other in others.items():
            assert other.get(url).status_code == 403, (role, url)


@pytest.mark.parametrize("slug", DETAIL)
@pytest.mark.parametrize("role", ["banque", "admin"])
def test_detail_layers_served_to_banque_and_admin(slug, role, login_as, published):
    item = published["z1"] if "zones" in slug else published["q1"]
    c = login_as(role)
    for url in _channels(slug, item, published["tile"]):
        resp = c.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        assert len(resp.data) > 0, url


def test_public_layer_is_open_and_suppressed_detail_is_not(client, login_as, published):
    for url in _channels(PUBLIC, published["q1"], published["tile"]):
        assert client.get(url).status_code == 200, url
    public = json.loads(client.get(f"/ogc/collections/{PUBLIC}/items?code=T-Q2").data)
    assert [f["properties"]["incidents"] for f in public["features"]] == [None]
    detail = json.loads(login_as("banque").get("/ogc/collections/indicateurs-quartiers-detail/items?code=T-Q2").data)
    assert [f["properties"]["incidents"] for f in detail["features"]] == [3]
    assert "indicateurs-quartiers-detail" not in client.get("/ogc/collections").get_data(as_text=True)
