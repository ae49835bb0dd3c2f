"""Security headers in one place: a nonce-based Content-Security-Policy and the usual hardening.

Every asset is self-hosted (no CDN), so the policy allows only 'self', plus the basemap tile host
when one is configured. Inline scripts run only with the request's nonce: templates write
``<script nonce="{{ csp_nonce() }}">`` and :func:`portal.maps.render_parts` adds it to Folium's.
Inline event handlers (``onclick=``…) are therefore refused by browsers: use listeners.

Behind ``TRUSTED_PROXIES`` reverse proxies, werkzeug's ProxyFix takes the client address, scheme
and host from their ``X-Forwarded-*`` headers (so HSTS, secure cookies and rate limits see the
real ones); with 0, the default, those headers are ignored since any client could forge them.
The OGC API, tiles, downloads and the address API are limited to ``API_REQUESTS_PER_MINUTE`` per client address.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ova import ratelimit
from ova.db import make_engine, transaction
from ova.errors import InvalidInput

#: Headers added to every response.
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=(), usb=()",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"
#: Blueprints and endpoints counted by the API rate limit.
API_BLUEPRINTS = frozenset({"ogc", "tiles", "adresse"})
API_ENDPOINTS = frozenset({"catalogue.download"})
API_WINDOW = dt.timedelta(minutes=1)


def csp_nonce() -> str:
    """The nonce of the current request's inline scripts (created on first use)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def current_nonce() -> str | None:
    """The request's nonce, or None outside a request (CLI, unit tests of map rendering)."""
    return csp_nonce() if has_request_context() else None


def tile_source(basemap_url: str) -> str | None:
    """The CSP source of an XYZ tile URL template: ``https://{s}.tile.x.org/{z}/…`` → ``https://*.tile.x.org``."""
    if not basemap_url:
        return None
    parts = urlsplit(basemap_url)
    if not parts.scheme or not parts.netloc:
        return None  # a relative template: tiles served by the portal itself ('self')
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    if "*" in host.partition(".")[2] or any(c in host for c in " ;,'\""):
        return f"{parts.scheme}:"  # a placeholder past the first label cannot be expressed
    return f"{parts.scheme}://{host}"


def content_security_policy(nonce: str, basemap_url: str = "") -> str:
    """The Content-Security-Policy header value for a page rendered with ``nonce``."""
    img = ["'self'", "data:", "blob:"]
    tiles = tile_source(basemap_url)
    if tiles:
        img.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": img,
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def counter_engine(app: Flask) -> Engine:
    """The app's engine for API hit counters: autocommit, no ping before use.

    A hit is one statement on an unlogged table. On the main engine it cost a ping, BEGIN and
    COMMIT around it (four round trips, +0.45 ms on every OGC/tile/download request); here it is
    one round trip. A connection lost with the server fails once and is replaced (see
    :func:`_count_hit`).
    """
    engine = app.extensions.get("ova_counter_engine")
    if engine is None:
        engine = make_engine(app.config["DATABASE_URL"], application_name="portail-ova-limits",
                             pool_pre_ping=False, pool_size=2, max_overflow=8, isolation_level="AUTOCOMMIT")
        app.extensions["ova_counter_engine"] = engine
    return engine


def _write_hits(app: Flask, client: str, hits: int) -> tuple[int, int]:
    bind = app.extensions["ova_bind"]
    if not isinstance(bind, Engine):  # the tests' connection: a savepoint of it
        with transaction(bind) as conn:
            return ratelimit.count_hit(conn, "api", client, API_WINDOW, hits)
    engine = counter_engine(app)
    try:
        with engine.connect() as conn:
            return ratelimit.count_hit(conn, "api", client, API_WINDOW, hits)
    except DBAPIError as err:
        if not err.connection_invalidated:
            raise
    with engine.connect() as conn:  # the pooled connection died with a server restart: once more
        return ratelimit.count_hit(conn, "api", client, API_WINDOW, hits)


def count_api_hit(app: Flask, environ: dict) -> tuple[int, int] | None:
    """Count the request of ``environ`` against its client's API budget, once per request.

    Hits are buffered per process and written in batches (``ova.ratelimit.HitBuffer``). Returns
    the shared (hits, seconds left in the window) when they were written, else None.
    """
    if "ova.api_hit" in environ:  # already counted (by portal.ogc.fast, which then handed over)
        return environ["ova.api_hit"]
    written = None
    limit = app.config["API_REQUESTS_PER_MINUTE"]
    client = ratelimit.client_hash(app.config["SECRET_KEY"], environ.get("REMOTE_ADDR"))
    if limit > 0 and client is not None:
        written = app.extensions["ova_api_hits"].hit(client, limit=limit, window=API_WINDOW,
                                                     write=lambda n: _write_hits(app, client, n))
    environ["ova.api_hit"] = written
    return written


def limit_api_requests() -> None:
    """Count this request against its client's API budget; 429 with ``Retry-After`` past it."""
    limit = current_app.config["API_REQUESTS_PER_MINUTE"]
    if limit <= 0 or not (request.blueprint in API_BLUEPRINTS or request.endpoint in API_ENDPOINTS):
        return
    written = count_api_hit(current_app, request.environ)
    if written is not None and written[0] > limit:  # counted (and committed) even when refused
        retry_after = written[1]
        raise ratelimit.RateLimited(
            _("Trop de requêtes depuis cette adresse : au plus %(n)s par minute. "
              "Réessayez dans %(s)s s.", n=limit, s=retry_after), retry_after=retry_after)


def has_nul(path: str, query: bytes) -> bool:
    """Whether a NUL byte is in the path or the raw query string (where it is "%00" or a raw byte:
    no need to decode every argument)."""
    return "\x00" in path or b"%00" in query or b"\x00" in query


def refuse_nul_bytes() -> None:
    """400 for a NUL byte in the path, a query parameter or a form field (PostgreSQL text refuses them).

    Uploaded files are binary and are not concerned.
    """
    found = has_nul(request.path, request.query_string)
    if not found and request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        found = any("\x00" in value for value in (*request.form.keys(), *request.form.values()))
    if found:
        raise InvalidInput(_("Caractère NUL interdit dans la requête."))


def init_app(app: Flask) -> None:
    """Trust the configured proxies, limit API requests, and add the security headers."""
    app.extensions["ova_api_hits"] = ratelimit.HitBuffer()
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_port=proxies, x_prefix=proxies)
    from portal.fields import BoundedIntConverter

    # Before the blueprints add their rules: an id beyond a PostgreSQL integer is a 404, not a 500.
    app.url_map.converters["int"] = BoundedIntConverter
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.before_request(refuse_nul_bytes)
    app.before_request(limit_api_requests)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        # One pass over the response's few headers, then one extend: Headers.setdefault and
        # item assignment scan the list per call (the hook cost 35 µs of every request).
        present = {name.lower() for name in headers.keys()}
        added = security_headers(app, csp_nonce(), present, request.is_secure)
        if "content-security-policy" in present:
            headers["Content-Security-Policy"] = added.pop(0)[1]
        headers.extend(added)
        return response


def security_headers(app: Flask, nonce: str, present: set[str], secure: bool) -> list[tuple[str, str]]:
    """The security headers of a response: the Content-Security-Policy (with ``nonce``) first,
    then those of the others (:data:`STATIC_HEADERS`, HSTS when ``secure``) whose lower-case
    names are not in ``present``."""
    policies = app.extensions.setdefault("ova_csp_parts", {})  # basemap URL -> policy around the nonce
    basemap = app.config.get("BASEMAP_URL", "")
    parts = policies.get(basemap)
    if parts is None:  # built once per basemap: only the nonce changes between requests
        parts = policies[basemap] = tuple(content_security_policy("\0", basemap).split("\0"))
    added = [("Content-Security-Policy", parts[0] + nonce + parts[1])]
    added += [(name, value) for name, value in STATIC_HEADERS.items() if name.lower() not in present]
    if secure and "strict-transport-security" not in present:
        added.append(("Strict-Transport-Security", HSTS))
    return added
