"""One page of a collection's items or one item for a reader, the single item's document, and the
response format asked for: the logic shared by the Flask views (``portal.ogc.views``) and the WSGI
fast path (``portal.ogc.fast``)."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import psycopg
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from layers import ogc
from layers.catalogue import (Reader, check_layer, get_layer_row, hint, item_with_layer, page_with_layer, remember,
                              same_layer, source_of)
from layers.features import Crs, ItemsQuery, Page, crs_from, item, item_sql, items, page_sql, parse_items, to_page
from layers.sources import Source
from ova.errors import InvalidInput, NotFound

LOGGER = logging.getLogger(__name__)


def response_format(f: str | None, accept: str | None) -> str:
    """'json' or 'html', from ``f`` or else the Accept header (JSON by default)."""
    if f:
        if f in ("json", "geojson"):
            return "json"
        if f == "html":
            return "html"
        raise InvalidInput(f"f: unsupported format '{f}' (json, geojson, html)")
    if not accept:
        return "json"
    best = parse_accept_header(accept, MIMEAccept).best_match([ogc.GEOJSON, ogc.JSON, ogc.HTML], default=ogc.JSON)
    return "html" if best == ogc.HTML else "json"


@dataclass
class ItemsPage:
    """A served page: the layer row that allowed it, its source, the checked query and the page."""

    layer: object
    source: Source
    query: ItemsQuery
    page: Page


def items_page(conn, slug: str, args: Mapping[str, str], reader: Reader) -> ItemsPage:
    """The page of layer ``slug`` that ``args`` asks for, if ``reader`` may read the layer.

    With a hint of the layer (its last seen row), one statement returns the page and the layer's
    fresh row, and the fresh row decides access and whether the page was computed for the
    layer's current data; otherwise, or when the layer changed meanwhile, the layer row is read
    first. Raises NotFound/Unauthorized/Forbidden, or InvalidInput for bad parameters.
    """
    layer = hint(slug, reader)
    if layer is not None:
        source = source_of(conn, layer)
        query = parse_items(args, source)
        sql, params = page_sql(source, query)
        served = _with_fresh_layer(conn, slug, reader, layer, lambda: page_with_layer(conn, slug, sql, params))
        if served is not None:
            fresh, columns = served
            return ItemsPage(fresh, source, query, to_page(*columns))
    layer = get_layer_row(conn, slug, reader)
    source = source_of(conn, layer)
    query = parse_items(args, source)
    return ItemsPage(layer, source, query, items(conn, source, query))


@dataclass
class ServedItem:
    """A served item: the layer row that allowed it, its source, the CRS and the Feature's text."""

    layer: object
    source: Source
    crs: Crs
    feature: str


def _with_fresh_layer(conn, slug: str, reader: Reader, layer, run):
    """``(fresh layer row, result)`` of ``run()`` (one statement reading both) when the layer is
    still the hinted ``layer`` and ``reader`` may read it (else Forbidden/Unauthorized); None when
    the layer changed or the statement failed on a stale hint: the caller then reads it anew.

    ``run()`` goes inside a savepoint when ``conn`` is already in a transaction, so that a failure
    leaves it usable for the fallback query.
    """
    try:
        if conn.in_transaction():  # tests (and any transactional bind): keep it recoverable
            with conn.begin_nested():
                fresh, result = run()
        else:
            fresh, result = run()
    except (psycopg.DatabaseError, DBAPIError):  # e.g. the table was replaced since the hint was taken
        LOGGER.info("stale layer hint for %s: querying again", slug)
        return None
    fresh = check_layer(fresh, slug, reader)  # raises when denied
    if not same_layer(fresh, layer):
        return None
    remember(fresh)
    return fresh, result


def item_feature(conn, slug: str, feature_id: str, crs_arg: str | None, reader: Reader) -> ServedItem:
    """Feature ``feature_id`` of layer ``slug`` in the CRS named by ``crs_arg``, if ``reader`` may
    read the layer. Raises NotFound (layer or feature)/Unauthorized/Forbidden, then InvalidInput
    for an unsupported CRS: in that order, whatever the path taken.

    As ``items_page``: with a hint of the layer, one statement returns the Feature and the layer's
    fresh row, which decides access and whether the Feature was read for the current data.
    """
    layer = hint(slug, reader)
    if layer is not None:
        try:
            crs = crs_from(crs_arg)
            source = source_of(conn, layer)
            sql, params = item_sql(source, feature_id, crs)
        except (InvalidInput, NotFound):
            pass  # told after the layer's access check, below
        else:
            served = _with_fresh_layer(conn, slug, reader, layer, lambda: item_with_layer(conn, slug, sql, params))
            if served is not None:
                fresh, feature = served
                if feature is None:
                    raise NotFound(f"no feature '{feature_id}'")
                return ServedItem(fresh, source, crs, feature)
    layer = get_layer_row(conn, slug, reader)
    source = source_of(conn, layer)
    crs = crs_from(crs_arg)
    return ServedItem(layer, source, crs, item(conn, source, feature_id, crs))


def item_links(base: str, slug: str, feature_id: str, extra: Mapping[str, str]) -> list[dict]:
    """The links of a single item's document (``extra``: arguments carried into them, e.g. api_key)."""
    suffix = urlencode(extra)
    return [
        {"href": f"{base}/collections/{slug}/items/{feature_id}?f=json" + ("&" + suffix if suffix else ""),
         "rel": "self", "type": ogc.GEOJSON},
        {"href": f"{base}/collections/{slug}/items/{feature_id}?f=html" + ("&" + suffix if suffix else ""),
         "rel": "alternate", "type": ogc.HTML},
        {"href": f"{base}/collections/{slug}" + ("?" + suffix if suffix else ""), "rel": "collection",
         "type": ogc.JSON},
    ]


#: The links' JSON of a single item by (base, slug, carried arguments), cut where the id goes.
_LINKS_JSON: dict[tuple, list[str]] = {}
_ID_MARK = "\x00"


def item_document(feature: str, base: str, slug: str, feature_id: str, extra: Mapping[str, str]) -> bytes:
    """The GeoJSON body of a single item: PostGIS's Feature text with its links (``item_links``)
    added as its last member, spliced in: parsing and dumping the Feature again, or even dumping
    its links, cost more than its query. The links' JSON is kept per layer with the id's place cut
    out (JSON escapes a string character by character: the escaped id fits in between)."""
    key = (base, slug, tuple(extra.items()))
    parts = _LINKS_JSON.get(key)
    if parts is None:
        parts = json.dumps(item_links(base, slug, _ID_MARK, extra), ensure_ascii=False).split("\\u0000")
        if len(parts) != 3:  # the mark's escape elsewhere (a backslash in the base URL): no template
            return _document(feature, json.dumps(item_links(base, slug, feature_id, extra), ensure_ascii=False))
        if len(_LINKS_JSON) > 1024:
            _LINKS_JSON.clear()
        _LINKS_JSON[key] = parts
    return _document(feature, json.dumps(feature_id, ensure_ascii=False)[1:-1].join(parts))


def _document(feature: str, links_json: str) -> bytes:
    return (feature[:feature.rindex("}")] + ', "links" : ' + links_json + "}").encode()
