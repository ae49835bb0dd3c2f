"""Security headers in one place: a nonce-based Content-Security-Policy and the usual hardening.

Every asset is self-hosted (no CDN), so the policy allows only 'self', plus the basemap tile host
when one is configured. Inline scripts run only with the request's nonce: templates write
``<script nonce="{{ csp_nonce() }}">`` and :func:`portal.maps.render_parts` adds it to Folium's.
Inline event handlers (``onclick=``…) are therefore refused by browsers: use listeners.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, g, has_request_context, request

#: Headers added to every response.
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=(), usb=()",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"


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


def init_app(app: Flask) -> None:
    """Expose ``csp_nonce()`` to templates and add the security headers to every response."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    policies: dict[str, tuple[str, str]] = {}  # basemap URL -> the policy around its nonce

    @app.after_request
    def _security_headers(response):
        basemap = app.config.get("BASEMAP_URL", "")
        parts = policies.get(basemap)
        if parts is None:  # built once per basemap: only the nonce changes between requests
            head, _, tail = content_security_policy("\0", basemap).partition("\0")
            parts = policies[basemap] = (head, tail)
        response.headers["Content-Security-Policy"] = parts[0] + csp_nonce() + parts[1]
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response
