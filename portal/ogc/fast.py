"""The hottest public request served without Flask's per-request machinery.

GIS clients and web maps send ``GET /ogc/collections/<slug>/items?bbox=…`` anonymously, as
GeoJSON, thousands of times. Through Flask such a request costs ~0.2 ms of Python beyond its SQL
(request and app contexts, session, CSRF, locale and header hooks, routing, the response
object): a fifth of what the database spends on it. This WSGI middleware serves exactly that
request with the same functions as the Flask view (``portal.ogc.items.items_page``, the same
access check on the layer's fresh row, ``layers.ogc.items_envelope``), the same rate limit
(``portal.security.count_api_hit``, counted once) and the same headers
(``portal.security.security_headers``). Anything else goes to Flask untouched: a cookie or an
``Authorization`` header (a reader who may see more), ``api_key``, ``lang``, HTML, a NUL byte,
an unknown or restricted layer, a bad parameter, a refused rate limit, any error.

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
from portal.ogc.items import items_page, response_format
from portal.security import count_api_hit, has_nul, security_headers

LOGGER = logging.getLogger(__name__)
ITEMS_PATH = re.compile(r"/ogc/collections/([A-Za-z0-9_-]{1,200})/items")
#: Parameters that make the request Flask's: a token, a language to remember.
_FLASK_ARGS = {"api_key", "lang"}


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
        match = ITEMS_PATH.fullmatch(environ.get("PATH_INFO", ""))
        query_string = environ.get("QUERY_STRING", "")
        # Clients percent-encode; raw non-ASCII bytes are decoded by Flask's own rules.
        if match is None or not query_string.isascii() or has_nul(environ["PATH_INFO"], query_string.encode()):
            return None
        args: dict[str, str] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            args.setdefault(key, value)  # the first value, as request.args.get gives
        if _FLASK_ARGS & args.keys():
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
        slug = match.group(1)
        args.pop("f", None)
        # A visitor without a session has written nothing: any usable standby will do.
        replicas = app.extensions.get("ova_replicas")
        replica = replicas.pick() if replicas is not None and "session=" not in environ.get("HTTP_COOKIE", "") else None
        conn, owned = checkout(app, replica)
        try:
            served = items_page(conn, slug, args, ANONYMOUS)
        finally:
            checkin(app, conn, owned)
        query, page = served.query, served.page
        base = (app.config.get("PUBLIC_URL") or get_current_url(environ, root_only=True).rstrip("/")) + "/ogc"
        head, tail = ogc.items_envelope(base, slug, query, page.returned, page.matched, {}, last_id=page.last_id)
        body = b"".join((head.encode(), page.body, tail.encode()))
        headers = [("Content-Type", ogc.GEOJSON), ("Content-Length", str(len(body))),
                   ("Content-Crs", f"<{query.crs.uri}>"), ("Vary", "Cookie")]
        if replicas is not None:
            headers.append(("X-OVA-Database", "replica" if replica is not None else "primary"))
        secure = environ.get("wsgi.url_scheme") == "https"
        headers += security_headers(app, secrets.token_urlsafe(18), {"content-type", "content-length"}, secure)
        return headers, body
