"""Hostile-input corpus: every form field, OGC API query parameter, download and upload.

Each payload (XSS, SQL injection, path traversal, NUL bytes, huge numbers, absurd coordinates,
malformed GeoJSON/WKT, oversized bodies, zip bombs, zip-slip) must get a clear answer below 500,
leak no traceback or SQL, store nothing when refused, and never come back unescaped in a page.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from html.parser import HTMLParser

import pytest
from sqlalchemy import text

XSS = '<script>alert("ova")</script>'
PAYLOADS = {
    "xss": XSS,
    "xss-attr": '"><img src=x onerror=alert(1)>',
    "sqli": "' OR '1'='1' --",
    "sqli-stacked": "1; DROP TABLE incidents; --",
    "sqli-union": "x') UNION SELECT password_hash FROM users --",
    "traversal": "../../../../etc/passwd",
    "nul": "abc\x00def",
    "huge-int": "9" * 400,
    "huge-float": "1e309",
    "negative": "-99999999999999999999",
    "nan": "NaN",
    "unicode": "\u202e\ufeff\U0001F4A9" * 50,
    "long": "A" * 100_000,
}
#: Tables a hostile request could write to; none may change when the request is refused.
TABLES = ("incidents", "incident_reports", "priority_zones", "layers", "layer_versions", "norms", "users",
          "audit_log", "api_tokens")
#: Fragments that reveal internals in an error page (payloads may be echoed, escaped, in messages).
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "site-packages", "/work/", "(Background on this error")


def counts(connection) -> dict:
    """Row counts of the tables hostile input could write to."""
    return {t: connection.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608 (fixed names)


def check_answer(response, payload: str | None = None) -> str:
    """No 5xx, no leaked internals, and the payload never comes back unescaped in HTML."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body[:2000]
    for leak in LEAKS:
        assert leak not in body, f"{leak!r} leaked: {body[:2000]}"
    if payload and response.mimetype == "text/html" and len(payload) > 3 and "<" in payload:
        assert payload not in body, "payload rendered unescaped"
    return body


class _Fields(HTMLParser):
    """The named fields of the first form posting to the page (name → default value)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.files: set[str] = set()
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") == "file":
                self.files.add(name)
            elif a.get("type") in ("checkbox", "radio"):
                if "checked" in a or name not in self.fields:
                    self.fields[name] = a.get("value", "y")
            else:
                self.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and (not self.fields[self._select] or "selected" in a):
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_fields(client, url) -> tuple[dict, set]:
    page = client.get(url)
    assert page.status_code == 200, url
    parser = _Fields()
    body = page.get_data(as_text=True)
    # The page's own form: the largest POST form (the navigation's logout form has only a token).
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", body, re.S | re.I)
    parser.feed(max(forms, key=len) if forms else body)
    parser.fields.pop("csrf_token", None)
    return parser.fields, parser.files


# --- every field of every form -------------------------------------------------------------------

#: (role or None for anonymous, form page); their fields are read from the rendered page.
FORMS = (
    (None, "/incidents/new"),
    (None, "/login"),
    ("urbaniste", "/zones/nouvelle"),
    ("admin", "/catalogue/t-places/edit"),
    ("admin", "/normes/activites"),
)
FORM_PAYLOADS = ("xss", "xss-attr", "sqli", "sqli-union", "traversal", "nul", "huge-int", "huge-float", "long")


@pytest.fixture
def as_role(app, login_as):
    def factory(role):
        return app.test_client() if role is None else login_as(role)
    return factory


@pytest.fixture
def norm_url(connection, territory):
    from tests.builders import add_norm

    return f"/normes/normes-qualite/{add_norm(connection, 'hostile-norm', 'EP2', 'Norme')}"


@pytest.mark.parametrize("role,url", FORMS + (("admin", "/catalogue/publish"), ("urbaniste", "NORM")))
def test_every_form_field_rejects_or_escapes_hostile_input(as_role, connection, territory, norm_url, role, url):
    url = norm_url if url == "NORM" else url
    client = as_role(role)
    fields, _ = form_fields(client, url)
    assert fields, f"no field found on {url}"
    for field in fields:
        for name in FORM_PAYLOADS:
            payload = PAYLOADS[name]
            before = counts(connection)
            data = dict(fields, **{field: payload})
            response = client.post(url, data=data)
            body = check_answer(response, payload)
            if response.status_code >= 400:
                assert counts(connection) == before, (url, field, name)
            elif response.status_code in (301, 302, 303):
                follow = client.get(response.headers["Location"])
                check_answer(follow, payload)
            if "<" in payload and field in ("description", "address", "name", "title", "abstract", "note"):
                assert payload not in body


@pytest.mark.parametrize("name", ["huge-int", "huge-float", "negative", "nan", "sqli", "nul", "xss"])
def test_zone_suggestion_parameters(login_as, connection, name):
    client = login_as("urbaniste")
    payload = PAYLOADS[name]
    for param in ("distance", "min_points"):
        check_answer(client.get("/zones/api/suggestions.geojson", query_string={param: payload}), payload)
    before = counts(connection)
    for param in ("seed", "distance", "min_points"):
        data = {"seed": "1", "distance": "100", "min_points": "5", param: payload}
        response = client.post("/zones/suggestions/brouillon", data=data)
        check_answer(response, payload)
        assert counts(connection) == before, param


#: (role, path, query parameters) of the pages and feeds reading the query string (outside the OGC API).
QUERY_PARAMS = (
    (None, "/", ("indicator", "commune")),
    (None, "/api/territory.geojson", ("indicator", "commune")),
    (None, "/incidents/duplicates.json", ("category", "lat", "lon")),
    (None, "/incidents/places.json", ("q",)),
    (None, "/open311/v2/requests.json", ("service_request_id", "service_code", "start_date", "end_date", "status")),
    (None, "/indicateurs", ("niveau", "indicateur", "tri", "ordre", "unite", "periode")),
    (None, "/achats", ("acheteur", "du", "au", "commune", "section")),
    (None, "/catalogue", ("q", "producer", "theme")),
    (None, "/catalogue/t-places/download.csv", ("geometry",)),
    (None, "/quartiers/", ("q",)),
    (None, "/normes/", ("month", "producer", "norm", "quartier", "zone")),
    (None, "/login", ("next",)),
    ("admin", "/admin/audit", ("table", "page")),
    ("admin", "/incidents/queue", ("producer",)),
    ("admin", "/incidents/queue.geojson", ("producer", "overdue")),
    ("urbaniste", "/zones/api/zones.geojson", ("id",)),
)
QUERY_PAYLOADS = ("xss", "xss-attr", "sqli", "sqli-union", "traversal", "huge-int", "huge-float", "negative", "nan",
                  "long")


@pytest.mark.parametrize("role,path,params", QUERY_PARAMS, ids=[p for _, p, _ in QUERY_PARAMS])
def test_query_parameters_of_pages_and_feeds(as_role, territory, role, path, params):
    client = as_role(role)
    for param in params + ("lang",):
        for name in QUERY_PAYLOADS:
            payload = PAYLOADS[name]
            response = client.get(path, query_string={param: payload})
            check_answer(response, payload)
            assert response.status_code != 302 or not response.headers["Location"].startswith(("http", "//")), \
                (param, response.headers["Location"])


def test_integer_path_segments_of_every_route(app, as_role):
    """Every route with an ``<int:…>`` part, called with ids beyond bigint: never a 5xx."""
    client = as_role("admin")
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if type(conv).__name__ == "IntegerConverter"]
        if not ints or "GET" not in rule.methods:
            continue
        values = {name: 1 for name in rule.arguments}
        values.update({name: "x" for name, conv in rule._converters.items() if name not in ints})
        for huge in ("9" * 30, str(2 ** 63)):
            path = rule.rule
            for name in rule.arguments:
                value = huge if name in ints else values[name]
                path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", str(value), path)
            check_answer(client.get(path))


# --- the OGC API -------------------------------------------------------------------------------------

OGC_PARAMS = ("bbox", "bbox-crs", "datetime", "limit", "offset", "sortby", "crs", "name", "kind", "value", "id",
              "f")
OGC_EXTRA = {
    "bbox": ("1,2,3", "1,2,3,4,5", "180,90,-180,-90", "-1e308,-1e308,1e308,1e308", "inf,0,1,1", "nan,nan,1,1",
             "1,2,3,4,5,6,7", ",,,"),
    "bbox-crs": ("EPSG:999999", "http://www.opengis.net/def/crs/EPSG/0/-1", "file:///etc/passwd"),
    "crs": ("EPSG:999999", "http://www.opengis.net/def/crs/EPSG/0/4326' --", "http://evil.example/crs"),
    "datetime": ("2024-13-45T99:99:99Z", "../..", "2024-01-01/2023-01-01/2022", "99999-01-01", "-infinity"),
    "limit": ("0", "-1", "1.5", str(2 ** 64)),
    "offset": ("-1", str(2 ** 63), "1e3"),
    "sortby": ("-", "+name,-nope", "name;DROP TABLE layers", "geom"),
}


def _ogc_cases():
    for param in OGC_PARAMS:
        for name in ("xss", "sqli", "sqli-union", "traversal", "nul", "huge-int", "huge-float", "negative",
                     "nan", "long"):
            yield param, PAYLOADS[name]
        for value in OGC_EXTRA.get(param, ()):
            yield param, value


@pytest.mark.parametrize("path", ("/ogc/collections/t-places/items", "/ogc/collections/t-areas/items"))
def test_ogc_items_query_parameters(client, path):
    for param, value in _ogc_cases():
        for fmt in ("json", "html"):
            response = client.get(path, query_string={param: value, "f": fmt} if param != "f" else {param: value})
            check_answer(response, value)
            if response.status_code >= 400 and response.mimetype == "application/json":
                assert response.json["description"], (param, value)


@pytest.mark.parametrize("name", ["xss", "sqli", "traversal", "nul", "huge-int", "long", "negative"])
def test_ogc_path_segments(client, name):
    payload = PAYLOADS[name]
    for path in (f"/ogc/collections/{payload}", f"/ogc/collections/{payload}/items",
                 f"/ogc/collections/t-places/items/{payload}", f"/tiles/{payload}.json",
                 f"/tiles/t-places/{payload}/0/0.pbf"):
        check_answer(client.get(path), payload)


@pytest.mark.parametrize("zxy", ["99/0/0", "0/5/5", "30/1073741823/1073741823", "25/99999999999/0",
                                 "0/-1/0", str(2 ** 70) + "/0/0"])
def test_tiles_absurd_coordinates(client, zxy):
    response = client.get(f"/tiles/t-places/{zxy}.pbf")
    check_answer(response)
    assert response.status_code in (204, 400, 404)


# --- downloads --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/catalogue/t-places/download.../../etc/passwd", "/catalogue/t-places/download.csv%00.sh",
    "/catalogue/..%2f..%2fetc%2fpasswd/download.csv", "/catalogue/t-places/download.%2e%2e",
    "/catalogue/%3Cscript%3E/download.csv", "/catalogue/t-places/download.exe",
    "/incidents/1/photo/../../../etc/passwd", "/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
])
def test_download_path_traversal(client, path):
    response = client.get(path)
    body = check_answer(response)
    assert response.status_code in (400, 404), path
    assert "root:" not in body


# --- the report form and Open311: invalid values are refused, nothing stored ---------------------

REPORT_REFUSED = {
    "lat": ("1000", "-1e308", "NaN", "inf", PAYLOADS["huge-int"], PAYLOADS["sqli"], PAYLOADS["nul"], "48.85\x00"),
    "lon": ("-1000", "1e309", "nan", PAYLOADS["xss"], PAYLOADS["traversal"]),
    "category": (PAYLOADS["sqli"], PAYLOADS["xss"], PAYLOADS["nul"], "../graffiti"),
    "email": ("not-an-email", PAYLOADS["xss"], "a@b.c\x00", PAYLOADS["long"]),
    "description": ("", PAYLOADS["nul"], PAYLOADS["long"]),
}


def _report(**kw):
    data = {"category": "graffiti", "lat": "48.853", "lon": "2.3499", "description": "Tag sur la façade",
            "address": "", "email": ""}
    data.update(kw)
    return data


@pytest.mark.parametrize("field,value", [(f, v) for f, values in REPORT_REFUSED.items() for v in values])
def test_report_form_refuses_invalid_values(client, connection, territory, field, value):
    before = counts(connection)
    response = client.post("/incidents/new", data=_report(**{field: value}))
    check_answer(response, value)
    assert 400 <= response.status_code < 500
    assert counts(connection) == before


@pytest.fixture
def api_key(session, make_user):
    from portal.auth.tokens import issue_token

    return issue_token(session, make_user("commercant", "hostile-311@example.org"), "hostile")


OPEN311 = {"service_code": "category", "lat": "lat", "long": "lon", "email": "email", "description": "description"}


@pytest.mark.parametrize("field,value", [(k, v) for k, f in OPEN311.items() for v in REPORT_REFUSED[f]
                                          if v]  # an empty description is allowed by Open311
                         + [("api_key", PAYLOADS["sqli"]), ("api_key", PAYLOADS["nul"]),
                            ("address_string", PAYLOADS["nul"])])
def test_open311_refuses_invalid_values(client, connection, territory, api_key, field, value):
    data = {"api_key": api_key, "service_code": "graffiti", "lat": "48.853", "long": "2.3499",
            "description": "Tag sur la façade"}
    data[field] = value
    before = counts(connection)
    response = client.post("/open311/v2/requests.json", data=data)
    check_answer(response)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.json[0]["description"]
    assert counts(connection) == before


def _png_bomb() -> bytes:
    """A valid PNG declaring 100 000 × 100 000 pixels (10 G pixels) in a few hundred bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    side = 100_000
    rows = zlib.compress(b"\0" * (side // 8 + 1) * 64, 9)  # the first rows only: decoding would go on
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def test_report_photo_that_is_not_an_image(client, connection, territory, tmp_path, app):
    app.config["PHOTO_DIR"] = str(tmp_path / "photos")
    before = counts(connection)
    for name, data in (("x.jpg", b"<?php system($_GET['c']); ?>"), ("../../x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
                       ("x.jpg", b"GIF89a" + b"\0" * 100), ("bomb.png", _png_bomb())):
        response = client.post("/incidents/new", data=_report(photo=(io.BytesIO(data), name)),
                               content_type="multipart/form-data")
        check_answer(response)
        assert 400 <= response.status_code < 500
    assert counts(connection) == before
    assert not (tmp_path / "photos").exists() or not any((tmp_path / "photos").iterdir())


@pytest.mark.parametrize("role,url,field", [
    (None, "/incidents/new", "photo"), (None, "/open311/v2/requests.json", "media"),
    ("admin", "/catalogue/publish", "file"), ("urbaniste", "/zones/nouvelle", "upload"),
    ("citizen", "/login", "email"),
])
def test_oversized_body_is_refused_before_reading(app, as_role, connection, territory, role, url, field):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    client = as_role(role)
    before = counts(connection)
    big = io.BytesIO(b"\xff" * (2 * 1024 * 1024))
    response = client.post(url, data=_report(**{field: (big, "big.jpg")}), content_type="multipart/form-data")
    check_answer(response)
    assert response.status_code == 413
    assert counts(connection) == before


# --- uploads: zones and layer publication -----------------------------------------------------------

SQUARE = [[2.34, 48.85], [2.345, 48.85], [2.345, 48.855], [2.34, 48.855], [2.34, 48.85]]
BAD_GEOJSON = {
    "not-json": "{not json",
    "nul": '{"type": "Polygon", "coordinates": [[[2.34, 48.85]]]}\x00',
    "wkt": "POLYGON((2.34 48.85, 2.345 48.85, 2.345 48.855, 2.34 48.85))",
    "wrong-type": json.dumps({"type": "Point", "coordinates": [2.34, 48.85]}),
    "absurd": json.dumps({"type": "Polygon", "coordinates": [[[1e308, 1e308], [-1e308, 1e308], [0, 0], [1e308, 1e308]]]}),
    "out-of-range": json.dumps({"type": "Polygon", "coordinates": [[[500, 95], [501, 95], [501, 96], [500, 95]]]}),
    "self-crossing": json.dumps({"type": "Polygon", "coordinates": [[[2.34, 48.85], [2.345, 48.855], [2.345, 48.85],
                                                                     [2.34, 48.855], [2.34, 48.85]]]}),
    "open-ring": json.dumps({"type": "Polygon", "coordinates": [SQUARE[:-1]]}),
    "too-few": json.dumps({"type": "Polygon", "coordinates": [[[2.34, 48.85], [2.34, 48.85]]]}),
    "strings": json.dumps({"type": "Polygon", "coordinates": [[["a", "b"], ["c", "d"], ["e", "f"], ["a", "b"]]]}),
    "nested": "[" * 100_000 + "]" * 100_000,
    "huge": json.dumps({"type": "Polygon", "coordinates": [[[int("9" * 400), 1], [2, 3], [4, 5], [int("9" * 400), 1]]]}),
    "empty": json.dumps({"type": "FeatureCollection", "features": []}),
    "null-geometry": json.dumps({"type": "Feature", "geometry": None, "properties": {}}),
}


@pytest.mark.parametrize("name", list(BAD_GEOJSON))
@pytest.mark.parametrize("how", ["drawn", "upload"])
def test_zone_geometry_refused(login_as, connection, name, how):
    client = login_as("urbaniste")
    data = {"code": "Z-HOSTILE", "name": "Zone", "valid_from": "2030-01-01"}
    if how == "drawn":
        data["geometry"] = BAD_GEOJSON[name]
    else:
        data["upload"] = (io.BytesIO(BAD_GEOJSON[name].encode("utf-8", "surrogatepass")), "zone.geojson")
    before = counts(connection)
    response = client.post("/zones/nouvelle", data=data, content_type="multipart/form-data")
    body = check_answer(response)
    assert response.status_code == 200 and "alert-danger" in body or 400 <= response.status_code < 500, body[:1000]
    assert counts(connection) == before


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def _shapefile_parts() -> dict[str, bytes]:
    """A real one-point shapefile's parts, to wrap in hostile archives."""
    import tempfile
    from pathlib import Path

    import geopandas as gpd
    from shapely.geometry import Point

    with tempfile.TemporaryDirectory() as tmp:
        gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(2.35, 48.85)], crs=4326).to_file(Path(tmp) / "p.shp")
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir()}


def _uploads() -> dict[str, tuple[str, bytes]]:
    parts = _shapefile_parts()
    bomb = b"\0" * (300 * 1024 * 1024)  # 300 MB of zeros: ~300 kB deflated
    return {
        "zip-slip": ("slip.zip", _zip({"../../../../tmp/ova-slip.shp": parts["p.shp"],
                                       "../../../../tmp/ova-slip.dbf": parts["p.dbf"],
                                       "../../../../tmp/ova-slip.shx": parts["p.shx"]})),
        "absolute": ("abs.zip", _zip({"/tmp/ova-abs.shp": parts["p.shp"], "/tmp/ova-abs.dbf": parts["p.dbf"],
                                      "/tmp/ova-abs.shx": parts["p.shx"]})),
        "zip-bomb": ("bomb.zip", _zip({"p.shp": parts["p.shp"], "p.shx": parts["p.shx"], "p.dbf": bomb})),
        "many-entries": ("many.zip", _zip({f"f{i}.txt": b"" for i in range(20000)})),
        "nested-zip": ("nested.zip", _zip({"inner.zip": _zip({"p.shp": parts["p.shp"]})})),
        "not-a-zip": ("fake.zip", b"PK\x03\x04" + b"\0" * 100),
        "empty-zip": ("empty.zip", _zip({})),
        "shp-without-dbf": ("partial.zip", _zip({"p.shp": parts["p.shp"]})),
        "bad-geojson": ("x.geojson", b"{not json"),
        "geojson-nul": ("x.geojson", b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                                     b'{"name":"a\\u0000b"},"geometry":{"type":"Point","coordinates":[2.35,48.85]}}]}'),
        "geojson-absurd": ("x.geojson", json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {},
             "geometry": {"type": "Point", "coordinates": [1e308, -1e308]}}]}).encode()),
        "geojson-xss-column": ("x.geojson", json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {XSS: XSS, "a\"; DROP TABLE layers; --": 1},
             "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}]}).encode()),
        "csv-no-coords": ("x.csv", b"a,b\n1,2\n"),
        "csv-absurd": ("x.csv", b"lon,lat,name\n1e309,-1e309,x\n"),
        "gpkg-garbage": ("x.gpkg", b"SQLite format 3\x00" + b"\xff" * 2000),
        "traversal-name": ("../../../../etc/passwd.geojson", b"{not json"),
    }


@pytest.fixture(scope="module")
def uploads():
    return _uploads()


UPLOAD_NAMES = ("zip-slip", "absolute", "zip-bomb", "many-entries", "nested-zip", "not-a-zip", "empty-zip",
                "shp-without-dbf", "bad-geojson", "geojson-absurd", "csv-no-coords", "csv-absurd",
                "gpkg-garbage", "traversal-name")


@pytest.mark.parametrize("name", UPLOAD_NAMES)
def test_layer_publication_upload_refused(login_as, connection, uploads, name, tmp_path):
    import pathlib

    client = login_as("admin")
    filename, data = uploads[name]
    before = counts(connection)
    tables_before = connection.scalar(text("SELECT count(*) FROM pg_tables"))
    response = client.post("/catalogue/publish", data={
        "file": (io.BytesIO(data), filename), "title": "Hostile", "producer": "sig", "licence": "ODbL 1.0",
        "crs": "", "note": "", "keywords": "test", "theme": "Environnement", "contact": "sig@ville.example"},
        content_type="multipart/form-data")
    body = check_answer(response)
    assert 400 <= response.status_code < 500, body[:1500]
    assert counts(connection) == before
    assert connection.scalar(text("SELECT count(*) FROM pg_tables")) == tables_before
    for leftover in ("/tmp/ova-slip.shp", "/tmp/ova-abs.shp"):
        assert not pathlib.Path(leftover).exists()


def test_layer_publication_nul_in_a_value_is_not_stored(login_as, connection, uploads):
    """GDAL reads a string property up to its NUL byte: the value is cut there, never a 500."""
    client = login_as("admin")
    filename, data = uploads["geojson-nul"]
    response = client.post("/catalogue/publish", data={
        "file": (io.BytesIO(data), filename), "title": "Nul", "producer": "sig", "licence": "ODbL 1.0",
        "crs": "", "note": "", "keywords": "test", "theme": "Environnement", "contact": "sig@ville.example"},
        content_type="multipart/form-data")
    check_answer(response)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    slug = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    items = client.get(f"/ogc/collections/{slug}/items?f=json").json
    assert [f["properties"]["name"] for f in items["features"]] == ["a"]


def test_layer_publication_escapes_hostile_column_names(login_as, connection, uploads):
    client = login_as("admin")
    filename, data = uploads["geojson-xss-column"]
    response = client.post("/catalogue/publish", data={
        "file": (io.BytesIO(data), filename), "title": XSS, "producer": "sig", "licence": "ODbL 1.0",
        "crs": "", "note": "", "keywords": "test", "theme": "Environnement", "contact": "sig@ville.example"},
        content_type="multipart/form-data")
    check_answer(response, XSS)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    # The hostile names became plain identifiers; the tables a "DROP TABLE" aimed at are still there.
    slug = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    table = connection.scalar(text("SELECT source_table FROM layers WHERE slug = :s"), {"s": slug})
    columns = connection.scalars(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = :t "
        "ORDER BY ordinal_position"), {"t": table}).all()
    assert columns == ["id", "script_alert_ova_script", "a_drop_table_layers", "geom"]
    assert connection.scalar(text("SELECT to_regclass('public.layers') IS NOT NULL "
                                  "AND to_regclass('public.incidents') IS NOT NULL"))
    check_answer(client.get(response.headers["Location"]), XSS)
    for path in (f"/ogc/collections/{slug}/items?f=html", f"/catalogue/{slug}"):
        check_answer(client.get(path), XSS)
