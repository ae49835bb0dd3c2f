"""The hottest public requests served without Flask's per-request machinery.

GIS clients and web maps send ``GET /ogc/collections/<slug>/items?bbox=…`` and
``GET /ogc/collections/<slug>/items/<id>`` anonymously, as GeoJSON, thousands of times. Through
Flask such a request costs ~0.2 ms of Python beyond its SQL (request and app contexts, session,
CSRF, locale and header hooks, routing, the response object): a fifth of what the database spends
on a page, more than it spends on a single item. This WSGI middleware serves exactly those
requests with the same functions as the Flask views (``portal.ogc.items.items_page`` and
``item_feature``, the same access check on the layer's fresh row, ``layers.ogc.items_envelope``
and ``portal.ogc.items.item_document``), the same rate limit (``portal.security.count_api_hit``,
counted once) and the same headers (``portal.security.security_headers``). Anything else goes to
Flask untouched: a cookie or an ``Authorization`` header (a reader who may see more), ``api_key``,
``lang``, HTML, a NUL byte, an unknown or restricted layer, an unknown item, a bad parameter, a
single item with a parameter other than ``f`` and ``crs`` or an id other than ASCII letters,
digits and ``_ . -``, a refused rate limit, any error.

It sits inside ProxyFix (client address and scheme already taken from trusted proxies).
"""
from __future__ import annotations

import logging
import re
import secrets
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.wsgi import get_current_url

from layers import ogc
from layers.catalogue import ANONYMOUS
from portal.catalogue.serving import checkin, checkout
from ova.errors import InvalidInput
from portal.ogc.items import item_document, item_feature, items_page, response_format
from portal.security import count_api_hit, has_nul, security_headers

LOGGER = logging.getLogger(__name__)
ITEMS_PATH = re.compile(r"/ogc/collections/([A-Za-z0-9_-]{1,200})/items")
#: A single item: ids of letters, digits, ``_ . -`` only (anything else, Flask decodes and routes).
ITEM_PATH = re.compile(r"/ogc/collections/([A-Za-z0-9_-]{1,200})/items/([A-Za-z0-9_.-]{1,200})")
#: Parameters that make the request Flask's: a token, a language to remember.
_FLASK_ARGS = {"api_key", "lang"}
#: The only parameters of a single item served here (the view reads no other).
_ITEM_ARGS = {"f", "crs"}


#: The API's base URL by (scheme, host, port, script root), as ``portal.ogc.views._base`` keeps it.
_BASES: dict[tuple, str] = {}


def _base(app: Flask, environ) -> str:
    public = app.config.get("PUBLIC_URL")
    if public:
        return public + "/ogc"
    key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
           environ.get("SERVER_PORT"), environ.get("SCRIPT_NAME"))
    base = _BASES.get(key)
    if base is None:
        if len(_BASES) > 256:
            _BASES.clear()
        base = _BASES[key] = get_current_url(environ, root_only=True).rstrip("/") + "/ogc"
    return base


class ItemsFastPath:
    """WSGI middleware: the anonymous GeoJSON items request served directly (see module docstring)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        try:
            served = self._serve(environ)
        except Exception:  # noqa: BLE001 - denied, bad parameter, database down…: Flask answers it
            LOGGER.debug("%s handed to Flask", environ.get("PATH_INFO"), exc_info=True)
            served = None
        if served is None:
            return self.wsgi_app(environ, start_response)
        headers, body = served
        start_response("200 OK", headers)
        return [body]

    def _serve(self, environ) -> tuple[list[tuple[str, str]], bytes] | None:
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_COOKIE" in environ or "HTTP_AUTHORIZATION" in environ:
            return None
        path = environ.get("PATH_INFO", "")
        match = ITEMS_PATH.fullmatch(path)
        one = None if match is not None else ITEM_PATH.fullmatch(path)
        query_string = environ.get("QUERY_STRING", "")
        # Clients percent-encode; raw non-ASCII bytes are decoded by Flask's own rules.
        if (match is None and one is None) or not query_string.isascii() or has_nul(path, query_string.encode()):
            return None
        args: dict[str, str] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            args.setdefault(key, value)  # the first value, as request.args.get gives
        if _FLASK_ARGS & args.keys() or (one is not None and not args.keys() <= _ITEM_ARGS):
            return None
        try:
            if response_format(args.get("f"), environ.get("HTTP_ACCEPT")) != "json":
                return None
        except InvalidInput:
            return None  # Flask explains
        app = self.app
        limit = app.config["API_REQUESTS_PER_MINUTE"]
        if limit > 0:
            written = count_api_hit(app, environ)
            if written is not None and written[0] > limit:
                return None  # Flask answers 429 (the hit is counted already)
        args.pop("f", None)
        # A visitor without a session has written nothing: any usable standby will do.
        replicas = app.extensions.get("ova_replicas")
        replica = replicas.pick() if replicas is not None and "session=" not in environ.get("HTTP_COOKIE", "") else None
        base = _base(app, environ)
        conn, owned = checkout(app, replica, "page" if one is None else "item")
        try:
            if one is not None:
                slug, feature_id = one.groups()
                served = item_feature(conn, slug, feature_id, args.get("crs"), ANONYMOUS)
            else:
                slug = match.group(1)
                served = items_page(conn, slug, args, ANONYMOUS)
        finally:
            checkin(app, conn, owned)
        if one is not None:
            body = item_document(served.feature, base, slug, feature_id, {})
            crs = served.crs
        else:
            query, page = served.query, served.page
            head, tail = ogc.items_envelope(base, slug, query, page.returned, page.matched, {}, last_id=page.last_id)
            body = b"".join((head.encode(), page.body, tail.encode()))
            crs = query.crs
        headers = [("Content-Type", ogc.GEOJSON), ("Content-Length", str(len(body))),
                   ("Content-Crs", f"<{crs.uri}>"), ("Vary", "Cookie")]
        if replicas is not None:
            headers.append(("X-OVA-Database", "replica" if replica is not None else "primary"))
        secure = environ.get("wsgi.url_scheme") == "https"
        headers += security_headers(app, secrets.token_urlsafe(18), {"content-type", "content-length"}, secure)
        return headers, body
