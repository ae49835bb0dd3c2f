"""Open311 GeoReport v2 under ``/open311/v2/``: JSON and XML, errors as the spec's error list.

POST requests needs an ``api_key`` (a portal API token, see ``ova tokens``/``issue_token``);
it is exempt from the session CSRF check since it authenticates by key, not by cookie. Reports
are limited per API key (``OPEN311_REPORTS_PER_HOUR``), answered 429 with ``Retry-After``.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from flask import Blueprint, Response, current_app, json, request
from werkzeug.exceptions import HTTPException

from incidents import queries, reports
from ova import ratelimit
from ova.errors import Forbidden, InvalidInput, NotFound, OvaError
from portal import csrf
from portal.auth.tokens import user_for_token
from portal.database import get_session
from portal.open311 import services
from portal.urls import external_url

bp = Blueprint("open311", __name__)
csrf.exempt(bp)

FORMATS = "any(json, xml)"
#: XML element names of list items, per list.
XML_ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
             "values": "value"}


def _xml_value(parent: ET.Element, key: str, value) -> None:
    node = ET.SubElement(parent, key)
    if isinstance(value, list):
        for item in value:
            _xml_dict(ET.SubElement(node, XML_ITEMS.get(key, "item")), item)
    elif isinstance(value, dict):
        _xml_dict(node, value)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def _xml_dict(node: ET.Element, data: dict) -> None:
    for key, value in data.items():
        _xml_value(node, key, value)


def render(data, fmt: str, root: str, status: int = 200) -> Response:
    """Serialise ``data`` (a list of dicts, or one dict) as the spec's JSON or XML."""
    if fmt == "xml":
        element = ET.Element(root)
        if isinstance(data, list):
            for item in data:
                _xml_dict(ET.SubElement(element, XML_ITEMS[root]), item)
        else:
            _xml_dict(element, data)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")
        return Response(body, status=status, mimetype="text/xml")
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in ("json", "xml"):
        return fmt
    return "xml" if request.path.endswith(".xml") else "json"


@bp.errorhandler(OvaError)
def _ova_error(err: OvaError):
    response = render([{"code": err.status, "description": err.message}], _fmt(), "errors", err.status)
    response.headers.update(err.headers)
    return response


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return render([{"code": err.code, "description": err.description or err.name}], _fmt(), "errors", err.code)


def _media_url(item: dict) -> dict:
    if item["media_url"]:
        item["media_url"] = external_url("incidents.photo", incident_id=item["service_request_id"])
    return item


@bp.route(f"/services.<{FORMATS}:fmt>")
def service_list(fmt):
    """GET Service List."""
    return render(services.services_list(get_session()), fmt, "services")


@bp.route(f"/services/<code>.<{FORMATS}:fmt>")
def service_definition(code, fmt):
    """GET Service Definition."""
    return render(services.service_definition(get_session(), code), fmt, "service_definition")


@bp.route(f"/requests.<{FORMATS}:fmt>", methods=["GET"])
def request_list(fmt):
    """GET Service Requests (filters: service_request_id, service_code, start_date, end_date, status)."""
    args = request.args
    found = services.find_requests(
        get_session(), service_request_id=args.get("service_request_id"), service_code=args.get("service_code"),
        start_date=args.get("start_date"), end_date=args.get("end_date"), status=args.get("status"))
    return render([_media_url(r) for r in found], fmt, "service_requests")


@bp.route(f"/requests/<int:request_id>.<{FORMATS}:fmt>")
def request_one(request_id, fmt):
    """GET Service Request."""
    return render([_media_url(services.get_request(get_session(), request_id))], fmt, "service_requests")


@bp.route(f"/requests.<{FORMATS}:fmt>", methods=["POST"])
def request_create(fmt):
    """POST Service Request: api_key, service_code, lat, long, description, email (optional media file)."""
    session = get_session()
    form = request.form
    user = user_for_token(session, form.get("api_key") or request.args.get("api_key"))
    if user is None:
        raise Forbidden("invalid api_key")
    if not form.get("service_code"):
        raise InvalidInput("service_code is required")
    if not form.get("lat") and not form.get("long"):
        raise InvalidInput("lat and long are required (address_string alone cannot be located)")
    media = request.files.get("media")
    try:
        created = reports.create_report(session, reports.NewReport(
            category=form.get("service_code"), lat=form.get("lat"), lon=form.get("long"),
            description=form.get("description"), address=form.get("address_string"), email=form.get("email"),
            photo=media.read() if media else None, reporter_id=user.id, source="open311",
            # Counted per API key: one integrator may relay many citizens from one address.
            client_key=ratelimit.client_hash(current_app.config["SECRET_KEY"], f"open311-user:{user.id}"),
        ), photo_dir=Path(current_app.config["PHOTO_DIR"]), rate_limit=current_app.config["OPEN311_REPORTS_PER_HOUR"])
    except OvaError:
        session.rollback()
        raise
    session.commit()
    notice = "Signalement transmis à : " + (queries.producer_name(session, created.incident.producer_id)
                                            or "service à déterminer")
    return render([{"service_request_id": created.incident.id, "service_notice": notice, "account_id": None}],
                  fmt, "service_requests", 201)


@bp.route("/<path:anything>", methods=["GET", "POST"])
def unknown(anything):
    """Any other path under /open311/v2/: a spec-formatted 404."""
    raise NotFound(f"unknown Open311 resource {anything[:80]!r}")
