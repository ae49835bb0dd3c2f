"""OGC API Features documents (landing, conformance, collections, OpenAPI), framework-free.

Every function takes the API's absolute base URL (``…/ogc``) and returns plain dicts.
"""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from layers.catalogue import LICENCE_URLS
from layers.features import CRS84, MAX_LIMIT, ItemsQuery, epsg_uri, served_crs
from ova.settings import storage_srid

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
]


def storage_crs_uri() -> str:
    """URI of the storage CRS (``OVA_STORAGE_CRS``), the collections' ``storageCrs``."""
    return epsg_uri(storage_srid())


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _q(args: dict) -> str:
    return ("?" + urlencode(args)) if args else ""


def landing(base: str, title: str, extra: dict | None = None) -> dict:
    """The landing page document."""
    extra = extra or {}
    return {
        "title": title,
        "description": "OGC API Features du Portail OVA : les couches publiées par les producteurs publics d'information.",
        "links": [
            _link(f"{base}/{_q({'f': 'json', **extra})}", "self", JSON, "Ce document"),
            _link(f"{base}/{_q({'f': 'html', **extra})}", "alternate", HTML, "Ce document en HTML"),
            _link(f"{base}/api", "service-desc", OPENAPI_JSON, "Définition de l'API (OpenAPI 3.0)"),
            _link(f"{base}/api{_q({'f': 'html'})}", "service-doc", HTML, "Documentation de l'API"),
            _link(f"{base}/conformance{_q(extra)}", "conformance", JSON, "Classes de conformité"),
            _link(f"{base}/collections{_q(extra)}", "data", JSON, "Collections"),
        ],
    }


def conformance() -> dict:
    """The conformance declaration."""
    return {"conformsTo": CONFORMANCE}


def collection(base: str, layer, stats: dict, extra: dict | None = None) -> dict:
    """The description of one collection (a layer), with its computed extents."""
    extra = extra or {}
    href = f"{base}/collections/{layer.slug}"
    doc = {
        "id": layer.slug,
        "title": layer.title,
        "description": layer.abstract or "",
        "keywords": list(layer.keywords or []),
        "itemType": "feature",
        "crs": [c.uri for c in served_crs()],
        "storageCrs": storage_crs_uri(),
        "extent": {"spatial": {"bbox": [stats["bbox"] or [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}},
        "links": [
            _link(f"{href}{_q({'f': 'json', **extra})}", "self", JSON, "Cette collection"),
            _link(f"{href}{_q({'f': 'html', **extra})}", "alternate", HTML, "Cette collection en HTML"),
            _link(f"{href}/items{_q({'f': 'json', **extra})}", "items", GEOJSON, "Objets (GeoJSON)"),
            _link(f"{href}/items{_q({'f': 'html', **extra})}", "items", HTML, "Objets (HTML)"),
        ],
    }
    if stats.get("interval"):
        doc["extent"]["temporal"] = {"interval": [stats["interval"]],
                                     "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    if layer.attribution:
        doc["attribution"] = layer.attribution
    if layer.licence:
        doc["license"] = layer.licence
        if layer.licence in LICENCE_URLS:
            doc["links"].append(_link(LICENCE_URLS[layer.licence], "license", HTML, layer.licence))
    return doc


def collections(base: str, docs: list[dict], extra: dict | None = None) -> dict:
    """The collections document."""
    extra = extra or {}
    return {
        "links": [
            _link(f"{base}/collections{_q({'f': 'json', **extra})}", "self", JSON, "Collections"),
            _link(f"{base}/collections{_q({'f': 'html', **extra})}", "alternate", HTML, "Collections en HTML"),
        ],
        "crs": [c.uri for c in served_crs()],
        "collections": docs,
    }


def items_envelope(base: str, slug: str, query: ItemsQuery, returned: int, matched: int | None,
                   extra: dict | None = None, last_id: int | None = None) -> tuple[str, str]:
    """Return the text before and after the features of an items response.

    With ``last_id`` (a page in the default order) the next link continues after it (keyset);
    otherwise it moves the offset. A page reached by a cursor has no prev link (its offset is
    unknown; the link is optional).
    """
    extra = extra or {}
    href = f"{base}/collections/{slug}/items"
    args = query.args()
    tail_qs = "&" + urlencode(extra) if extra else ""
    page_qs = urlencode(args)
    links = [
        _link(f"{href}?{page_qs}&f=json{tail_qs}", "self", GEOJSON, "Cette page"),
        _link(f"{href}?{page_qs}&f=html{tail_qs}", "alternate", HTML, "Cette page en HTML"),
        _link(f"{base}/collections/{slug}{_q(extra)}", "collection", JSON, "La collection"),
    ]
    more = returned == query.limit and (matched is None or query.after is not None
                                        or query.offset + returned < matched)
    if more:
        if last_id is not None:
            following = {**{k: v for k, v in args.items() if k != "offset"}, "after": last_id}
        else:
            following = {**args, "offset": query.offset + query.limit}
        links.append(_link(f"{href}?{urlencode(following)}&f=json{tail_qs}", "next", GEOJSON, "Page suivante"))
    if query.offset > 0 and query.after is None:
        links.append(_link(f"{href}?{urlencode({**args, 'offset': max(0, query.offset - query.limit)})}&f=json"
                           f"{tail_qs}", "prev", GEOJSON, "Page précédente"))
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    tail = {"numberReturned": returned, "timeStamp": stamp, "links": links}
    if matched is not None:
        tail["numberMatched"] = matched
    tail_text = json.dumps(tail, ensure_ascii=False)
    return '{"type": "FeatureCollection", "features": [', "], " + tail_text[1:]


# --- OpenAPI 3.0 ---------------------------------------------------------------------------------

def _param(name: str, schema: dict, description: str, where: str = "query", required: bool = False,
           explode: bool = False) -> dict:
    p = {"name": name, "in": where, "required": required, "schema": schema, "description": description}
    if where == "query":
        p["style"] = "form"
        p["explode"] = explode
    return p


_LINK = {"type": "object", "required": ["href"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
    "title": {"type": "string"}, "hreflang": {"type": "string"}}}
_EXCEPTION = {"type": "object", "required": ["code"], "properties": {
    "code": {"type": "string"}, "description": {"type": "string"}}}
_GEOMETRY = {"type": "object", "nullable": True, "required": ["type"], "properties": {
    "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                        "MultiPolygon", "GeometryCollection"]},
    "coordinates": {"type": "array"}, "geometries": {"type": "array"}}}
_FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "geometry": {"$ref": "#/components/schemas/geometryGeoJSON"},
    "properties": {"type": "object", "nullable": True},
    "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}}
_FEATURE_COLLECTION = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"type": "string", "enum": ["FeatureCollection"]},
    "features": {"type": "array", "items": {"$ref": "#/components/schemas/featureGeoJSON"}},
    "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}},
    "timeStamp": {"type": "string", "format": "date-time"},
    "numberMatched": {"type": "integer", "minimum": 0},
    "numberReturned": {"type": "integer", "minimum": 0}}}
_COLLECTION = {"type": "object", "required": ["id", "links"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
    "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}},
    "extent": {"type": "object"}, "itemType": {"type": "string"},
    "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"}}}


def _response(schema_ref: str, description: str, json_type: str = JSON) -> dict:
    return {"description": description, "content": {
        json_type: {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}},
        HTML: {"schema": {"type": "string"}}}}


def _errors() -> dict:
    err = {"description": "Erreur (format d'exception OGC)",
           "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}},
                       HTML: {"schema": {"type": "string"}}}}
    return {"400": err, "401": err, "403": err, "404": err, "500": err}


def openapi(base: str, title: str, slugs: list[str]) -> dict:
    """The OpenAPI 3.0 definition of the API (generic paths for every collection)."""
    f_param = _param("f", {"type": "string", "enum": ["json", "html", "geojson"]}, "Format de la réponse")
    cid = _param("collectionId", {"type": "string", "enum": slugs} if slugs else {"type": "string"},
                 "Identifiant de la collection", where="path", required=True)
    crs_uris = [c.uri for c in served_crs()]
    items_params = [
        cid, f_param,
        _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
               "Nombre maximal d'objets renvoyés"),
        _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "Nombre d'objets sautés"),
        _param("after", {"type": "integer"}, "Curseur : objets d'identifiant supérieur (ordre par défaut ; "
               "les liens « next » l'utilisent)"),
        _param("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
               "Emprise minx,miny,maxx,maxy (dans bbox-crs, CRS84 par défaut)"),
        _param("bbox-crs", {"type": "string", "format": "uri", "enum": crs_uris}, "CRS de bbox"),
        _param("crs", {"type": "string", "format": "uri", "enum": crs_uris}, "CRS des géométries renvoyées"),
        _param("datetime", {"type": "string"}, "Instant ou intervalle RFC 3339 (start/end, .. ouvert)"),
        _param("sortby", {"type": "string"}, "Tri : +col,-col"),
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0",
                 "description": "OGC API Features du Portail OVA",
                 "license": {"name": "MIT"}},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"operationId": "getLandingPage", "summary": "Page d'accueil",
                          "parameters": [f_param],
                          "responses": {"200": _response("landingPage", "Page d'accueil"), **_errors()}}},
            "/conformance": {"get": {"operationId": "getConformance", "summary": "Conformité",
                                     "parameters": [f_param],
                                     "responses": {"200": _response("confClasses", "Classes"), **_errors()}}},
            "/collections": {"get": {"operationId": "getCollections", "summary": "Collections",
                                     "parameters": [f_param],
                                     "responses": {"200": _response("collections", "Collections"), **_errors()}}},
            "/collections/{collectionId}": {"get": {
                "operationId": "describeCollection", "summary": "Une collection", "parameters": [cid, f_param],
                "responses": {"200": _response("collectionInfo", "Collection"), **_errors()}}},
            "/collections/{collectionId}/items": {"get": {
                "operationId": "getFeatures", "summary": "Objets d'une collection",
                "description": "Tout autre paramètre nommé comme une propriété filtre par égalité.",
                "parameters": items_params,
                "responses": {"200": _response("featureCollectionGeoJSON", "Objets", GEOJSON), **_errors()}}},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "operationId": "getFeature", "summary": "Un objet",
                "parameters": [cid, _param("featureId", {"type": "string"}, "Identifiant de l'objet",
                                           where="path", required=True), f_param,
                               _param("crs", {"type": "string", "format": "uri", "enum": crs_uris}, "CRS")],
                "responses": {"200": _response("featureGeoJSON", "Objet", GEOJSON), **_errors()}}},
        },
        "components": {"schemas": {
            "link": _LINK,
            "exception": _EXCEPTION,
            "landingPage": {"type": "object", "required": ["links"], "properties": {
                "title": {"type": "string"}, "description": {"type": "string"},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}},
            "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
                "conformsTo": {"type": "array", "items": {"type": "string"}}}},
            "collections": {"type": "object", "required": ["links", "collections"], "properties": {
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}},
                "crs": {"type": "array", "items": {"type": "string"}},
                "collections": {"type": "array", "items": {"$ref": "#/components/schemas/collectionInfo"}}}},
            "collectionInfo": _COLLECTION,
            "geometryGeoJSON": _GEOMETRY,
            "featureGeoJSON": _FEATURE,
            "featureCollectionGeoJSON": _FEATURE_COLLECTION,
        }},
    }
