"""OGC API Features under /ogc: a thin Flask adapter over layers.ogc and layers.features."""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from layers import ogc
from layers.catalogue import cached_stats, get_layer, list_layers, source_of
from portal.catalogue.access import current_reader, token_args
from portal.catalogue.serving import init_blueprint, serving_connection
from portal.database import get_session
from portal.ogc.items import item_document, item_feature, item_links, items_page, response_format
from portal.urls import external_url

bp = Blueprint("ogc", __name__)
init_blueprint(bp)

API_TITLE = "Portail OVA — OGC API Features"


def _format() -> str:
    """'json' or 'html', from ``f`` or else the Accept header (JSON by default)."""
    return response_format(request.args.get("f"), request.headers.get("Accept"))


#: The API's base URL by (host URL, script root): url_for with _external costs more per request
#: than the rest of an items response's envelope, and depends on nothing else.
_BASES: dict[tuple[str, str], str] = {}


def _base() -> str:
    key = (request.host_url, request.script_root)
    base = _BASES.get(key)
    if base is None:
        if len(_BASES) > 256:
            _BASES.clear()
        base = _BASES[key] = external_url("ogc.landing").rstrip("/")
    return base


def _json(doc: dict, mimetype: str = ogc.JSON, headers: dict | None = None) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False, default=str), mimetype=mimetype, headers=headers)


def _html(title: str, doc: dict, **kwargs) -> str:
    return render_template("ogc/page.html", title=title, doc=doc, **kwargs)


@bp.route("", strict_slashes=False)
def landing():
    doc = ogc.landing(_base(), API_TITLE, token_args())
    if _format() == "html":
        return _html(API_TITLE, doc)
    return _json(doc)


@bp.route("/conformance")
def conformance():
    doc = ogc.conformance()
    if _format() == "html":
        return _html(_("Conformité"), doc, items_list=doc["conformsTo"])
    return _json(doc)


@bp.route("/api")
def api():
    slugs = [layer.slug for layer in list_layers(get_session(), current_reader())]
    doc = ogc.openapi(_base(), API_TITLE, slugs)
    if request.args.get("f") == "html":
        return _html(_("Définition de l'API"), {"links": []}, pre=json.dumps(doc, indent=2, ensure_ascii=False))
    return _json(doc, ogc.OPENAPI_JSON)


def _collection_doc(layer) -> dict:
    conn = get_session().connection()
    source = source_of(conn, layer)
    return ogc.collection(_base(), layer, cached_stats(conn, layer, source), token_args())


@bp.route("/collections")
def collections():
    layers = list_layers(get_session(), current_reader())
    doc = ogc.collections(_base(), [_collection_doc(layer) for layer in layers], token_args())
    if _format() == "html":
        return _html(_("Collections"), doc, collections=doc["collections"])
    return _json(doc)


@bp.route("/collections/<slug>")
def collection(slug):
    layer = get_layer(get_session(), slug, current_reader())
    doc = _collection_doc(layer)
    if _format() == "html":
        return _html(layer.title, doc, collections=[doc])
    return _json(doc)


@bp.route("/collections/<slug>/items")
def collection_items(slug):
    fmt = _format()
    args = {k: v for k, v in request.args.items() if k not in ("f", "lang", "api_key")}
    served = items_page(serving_connection(), slug, args, current_reader())
    query, page = served.query, served.page
    head, tail = ogc.items_envelope(_base(), slug, query, page.returned, page.matched, token_args(),
                                    last_id=page.last_id)
    headers = {"Content-Crs": f"<{query.crs.uri}>"}
    if fmt == "html":
        features = json.loads(b"[" + page.body + b"]")
        links = json.loads("{" + tail[3:])["links"]
        return _html(served.layer.title, {"links": links}, features=features, columns=list(served.source.columns),
                     number_matched=page.matched), 200, headers
    return Response(b"".join((head.encode(), page.body, tail.encode())), mimetype=ogc.GEOJSON, headers=headers)


@bp.route("/collections/<slug>/items/<feature_id>")
def collection_item(slug, feature_id):
    fmt = _format()
    served = item_feature(serving_connection(), slug, feature_id, request.args.get("crs"), current_reader())
    headers = {"Content-Crs": f"<{served.crs.uri}>"}
    if fmt == "html":
        links = item_links(_base(), slug, feature_id, token_args())
        feature = json.loads(served.feature)
        feature["links"] = links
        return _html(f"{served.layer.title} — {feature_id}", {"links": links}, features=[feature],
                     columns=list(served.source.columns)), 200, headers
    body = item_document(served.feature, _base(), slug, feature_id, token_args())
    return Response(body, mimetype=ogc.GEOJSON, headers=headers)
