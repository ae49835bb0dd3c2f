"""The BAN-compatible address API under ``/api/adresse/``: ``search/`` and ``reverse/``.

Same parameters and same GeoJSON answers as api-adresse.data.gouv.fr, so that clients written
for it (autocomplete widgets, QGIS plugins, scripts) work against the portal by changing the
base URL. The answers are public data (the BAN): open to any origin (CORS), cacheable briefly.
Views only parse parameters and adapt :mod:`addresses.search`.
"""
from __future__ import annotations

import math

from flask import Blueprint, current_app, jsonify, request

from addresses import search as geocoder
from ova.errors import InvalidInput
from portal.database import get_session

bp = Blueprint("adresse", __name__)


def _float(name: str, low: float, high: float) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError as err:
        raise InvalidInput(f"{name} must be a number") from err
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low:g} and {high:g}")
    return value


def _limit(default: int) -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise InvalidInput("limit must be a positive integer")
    return int(raw)


def _code(name: str) -> str | None:
    value = (request.args.get(name) or "").strip()
    if value and not (len(value) == 5 and value.isalnum()):
        raise InvalidInput(f"{name} must be a 5-character code")
    return value or None


def _answer(payload: dict):
    response = jsonify(payload)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def _recheck() -> float:
    return current_app.config.get("ADDRESS_INDEX_RECHECK_SECONDS", geocoder.RECHECK_SECONDS)


@bp.route("/search/")
def search():
    """Forward geocoding: ``q`` (3 characters at least), ``limit``, ``lat``/``lon`` (favour what is
    near), ``citycode``, ``postcode``, ``type`` (housenumber or street); ``autocomplete`` is
    accepted for compatibility (the last word is always also read as a prefix)."""
    lat, lon = _float("lat", -90, 90), _float("lon", -180, 180)
    if (lat is None) != (lon is None):
        raise InvalidInput("lat and lon go together")
    conn = get_session().connection()
    return _answer(geocoder.search(conn, request.args.get("q"), limit=_limit(geocoder.DEFAULT_LIMIT),
                                   lat=lat, lon=lon, citycode=_code("citycode"), postcode=_code("postcode"),
                                   type=request.args.get("type") or None, recheck=_recheck()))


@bp.route("/reverse/")
def reverse():
    """Reverse geocoding: the addresses nearest to ``lon``/``lat``, with ``limit`` and ``type``."""
    lat, lon = _float("lat", -90, 90), _float("lon", -180, 180)
    if lat is None or lon is None:
        raise InvalidInput("lon and lat are required")
    conn = get_session().connection()
    return _answer(geocoder.reverse(conn, lon, lat, limit=_limit(1), type=request.args.get("type") or None))
