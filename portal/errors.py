"""One error handler rendering OvaError (and HTTP errors) as HTML, JSON or OGC exceptions."""
from __future__ import annotations

import logging

import psycopg
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ova.errors import OvaError

LOGGER = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/ogc", "/open311/", "/tiles/")
#: Challenge of 401 responses of API routes: they take an API token as a Bearer token (RFC 6750).
REALM = "Portail OVA"


def wants_json() -> bool:
    """True for API routes and clients that prefer JSON over HTML."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(status: int, code: str, message: str):
    if wants_json():
        return jsonify(code=code, description=message), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(OvaError)
    def handle_ova_error(err: OvaError):
        if err.status >= 500:
            LOGGER.exception("server error")
        body, status = _render(err.status, err.code, err.message)
        return body, status, err.headers

    @app.errorhandler(OperationalError)
    @app.errorhandler(psycopg.OperationalError)  # queries run on the DBAPI cursor (OGC items)
    def handle_database_down(err):
        """The database is unreachable or went away (restart, failover): a clear 503, no traceback
        shown; pool_pre_ping reconnects by itself once it is back."""
        LOGGER.error("database unavailable: %s", getattr(err, "orig", err))
        body, status = _render(503, "ServiceUnavailable",
                               _("Base de données momentanément indisponible, réessayez dans un instant."))
        return body, status, {"Retry-After": "10"}

    @app.errorhandler(HTTPException)
    def handle_http_error(err: HTTPException):
        return _render(err.code or 500, err.name.replace(" ", ""), err.description or err.name)

    @app.after_request
    def _challenge_unauthorised(response):
        """Every 401 of an API route names its scheme (``WWW-Authenticate: Bearer``)."""
        if response.status_code == 401 and request.path.startswith(JSON_PREFIXES) \
                and "WWW-Authenticate" not in response.headers:
            challenge = f'Bearer realm="{REALM}"'
            if request.headers.get("Authorization", "").lower().startswith("bearer ") \
                    or request.args.get("api_key"):
                challenge += ', error="invalid_token"'
            response.headers["WWW-Authenticate"] = challenge
        return response
