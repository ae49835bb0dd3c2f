"""Access-control matrix: every route of the URL map × every role → expected allow/deny.

ACCESS names, for every endpoint of the app, who may use it: PUBLIC (anyone), AUTHENTICATED (any
logged-in user) or a set of roles (admins always pass). A route added without an entry here makes
``test_every_route_has_a_rule`` fail, so access is always decided on purpose.
"""
import pytest

from tests.conftest import ROLES

PUBLIC = "public"
AUTHENTICATED = "authenticated"

#: endpoint → who may GET it.  Endpoints that only accept POST are checked by their own tests.
ACCESS = {
    "static": PUBLIC,
    "home.index": PUBLIC,
    "home.quartiers_feed": PUBLIC,
    "home.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": AUTHENTICATED,
    # Indicators are public but suppressed below the threshold; banque/admin see the detail
    # (per-role content is tested in tests/indicators).
    "indicators.index": PUBLIC,
    "indicators.geojson": PUBLIC,
    "indicators.export": PUBLIC,
    "indicators.static": PUBLIC,
    "achats.index": PUBLIC,
    "achats.suppliers_feed": PUBLIC,
    "achats.export": PUBLIC,
    # Incidents: reporting and public pages are open; the workflow is the responsible service's
    # (which agent may change which incident is tested in tests/portal/incidents).
    "incidents.new": PUBLIC,
    "incidents.detail": PUBLIC,
    "incidents.duplicates": PUBLIC,
    "incidents.places": PUBLIC,
    "incidents.photo": PUBLIC,
    "incidents.follow_up": PUBLIC,  # guarded by the reporter's secret token
    "incidents.change_status": {"agent"},
    "incidents.queue": {"agent"},
    "incidents.queue_geojson": {"agent"},
    "incidents.bulk_acknowledge": {"agent"},
    "open311.request_create": PUBLIC,  # guarded by an api_key
    "open311.request_list": PUBLIC,
    "open311.request_one": PUBLIC,
    "open311.service_definition": PUBLIC,
    "open311.service_list": PUBLIC,
    "open311.unknown": PUBLIC,
}

#: Values for URL arguments, created by the ``url_values`` fixture or fixed here.
FIXED_ARGS = {"filename": "css/ova.css", "fmt": "json"}


def _allowed(rule: str, role: str | None) -> bool:
    if rule == PUBLIC:
        return True
    if role is None:
        return False
    if rule == AUTHENTICATED or role == "admin":
        return True
    return role in rule


def test_every_route_has_a_rule(app):
    missing = sorted({r.endpoint for r in app.url_map.iter_rules()} - set(ACCESS))
    assert not missing, f"routes without an access rule in ACCESS: {missing}"


def _get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            yield rule


@pytest.mark.parametrize("role", (None,) + ROLES)
def test_access_matrix(app, login_as, role):
    client = app.test_client() if role is None else login_as(role)
    failures = []
    for rule in _get_routes(app):
        policy = ACCESS.get(rule.endpoint)
        if policy is None:
            continue
        args = {a: FIXED_ARGS[a] for a in rule.arguments if a in FIXED_ARGS}
        if set(rule.arguments) - set(args):
            continue  # object routes are covered by their package's tests
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        response = client.get(url)
        denied = response.status_code in (401, 403) or (
            response.status_code == 302 and "/login" in response.headers.get("Location", ""))
        if _allowed(policy, role) == denied:
            failures.append(f"{url} as {role or 'anonymous'}: {response.status_code}")
    assert not failures, failures
