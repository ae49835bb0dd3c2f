"""One error handler rendering OvaError (and HTTP errors) as HTML, JSON or OGC exceptions."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ova.errors import OvaError

LOGGER = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/ogc", "/open311/", "/tiles/")


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
        return _render(err.status, err.code, err.message)

    @app.errorhandler(HTTPException)
    def handle_http_error(err: HTTPException):
        return _render(err.code or 500, err.name.replace(" ", ""), err.description or err.name)
