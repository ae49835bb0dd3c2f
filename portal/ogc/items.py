"""One page of a collection's items for a reader, and the response format asked for: the logic
shared by the Flask views (``portal.ogc.views``) and the WSGI fast path (``portal.ogc.fast``)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from layers import ogc
from layers.catalogue import Reader, check_layer, get_layer_row, hint, page_with_layer, remember, same_layer, source_of
from layers.features import ItemsQuery, Page, items, page_sql, parse_items, to_page
from layers.sources import Source
from ova.errors import InvalidInput

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
        try:
            if conn.in_transaction():  # tests (and any transactional bind): keep it recoverable
                with conn.begin_nested():
                    fresh, columns = page_with_layer(conn, slug, sql, params)
            else:
                fresh, columns = page_with_layer(conn, slug, sql, params)
        except (psycopg.DatabaseError, DBAPIError):  # e.g. the table was replaced since the hint was taken
            LOGGER.info("stale layer hint for %s: querying again", slug)
        else:
            fresh = check_layer(fresh, slug, reader)  # raises when denied
            if same_layer(fresh, layer):
                remember(fresh)
                return ItemsPage(fresh, source, query, to_page(*columns))
    layer = get_layer_row(conn, slug, reader)
    source = source_of(conn, layer)
    query = parse_items(args, source)
    return ItemsPage(layer, source, query, items(conn, source, query))
