"""OGC API Features: documents, items parameters, errors, validated against our OpenAPI document."""
from __future__ import annotations

import json

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from sqlalchemy import text
from werkzeug.wrappers import Request as WzRequest

N_PLACES = 250


@pytest.fixture
def spec(client):
    doc = client.get("/ogc/api").get_json(force=True)
    return OpenAPI.from_dict(doc, config=Config(extra_media_type_deserializers={"application/geo+json": json.loads}))


def validated(client, spec, url, status=200, **kwargs):
    """GET ``url`` and validate the request and the response against the OpenAPI document."""
    resp = client.get(url, **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    environ = __import__("werkzeug.test", fromlist=["EnvironBuilder"]).EnvironBuilder(
        path=url.split("?")[0], query_string=url.partition("?")[2], base_url="http://localhost",
        headers=kwargs.get("headers")).get_environ()
    spec.validate_response(WerkzeugOpenAPIRequest(WzRequest(environ)), WerkzeugOpenAPIResponse(resp))
    return resp


def test_landing_conformance_and_api(client, spec):
    landing = validated(client, spec, "/ogc/").get_json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = validated(client, spec, "/ogc/conformance").get_json()
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf["conformsTo"]
    assert client.get("/ogc/api").headers["Content-Type"].startswith("application/vnd.oai.openapi+json")


def test_collections_with_computed_extents(client, spec):
    doc = validated(client, spec, "/ogc/collections").get_json()
    ids = {c["id"] for c in doc["collections"]}
    assert {"t-places", "t-areas", "t-bancs"} <= ids
    assert "t-secret" not in ids  # restricted: hidden from anonymous readers
    places = validated(client, spec, "/ogc/collections/t-places").get_json()
    minx, miny, maxx, maxy = places["extent"]["spatial"]["bbox"][0]
    assert 2.29 < minx < 2.31 and 48.82 < miny < 48.84 and maxx < 2.41 and maxy < 48.88
    assert places["extent"]["temporal"]["interval"][0][0].startswith("2024-01-02")
    assert places["license"] == "ODbL 1.0"


def test_items_paging_links_and_counts(client, spec):
    resp = validated(client, spec, "/ogc/collections/t-places/items?limit=100")
    assert resp.headers["Content-Type"] == "application/geo+json"
    assert resp.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    doc = resp.get_json(force=True)
    assert doc["numberReturned"] == 100 and doc["numberMatched"] == N_PLACES
    assert [f["id"] for f in doc["features"]] == list(range(1, 101))
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    assert "after=100" in nxt and "offset" not in nxt  # a keyset cursor, not an offset
    last = client.get("/ogc/collections/t-places/items?limit=100&offset=200").get_json(force=True)
    assert last["numberReturned"] == 50
    assert not [link for link in last["links"] if link["rel"] == "next"]
    assert [link for link in last["links"] if link["rel"] == "prev"]


def _follow(client, url):
    """Every page of ``url`` by its next links: (ids in order, numberMatched of each page, hrefs)."""
    ids, matched, hrefs = [], [], []
    while url:
        hrefs.append(url)
        doc = client.get(url).get_json(force=True)
        ids += [f["id"] for f in doc["features"]]
        matched.append(doc.get("numberMatched"))
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
        assert len(hrefs) < 50
    return ids, matched, hrefs


@pytest.mark.parametrize("query", ["limit=7", "limit=7&kind=banc", "limit=7&bbox=2.29,48.82,2.36,48.88",
                                   "limit=7&offset=30"])
def test_next_links_walk_every_feature_once_by_cursor(client, connection, query):
    """Following next links (a keyset cursor) gives exactly the features of one big page, in order."""
    ids, matched, hrefs = _follow(client, f"http://localhost/ogc/collections/t-places/items?{query}")
    whole = client.get(f"/ogc/collections/t-places/items?{query.replace('limit=7', 'limit=10000')}").get_json(force=True)
    expected = [f["id"] for f in whole["features"]]
    assert ids == expected and len(ids) > 7 and len(hrefs) == len(ids) // 7 + 1
    assert all("after=" in href and "offset" not in href for href in hrefs[1:])
    assert ids == sorted(ids)
    if "bbox" not in query:  # numberMatched is every match, on the cursor's pages too
        total = connection.scalar(text("SELECT count(*) FROM layertest.places" +
                                       (" WHERE kind = 'banc'" if "kind" in query else "")))
        assert set(matched) == {total}


def test_cursor_is_refused_with_sortby_and_checked(client):
    refused = client.get("/ogc/collections/t-places/items?sortby=-value&after=3")
    assert refused.status_code == 400 and "after" in refused.get_json()["description"]
    assert client.get("/ogc/collections/t-places/items?after=abc").status_code == 400
    sorted_page = client.get("/ogc/collections/t-places/items?sortby=-value&limit=5").get_json(force=True)
    nxt = next(link["href"] for link in sorted_page["links"] if link["rel"] == "next")
    assert "offset=5" in nxt and "after" not in nxt  # other orders page by offset


def test_items_match_database(client, connection):
    doc = client.get("/ogc/collections/t-places/items?limit=10000").get_json(force=True)
    rows = connection.execute(text(
        "SELECT id, name, kind, value, ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
        "FROM layertest.places ORDER BY id")).all()
    assert len(doc["features"]) == len(rows)
    for f, r in zip(doc["features"], rows):
        assert f["id"] == r[0] and f["properties"]["name"] == r[1] and f["properties"]["value"] == r[3]
        assert f["geometry"]["coordinates"] == pytest.approx([r[4], r[5]], abs=1e-6)


def test_bbox_omits_number_matched(client, spec):
    doc = validated(client, spec,
                    "/ogc/collections/t-places/items?bbox=2.299,48.829,2.3105,48.8345&limit=1000").get_json(force=True)
    assert "numberMatched" not in doc
    assert sorted(f["id"] for f in doc["features"]) == [1, 2, 25, 26, 27]
    for f in doc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 2.299 <= lon <= 2.3105 and 48.829 <= lat <= 48.8345


def test_bbox_crs_and_output_crs(client):
    lam = client.get("/ogc/collections/t-places/items?limit=1&crs=http://www.opengis.net/def/crs/EPSG/0/2154")
    assert lam.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/2154>"
    x, y = lam.get_json(force=True)["features"][0]["geometry"]["coordinates"]
    assert 640_000 < x < 660_000 and 6_850_000 < y < 6_870_000
    latlon = client.get("/ogc/collections/t-places/items?limit=1&crs=http://www.opengis.net/def/crs/EPSG/0/4326")
    lat, lon = latlon.get_json(force=True)["features"][0]["geometry"]["coordinates"]
    assert lat == pytest.approx(48.83) and lon == pytest.approx(2.304)
    merc = client.get("/ogc/collections/t-places/items?limit=1&crs=EPSG:3857").get_json(force=True)
    assert merc["features"][0]["geometry"]["coordinates"][0] == pytest.approx(2.304 * 20037508.342789244 / 180, abs=0.05)
    bbox = f"{x - 1},{y - 1},{x + 1},{y + 1}"
    same = client.get(f"/ogc/collections/t-places/items?bbox={bbox}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/2154")
    assert [f["id"] for f in same.get_json(force=True)["features"]] == [1]
    swapped = client.get("/ogc/collections/t-places/items?bbox=48.8299,2.3039,48.8301,2.3041"
                         "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326")
    assert [f["id"] for f in swapped.get_json(force=True)["features"]] == [1]


def test_datetime_filters_sortby_and_properties(client, spec):
    doc = validated(client, spec, "/ogc/collections/t-places/items?datetime=2024-01-02T00:00:00Z/2024-01-04T00:00:00Z"
                    ).get_json(force=True)
    assert [f["id"] for f in doc["features"]] == [1, 2, 3]
    doc = client.get("/ogc/collections/t-places/items?datetime=../2024-01-02T00:00:00Z").get_json(force=True)
    assert [f["id"] for f in doc["features"]] == [1]
    doc = client.get("/ogc/collections/t-places/items?kind=banc&sortby=-value&limit=2").get_json(force=True)
    assert [f["id"] for f in doc["features"]] == [249, 246]
    assert doc["numberMatched"] == len([i for i in range(1, N_PLACES + 1) if i % 3 == 0])
    # a layer with a fixed filter never shows other rows
    bancs = client.get("/ogc/collections/t-bancs/items?limit=1000").get_json(force=True)
    assert {f["properties"]["kind"] for f in bancs["features"]} == {"banc"}
    assert client.get("/ogc/collections/t-bancs/items?kind=fontaine").get_json(force=True)["numberReturned"] == 0


def test_single_item(client, spec):
    feature = validated(client, spec, "/ogc/collections/t-areas/items/7510501").get_json(force=True)
    assert feature["id"] == "7510501" and feature["geometry"]["type"] == "MultiPolygon"
    assert validated(client, spec, "/ogc/collections/t-places/items/99999", status=404).get_json()["code"] == "NotFound"
    assert client.get("/ogc/collections/t-places/items/abc").status_code == 404


@pytest.mark.parametrize("query, word", [
    ("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"), ("bbox=1,2,3", "bbox"),
    ("bbox=a,b,c,d", "bbox"), ("crs=EPSG:9999", "crs"), ("bbox-crs=foo&bbox=1,2,3,4", "bbox-crs"),
    ("datetime=yesterday", "datetime"), ("sortby=nope", "nope"), ("nope=1", "nope"),
    ("name'%3B--=1", "name"), ("f=xml", "f"),
])
def test_bad_parameters_give_ogc_exceptions(client, spec, query, word):
    resp = validated(client, spec, f"/ogc/collections/t-places/items?{query}", status=400) if word != "f" else \
        client.get(f"/ogc/collections/t-places/items?{query}")
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["code"] == "InvalidParameterValue" and word in body["description"]


def test_unknown_collection(client, spec):
    assert validated(client, spec, "/ogc/collections/nope/items", status=404).get_json()["code"] == "NotFound"


def test_html_variants(client):
    for url in ("/ogc/?f=html", "/ogc/collections?f=html", "/ogc/collections/t-places?f=html",
                "/ogc/collections/t-places/items?f=html&limit=5", "/ogc/collections/t-places/items/1?f=html"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.mimetype == "text/html", url
    page = client.get("/ogc/collections/t-places/items?limit=3", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and "Lieu n°1 « é »" in page.get_data(as_text=True)


def _walk(client, url: str, on_page=None) -> list[int]:
    """Follow the ``next`` links from ``url``; return the feature ids of every page, in order."""
    ids: list[int] = []
    while url:
        doc = client.get(url).get_json(force=True)
        ids += [f["id"] for f in doc["features"]]
        if on_page is not None:
            on_page(doc)
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    return ids


@pytest.mark.parametrize("sortby, order", [("", "id"), ("&sortby=kind", "kind, id"), ("&sortby=-value", "value DESC, id")])
def test_bbox_paging_is_stable_while_rows_change(client, connection, sortby, order):
    """Pages of a bbox query never overlap nor skip a feature, even when rows are updated meanwhile."""
    bbox = (2.31, 48.835, 2.37, 48.865)
    env = "ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326), 2154)"
    box = dict(zip(("x0", "y0", "x1", "y1"), bbox))
    expected = connection.execute(text(
        f"SELECT id FROM layertest.places WHERE ST_Intersects(geom, {env}) ORDER BY {order}"), box).scalars().all()
    assert len(expected) > 50
    seen: list[int] = []

    def touch_rows(doc):
        # An agent edits features meanwhile: one already served, one not yet (they move in the heap).
        seen.extend(f["id"] for f in doc["features"])
        later = [i for i in expected if i not in seen]
        connection.execute(text("UPDATE layertest.places SET name = name || '.' WHERE id = ANY(:ids)"),
                           {"ids": seen[:1] + later[-1:]})

    ids = _walk(client, "/ogc/collections/t-places/items?bbox=" + ",".join(map(str, bbox)) + "&limit=7" + sortby,
                touch_rows)
    assert ids == expected


def test_prev_link_returns_the_previous_page(client):
    base = "/ogc/collections/t-places/items?bbox=2.31,48.835,2.37,48.865&limit=9"
    first = client.get(base).get_json(force=True)
    second = client.get(base + "&offset=9").get_json(force=True)
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    back = client.get(prev).get_json(force=True)
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}


def test_number_matched_only_below_the_count_cap(client, monkeypatch):
    from layers import features

    monkeypatch.setattr(features, "COUNT_CAP", 100)
    doc = client.get("/ogc/collections/t-places/items?limit=10").get_json(force=True)
    assert "numberMatched" not in doc and doc["numberReturned"] == 10  # 250 rows: past the cap
    doc = client.get("/ogc/collections/t-places/items?limit=10&kind=banc").get_json(force=True)
    assert doc["numberMatched"] == 83  # counted: under the cap
    doc = client.get("/ogc/collections/t-places/items?limit=100&kind=banc").get_json(force=True)
    assert doc["numberMatched"] == 83 and not [link for link in doc["links"] if link["rel"] == "next"]


def test_limit_is_capped_at_10000(client, spec):
    doc = validated(client, spec, "/ogc/collections/t-places/items?limit=50000").get_json(force=True)
    assert doc["numberReturned"] == N_PLACES
    assert "limit=10000" in next(link["href"] for link in doc["links"] if link["rel"] == "self")
