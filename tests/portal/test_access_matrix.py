"""Access-control matrix: every route of the URL map × every role → expected allow/deny.

ACCESS names, for every endpoint of the app, who may use it: PUBLIC (anyone), AUTHENTICATED (any
logged-in user) or a set of roles (admins always pass). A route added without an entry here makes
``test_every_route_has_a_rule`` fail, so access is always decided on purpose.
"""
import pytest

from tests.builders import ROLES, add_incident, add_norm, add_quartier, add_zone

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
    # Planned purchases: public pages, feeds and alerts; entering and editing them is the buyers'
    # agents' (which agent may edit which buyer's purchase is tested in tests/portal/test_purchases_views.py).
    "purchases.index": PUBLIC,
    "purchases.geojson": PUBLIC,
    "purchases.show": PUBLIC,
    "purchases.division_feed": PUBLIC,
    "purchases.commune_feed": PUBLIC,
    "purchases.alerts": PUBLIC,
    "purchases.diagnostic": PUBLIC,
    "purchases.diagnostic_geojson": PUBLIC,
    "purchases.new": {"agent"},
    "purchases.edit": {"agent"},
    # Incidents: reporting and public pages are open; the workflow is the responsible service's
    # (which agent may change which incident is tested in tests/portal/incidents).
    "incidents.new": PUBLIC,
    "incidents.detail": PUBLIC,
    "incidents.duplicates": PUBLIC,
    "incidents.places": PUBLIC,
    "incidents.photo": PUBLIC,
    "incidents.follow_up": PUBLIC,  # guarded by the reporter's secret token
    "incidents.change_status": {"agent"},
    "incidents.hold": {"agent"},
    "incidents.queue": {"agent"},
    "incidents.queue_geojson": {"agent"},
    "incidents.bulk_acknowledge": {"agent"},
    # The address API (BAN-compatible geocoder): public data, open to anyone.
    "adresse.search": PUBLIC,
    "adresse.reverse": PUBLIC,
    "open311.request_create": PUBLIC,  # guarded by an api_key
    "open311.request_list": PUBLIC,
    "open311.request_one": PUBLIC,
    "open311.service_definition": PUBLIC,
    "open311.service_list": PUBLIC,
    "open311.unknown": PUBLIC,
    # Catalogue and OGC API: public layers for all; restricted layers are tested per channel in
    # tests/layers/test_restricted_layers.py. Editing and publishing are the producers' agents'.
    "catalogue.index": PUBLIC,
    "catalogue.layer_page": PUBLIC,
    "catalogue.download": PUBLIC,
    "catalogue.feed": PUBLIC,
    "catalogue.dcat_jsonld": PUBLIC,
    "catalogue.dcat_turtle": PUBLIC,
    "catalogue.iso_record": PUBLIC,
    "csw.endpoint": PUBLIC,  # public layers' records only (tests/layers/test_csw.py)
    "catalogue.edit": {"agent"},
    "catalogue.publish": {"agent"},
    "ogc.landing": PUBLIC,
    "ogc.api": PUBLIC,
    "ogc.conformance": PUBLIC,
    "ogc.collections": PUBLIC,
    "ogc.collection": PUBLIC,
    "ogc.collection_items": PUBLIC,
    "ogc.collection_item": PUBLIC,
    "tiles.tile": PUBLIC,
    "tiles.tilejson_doc": PUBLIC,
    "basemap.tile": PUBLIC,
    "basemap.tile_2x": PUBLIC,
    "home.choropleth_feed": PUBLIC,
    "quartiers.search": PUBLIC,
    "quartiers.show": PUBLIC,
    "quartiers.outline_feed": PUBLIC,
    "quartiers.incidents_feed": PUBLIC,
    "quartiers.establishments_feed": PUBLIC,
    "quartiers.zones_feed": PUBLIC,
    # Norms: results are public; editing norms, audits and zones is the urbanists'.
    "norms.dashboard": PUBLIC,
    "norms.grid": PUBLIC,
    "norms.quartier": PUBLIC,
    "norms.quartier_outline": PUBLIC,
    "norms.failing_feed": PUBLIC,
    "norms.publications": PUBLIC,
    "norms.norm_list": PUBLIC,
    "norms.producer_view": {"agent", "urbaniste"},
    "norms.activities": {"agent", "urbaniste"},
    "norms.norm_edit": {"urbaniste"},
    "norms.audit_save": {"urbaniste"},
    "zones.index": {"urbaniste"},
    "zones.feed": {"urbaniste"},
    "zones.create": {"urbaniste"},
    "zones.edit": {"urbaniste"},
    "zones.approve": {"urbaniste"},
    "zones.new_version": {"urbaniste"},
    "zones.suggestions": {"urbaniste"},
    "zones.draft_from_suggestion": {"urbaniste"},
    # Administration (audit log of changes, e-mail outbox).
    "admin.audit_log": {"admin"},
    "accessibility.statement": PUBLIC,
    "privacy.notice": PUBLIC,
    # Moderation of citizens' texts and photos: the responsible service's agents (which agent may
    # moderate which report is tested in tests/portal/moderation).
    "moderation.queue": {"agent"},
    "moderation.item": {"agent"},
    "moderation.auto_publication": {"agent"},
    "moderation.photo_decision": {"agent"},
    "moderation.address_decision": {"agent"},
    "moderation.photo_blur": {"agent"},
    "moderation.photo_original": {"agent"},
    "admin.outbox_list": {"admin"},
    "admin.outbox_message": {"admin"},
    "admin.outbox_retry": {"admin"},
    # Subscriptions: anyone may subscribe (double opt-in) or use the secret links of a message;
    # the account page is the logged-in user's own.
    "notifications.subscribe": PUBLIC,
    "notifications.confirm": PUBLIC,  # guarded by the subscription's secret token
    "notifications.unsubscribe": PUBLIC,  # guarded by the message's secret token
    "notifications.resubscribe": PUBLIC,
    "notifications.feed": PUBLIC,
    "notifications.account": AUTHENTICATED,
    "notifications.end": AUTHENTICATED,
}

#: Values of URL arguments; ``{incident}`` is replaced by the id the ``objects`` fixture creates.
ARGS = {"filename": "css/ova.css", "fmt": "json", "code": "MATRIX", "slug": "matrix-layer",
        "incident_id": "{incident}", "request_id": "{incident}", "feature_id": "{incident}",
        "token": "not-the-token", "anything": "nothing-here", "z": 14, "x": 8299, "y": 5636,
        "quartier_id": "{quartier}", "norm_id": "{norm}", "zone_id": "{zone}", "year": 2024,
        "message_id": 1, "subscription_id": 1, "purchase_id": "{purchase}", "division": "45", "insee": "44109",
        "field": "description"}
#: Per-endpoint values where the generic one does not fit.
ENDPOINT_ARGS = {
    "catalogue.download": {"fmt": "geojson"},
    "indicators.export": {"fmt": "csv"},
    "achats.export": {"fmt": "csv"},
    "open311.service_definition": {"code": "graffiti"},
}


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


@pytest.fixture
def objects(connection):
    """A quartier, a zone, a norm, an incident and a public layer of the test agent's service."""
    from sqlalchemy import text

    quartier = add_quartier(connection, "MATRIX", "Matrix")
    zone = add_zone(connection, "MATRIX", quartier, name="Matrix", valid_from="2024-01-01", status="draft")
    norm = add_norm(connection, "matrix", "EP2", "m", producer=None, valid_from="2024-01-01")
    incident = add_incident(connection, None, external_id="matrix", hours_ago=0, producer_id=connection.execute(
        text("SELECT id FROM producers WHERE slug = 'proprete'")).scalar_one())
    connection.execute(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence) VALUES "
        "('matrix-layer', 'Matrix', (SELECT id FROM producers WHERE slug = 'proprete'), 'incidents', 'ODbL')"))
    # A planned purchase of the test agent's buyer (the seeded cleaning service buys for the city).
    connection.execute(text("UPDATE producers SET buyer_siret = '21440109300015' WHERE slug = 'proprete'"))
    purchase = connection.scalar(text(
        "INSERT INTO planned_purchases (source, external_id, buyer_siret, buyer_name, object, cpv_code, place_commune) "
        "VALUES ('test', 'matrix', '21440109300015', 'Ville de Nantes', 'Matrix', '45000000', '44109') RETURNING id"))
    return {"incident": incident, "quartier": quartier, "zone": zone, "norm": norm, "purchase": purchase}


@pytest.mark.parametrize("role", (None,) + ROLES)
def test_access_matrix(app, login_as, objects, role):
    client = app.test_client() if role is None else login_as(role)
    failures = []
    for rule in _get_routes(app):
        policy = ACCESS.get(rule.endpoint)
        if policy is None:
            continue
        values = {**ARGS, **ENDPOINT_ARGS.get(rule.endpoint, {})}
        args = {a: str(values[a]).format(**objects) for a in rule.arguments if a in values}
        assert set(rule.arguments) <= set(args), f"{rule.rule}: no test value for {rule.arguments}"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        response = client.get(url)
        denied = response.status_code in (401, 403) or (
            response.status_code == 302 and "/login" in response.headers.get("Location", ""))
        if _allowed(policy, role) == denied:
            failures.append(f"{url} as {role or 'anonymous'}: {response.status_code}")
    assert not failures, failures
