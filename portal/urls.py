"""Absolute URLs of the portal: under ``OVA_PUBLIC_URL`` when it is set, else from the request.

Everything a harvester or a mail reader keeps (DCAT and ISO 19139 IRIs, Atom ids, OGC API links,
e-mail links) must not change with the host name a client happened to use: with ``PUBLIC_URL``
set, they are built from that base whatever the request's Host header says.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, url_for
from werkzeug.routing import MapAdapter

from ova.errors import InvalidInput


def check_public_url(value: str) -> str:
    """Return ``value`` (an absolute http(s) URL, no query) without its trailing slash, else raise."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InvalidInput(f"OVA_PUBLIC_URL must be an absolute http(s) URL such as https://ova.ville.fr "
                           f"(got {value!r})")
    return value.rstrip("/")


def public_base(app: Flask | None = None) -> str | None:
    """The configured public base URL (``PUBLIC_URL``), or None."""
    return (app or current_app).config.get("PUBLIC_URL") or None


def _adapter(app: Flask) -> MapAdapter:
    adapter = app.extensions.get("ova_public_urls")
    if adapter is None:
        parts = urlsplit(app.config["PUBLIC_URL"])
        adapter = app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
        app.extensions["ova_public_urls"] = adapter
    return adapter


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint``: under ``PUBLIC_URL`` when set, else the request's host."""
    app = current_app._get_current_object()
    if not public_base(app):
        return url_for(endpoint, _external=True, **values)
    return _adapter(app).build(endpoint, values, force_external=True)


def init_app(app: Flask) -> None:
    """Check ``PUBLIC_URL`` and offer ``external_url`` to templates."""
    if app.config.get("PUBLIC_URL"):
        app.config["PUBLIC_URL"] = check_public_url(app.config["PUBLIC_URL"])
    app.jinja_env.globals["external_url"] = external_url
