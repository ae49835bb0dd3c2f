"""Subscriptions: an address (double opt-in) or an account follows a quartier, a priority zone,
a category or an area drawn on the map; reporters follow their incident, agents their service's
queue, urbanists and admins the monthly publication.

Anonymous subscriptions send one message only — the confirmation link — until confirmed.
Every message carries a one-click unsubscribe link (its own token, see ``notifications.outbox``);
following it ends the subscriptions the message came from.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from notifications.outbox import enqueue
from notifications.render import locale_of
from ova.i18n import gettext as _
from ova.errors import InvalidInput, NotFound
from ova.models import SUBSCRIPTION_FREQUENCIES
from ova.settings import storage_srid

#: Selections anyone may subscribe to (the others are created by the portal itself).
PUBLIC_KINDS = ("quartier", "zone", "category", "area")
#: Selections of the planned purchases' alerts (firms), subscribed from ``/achats/a-venir``.
PURCHASE_KINDS = ("cpv_division", "commune")
#: A CPV division (two digits) and an INSEE commune code, for the planned purchases' alerts.
CPV_DIVISION_RE = re.compile(r"^[0-9]{2}$")
COMMUNE_RE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
CONFIRM_PATH = "/abonnements/confirmer/{token}"
#: A drawn area may not exceed this surface (km²) nor this number of vertices.
AREA_MAX_KM2 = 200
AREA_MAX_VERTICES = 2000
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")

_LABELS = {
    "fr": {"quartier": "quartier {}", "zone": "zone prioritaire {}", "category": "catégorie {}",
           "area": "zone dessinée de {} km²", "incident": "signalement n° {}", "queue": "file de travail de {}",
           "publication": "publication mensuelle des résultats",
           "cpv_division": "achats à venir de la division CPV {}", "commune": "achats à venir dans la commune {}"},
    "en": {"quartier": "quartier {}", "zone": "priority zone {}", "category": "category {}",
           "area": "drawn area of {} km²", "incident": "report no. {}", "queue": "work queue of {}",
           "publication": "monthly publication of the results",
           "cpv_division": "upcoming purchases of CPV division {}", "commune": "upcoming purchases in commune {}"},
}

#: SQL of the label of subscription ``s`` in its own language (for set-based messages).
SELECTION_LABEL_SQL = """
    CASE s.kind
      WHEN 'quartier' THEN 'quartier ' || (SELECT name FROM quartiers WHERE id = s.quartier_id)
      WHEN 'zone' THEN CASE s.locale WHEN 'en' THEN 'priority zone ' ELSE 'zone prioritaire ' END
           || coalesce((SELECT name FROM priority_zones WHERE code = s.zone_code ORDER BY valid_from DESC LIMIT 1),
                       s.zone_code)
      WHEN 'category' THEN CASE s.locale WHEN 'en' THEN 'category ' || c.label_en ELSE 'catégorie ' || c.label_fr END
      WHEN 'area' THEN CASE s.locale WHEN 'en' THEN 'drawn area of ' ELSE 'zone dessinée de ' END
           || replace(round((ST_Area(s.geom) / 1e6)::numeric, 2)::text, '.', CASE s.locale WHEN 'en' THEN '.' ELSE ',' END)
           || ' km²'
      WHEN 'cpv_division' THEN CASE s.locale WHEN 'en' THEN 'CPV division ' ELSE 'division CPV ' END || s.cpv_division
      WHEN 'commune' THEN 'commune ' || s.commune_insee
      ELSE s.kind END
"""


@dataclass(frozen=True)
class Selection:
    """What to follow: a kind and its target (a quartier code, zone code, category code, or a
    GeoJSON geometry in WGS 84 for an area)."""

    kind: str
    value: str


def clean_email(value: str | None) -> str:
    """A lower-cased address, or InvalidInput."""
    value = (value or "").strip().lower()
    if not value or len(value) > 254 or not EMAIL_RE.match(value):
        raise InvalidInput(_("adresse électronique invalide"))
    return value


def _target(conn: Connection, selection: Selection) -> dict:
    """Validate a selection; return the target columns of its subscription row (an area as EWKT)."""
    kind, value = selection.kind, (selection.value or "").strip()
    if kind not in PUBLIC_KINDS + PURCHASE_KINDS:
        raise InvalidInput(_("type d'abonnement inconnu : %(value)s", value=repr(kind)))
    if not value:
        raise InvalidInput(_("choisissez ce que vous voulez suivre"))
    if kind == "quartier":
        quartier_id = conn.scalar(text("SELECT id FROM quartiers WHERE code = :c"), {"c": value})
        if quartier_id is None:
            raise InvalidInput(_("quartier inconnu : %(value)s", value=repr(value[:64])))
        return {"quartier_id": quartier_id}
    if kind == "zone":
        if conn.scalar(text("SELECT 1 FROM priority_zones WHERE code = :c AND status = 'approved' LIMIT 1"),
                       {"c": value}) is None:
            raise InvalidInput(_("zone prioritaire inconnue : %(value)s", value=repr(value[:64])))
        return {"zone_code": value}
    if kind == "category":
        if conn.scalar(text("SELECT 1 FROM incident_categories WHERE code = :c"), {"c": value}) is None:
            raise InvalidInput(_("catégorie inconnue : %(value)s", value=repr(value[:64])))
        return {"category": value}
    if kind == "cpv_division":
        if not CPV_DIVISION_RE.match(value):
            raise InvalidInput(_("division CPV invalide : %(value)s (2 chiffres)", value=repr(value[:10])))
        return {"cpv_division": value}
    if kind == "commune":
        if not COMMUNE_RE.match(value):
            raise InvalidInput(_("code commune INSEE invalide : %(value)s", value=repr(value[:10])))
        return {"commune_insee": value}
    return {"area": check_area(conn, value)}


def check_area(conn: Connection, geojson: str) -> str:
    """Validate a drawn area (GeoJSON Polygon/MultiPolygon, a Feature or FeatureCollection of them, WGS 84);
    return it as EWKT in the storage CRS, or raise InvalidInput."""
    try:
        data = json.loads(geojson)
    except ValueError as err:
        raise InvalidInput(_("zone dessinée illisible (GeoJSON attendu)")) from err
    geometries = []
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in data.get("features") or [] if isinstance(f, dict)]
    elif isinstance(data, dict) and data.get("type") == "Feature":
        geometries = [data.get("geometry")]
    elif isinstance(data, dict):
        geometries = [data]
    polygons = [g for g in geometries if isinstance(g, dict) and g.get("type") in ("Polygon", "MultiPolygon")]
    if not polygons or len(polygons) != len(geometries):
        raise InvalidInput(_("dessinez au moins un polygone (pas de ligne ni de point)"))
    collection = json.dumps({"type": "GeometryCollection", "geometries": polygons})
    try:
        with conn.begin_nested():  # a refused geometry must not abort the caller's transaction
            row = conn.execute(text(
                "WITH g AS (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform(ST_SetSRID("
                "ST_GeomFromGeoJSON(:g), 4326), :srid)), 3)) AS geom) "
                "SELECT ST_AsEWKT(geom) AS ewkt, ST_Area(geom) / 1e6 AS km2, ST_NPoints(geom) AS n, "
                "EXISTS (SELECT 1 FROM quartiers q WHERE ST_Intersects(q.geom, g.geom)) AS inside FROM g"),
                {"g": collection, "srid": storage_srid()}).mappings().one()
    except Exception as err:  # PostGIS refuses malformed coordinates
        raise InvalidInput(_("zone dessinée invalide (coordonnées WGS 84 attendues)")) from err
    if not row["km2"]:
        raise InvalidInput(_("la zone dessinée est vide"))
    if row["km2"] > AREA_MAX_KM2 or row["n"] > AREA_MAX_VERTICES:
        raise InvalidInput(_("zone dessinée trop grande (%(area)s km², %(limit)s au plus)",
                             area=format(row["km2"], ".0f"), limit=AREA_MAX_KM2))
    if not row["inside"]:
        raise InvalidInput(_("la zone dessinée est en dehors des quartiers du territoire"))
    return row["ewkt"]


def _insert(conn: Connection, *, kind: str, email: str | None, user_id: int | None, locale: str,
            frequency: str, confirmed: bool, target: dict) -> dict:
    area = target.pop("area", None)
    row = conn.execute(text(
        "INSERT INTO subscriptions (token, email, user_id, locale, kind, quartier_id, zone_code, category, "
        "incident_id, producer_id, cpv_division, commune_insee, frequency, confirmed_at, geom) VALUES (:token, :email, "
        ":user_id, :locale, :kind, :quartier_id, :zone_code, :category, :incident_id, :producer_id, :cpv_division, "
        ":commune_insee, :frequency, "
        "CASE WHEN :confirmed THEN now() END, ST_GeomFromEWKT(:area)) RETURNING *"),
        {"token": secrets.token_urlsafe(32), "email": email, "user_id": user_id, "locale": locale_of(locale),
         "kind": kind, "frequency": frequency, "confirmed": confirmed, "area": area,
         **{k: target.get(k) for k in ("quartier_id", "zone_code", "category", "incident_id", "producer_id",
                                       "cpv_division", "commune_insee")}}
    ).mappings().one()
    return dict(row)


def _same(conn: Connection, *, kind: str, email: str | None, user_id: int | None, target: dict) -> dict | None:
    """An existing live subscription of the same recipient to the same selection (areas: same geometry)."""
    row = conn.execute(text(
        "SELECT * FROM subscriptions WHERE kind = :kind AND unsubscribed_at IS NULL "
        "AND (email = :email OR user_id = :user_id) "
        "AND quartier_id IS NOT DISTINCT FROM :quartier_id AND zone_code IS NOT DISTINCT FROM :zone_code "
        "AND category IS NOT DISTINCT FROM :category AND cpv_division IS NOT DISTINCT FROM :cpv_division "
        "AND commune_insee IS NOT DISTINCT FROM :commune_insee "
        "AND (geom IS NULL AND CAST(:area AS text) IS NULL OR ST_Equals(geom, ST_GeomFromEWKT(:area))) "
        "ORDER BY id LIMIT 1"),
        {"kind": kind, "email": email, "user_id": user_id, "area": target.get("area"),
         **{k: target.get(k) for k in ("quartier_id", "zone_code", "category", "cpv_division", "commune_insee")}}
    ).mappings().first()
    return dict(row) if row else None


def describe(conn: Connection, subscription: dict, locale: str = "fr") -> str:
    """The selection of a subscription in words (``quartier Saint-Merri``, ``zone dessinée de 0,4 km²``)."""
    locale = locale_of(locale)
    kind = subscription["kind"]
    if kind == "quartier":
        value = conn.scalar(text("SELECT name FROM quartiers WHERE id = :id"), {"id": subscription["quartier_id"]})
    elif kind == "zone":
        value = conn.scalar(text("SELECT name FROM priority_zones WHERE code = :c ORDER BY valid_from DESC LIMIT 1"),
                            {"c": subscription["zone_code"]}) or subscription["zone_code"]
    elif kind == "category":
        value = conn.scalar(text(f"SELECT label_{locale} FROM incident_categories WHERE code = :c"),
                            {"c": subscription["category"]})
    elif kind == "area":
        km2 = conn.scalar(text("SELECT ST_Area(geom) / 1e6 FROM subscriptions WHERE id = :id"),
                          {"id": subscription["id"]}) or 0
        value = f"{km2:.2f}".replace(".", "," if locale == "fr" else ".")
    elif kind == "incident":
        value = subscription["incident_id"]
    elif kind == "cpv_division":
        value = subscription["cpv_division"]
    elif kind == "commune":
        value = subscription["commune_insee"]
    elif kind == "queue":
        value = conn.scalar(text("SELECT name FROM producers WHERE id = :id"), {"id": subscription["producer_id"]})
    else:
        value = ""
    return _LABELS[locale][kind].format(value)


def subscribe(conn: Connection, selection: Selection, *, email: str | None = None, user_id: int | None = None,
              locale: str = "fr", frequency: str = "immediate") -> dict:
    """Subscribe an address (unconfirmed: a confirmation message is queued) or an account (confirmed).

    Subscribing again to the same selection returns the existing subscription (an unconfirmed one
    gets its confirmation again, at most once an hour), so the answer never tells whether an
    address was already subscribed.
    """
    if frequency not in SUBSCRIPTION_FREQUENCIES:
        raise InvalidInput(_("fréquence inconnue : %(value)s", value=repr(frequency)))
    if (email is None) == (user_id is None):
        raise InvalidInput(_("une adresse ou un compte, pas les deux"))
    email = clean_email(email) if email is not None else None
    target = _target(conn, selection)
    existing = _same(conn, kind=selection.kind, email=email, user_id=user_id, target=dict(target))
    subscription = existing or _insert(conn, kind=selection.kind, email=email, user_id=user_id, locale=locale,
                                       frequency=frequency, confirmed=user_id is not None, target=target)
    if subscription["confirmed_at"] is None:
        hour = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H")
        enqueue(conn, email, "subscription_confirm",
                {"selection": describe(conn, subscription, subscription["locale"]),
                 "confirm_path": CONFIRM_PATH.format(token=subscription["token"])},
                f"confirm:{subscription['id']}:{hour}", locale=subscription["locale"],
                subscription_id=subscription["id"])
    return subscription


def confirm(conn: Connection, token: str) -> dict:
    """Confirm a subscription from the link of its confirmation message (idempotent)."""
    row = conn.execute(text(
        "UPDATE subscriptions SET confirmed_at = coalesce(confirmed_at, now()) "
        "WHERE token = :t AND unsubscribed_at IS NULL RETURNING *"), {"t": token or ""}).mappings().first()
    if row is None:
        raise NotFound(_("ce lien de confirmation n'est pas (ou plus) valable"))
    return dict(row)


def unsubscribe_by_message(conn: Connection, message_token: str) -> list[dict]:
    """End the subscriptions a message came from (a digest: those of its parts); one click, idempotent.

    Returns the subscriptions concerned (already ended ones included); NotFound for an unknown link.
    """
    message = conn.execute(text("SELECT id, subscription_id FROM outbox WHERE token = :t"),
                           {"t": message_token or ""}).mappings().first()
    if message is None:
        raise NotFound(_("ce lien de désabonnement n'est pas valable"))
    rows = conn.execute(text(
        "UPDATE subscriptions SET unsubscribed_at = coalesce(unsubscribed_at, now()) "
        "WHERE id IN (SELECT subscription_id FROM outbox WHERE (id = :m OR digest_id = :m) "
        "AND subscription_id IS NOT NULL) RETURNING *"), {"m": message["id"]}).mappings().all()
    return [dict(r) for r in rows]


def resubscribe(conn: Connection, message_token: str) -> int:
    """Undo :func:`unsubscribe_by_message` (the "I clicked by mistake" button); number restored."""
    return conn.execute(text(
        "UPDATE subscriptions SET unsubscribed_at = NULL WHERE id IN (SELECT o.subscription_id FROM outbox m "
        "JOIN outbox o ON o.id = m.id OR o.digest_id = m.id WHERE m.token = :t)"), {"t": message_token or ""}).rowcount


def end_for_user(conn: Connection, subscription_id: int, user_id: int) -> None:
    """End one of a logged-in user's subscriptions (from the account page)."""
    if not conn.execute(text(
            "UPDATE subscriptions SET unsubscribed_at = now() WHERE id = :id AND user_id = :u "
            "AND unsubscribed_at IS NULL"), {"id": subscription_id, "u": user_id}).rowcount:
        raise NotFound(_("abonnement introuvable"))


def set_preference(conn: Connection, user_id: int, kind: str, *, frequency: str | None, producer_id: int | None = None,
                   locale: str = "fr") -> None:
    """An account's choice for the messages of its role: ``immediate``, ``daily`` or None (none at all).

    ``kind`` is ``queue`` (agents, with their ``producer_id``) or ``publication`` (urbanists, admins).
    """
    if kind not in ("queue", "publication"):
        raise InvalidInput(_("préférence inconnue : %(value)s", value=repr(kind)))
    if frequency is not None and frequency not in SUBSCRIPTION_FREQUENCIES:
        raise InvalidInput(_("fréquence inconnue : %(value)s", value=repr(frequency)))
    ensure_role_subscriptions(conn)
    updated = conn.execute(text(
        "UPDATE subscriptions SET frequency = coalesce(:f, frequency), locale = :l, "
        "unsubscribed_at = CASE WHEN :f IS NULL THEN now() END "
        "WHERE user_id = :u AND kind = :k AND producer_id IS NOT DISTINCT FROM :p"),
        {"f": frequency, "l": locale_of(locale), "u": user_id, "k": kind, "p": producer_id}).rowcount
    if not updated:
        raise NotFound(_("cette préférence ne concerne pas votre compte"))


def ensure_role_subscriptions(conn: Connection) -> int:
    """Give every active agent a subscription to its service's queue and every urbanist and admin
    one to the publication deadline (immediate, French), unless they already have one (even ended:
    an ended one stays ended). Set-based; returns the number created."""
    return conn.execute(text(
        "INSERT INTO subscriptions (token, user_id, kind, producer_id, confirmed_at) "
        "SELECT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), u.id, "
        "CASE WHEN u.role = 'agent' THEN 'queue' ELSE 'publication' END, "
        "CASE WHEN u.role = 'agent' THEN u.producer_id END, now() "
        "FROM users u WHERE u.active AND u.role IN ('agent', 'urbaniste', 'admin') "
        "AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id "
        "AND s.kind = CASE WHEN u.role = 'agent' THEN 'queue' ELSE 'publication' END "
        "AND s.producer_id IS NOT DISTINCT FROM CASE WHEN u.role = 'agent' THEN u.producer_id END)")).rowcount


def follow_incident(conn: Connection, incident_id: int, email: str, locale: str = "fr") -> dict:
    """The reporter's subscription to their own report (confirmed: they typed the address to be
    kept informed, and every message lets them stop)."""
    return _insert(conn, kind="incident", email=clean_email(email), user_id=None, locale=locale,
                   frequency="immediate", confirmed=True, target={"incident_id": incident_id})


def for_user(conn: Connection, user_id: int, locale: str = "fr") -> list[dict]:
    """A logged-in user's live subscriptions, with their selection in words and their feed query."""
    rows = conn.execute(text(
        "SELECT s.*, q.code AS quartier_code, ST_AsGeoJSON(ST_Transform(s.geom, 4326), 6) AS area_geojson "
        "FROM subscriptions s LEFT JOIN quartiers q ON q.id = s.quartier_id "
        "WHERE s.user_id = :u AND s.unsubscribed_at IS NULL ORDER BY s.kind, s.id"),
        {"u": user_id}).mappings().all()
    result = []
    for row in rows:
        item = dict(row)
        item["label"] = describe(conn, item, locale)
        item["feed_query"] = feed_query(item)
        result.append(item)
    return result


def feed_query(subscription: dict) -> dict | None:
    """Query-string of the Atom feed of the same selection (None for role subscriptions)."""
    kind = subscription["kind"]
    if kind == "quartier":
        return {"quartier": subscription.get("quartier_code")}
    if kind == "zone":
        return {"zone": subscription["zone_code"]}
    if kind == "category":
        return {"category": subscription["category"]}
    if kind == "area" and subscription.get("area_geojson"):
        return {"area": subscription["area_geojson"]}
    return None


#: Feeds of the planned purchases' selections (the portal's ``/achats/a-venir`` feeds).
PURCHASE_FEED_PATHS = {"cpv_division": "/achats/a-venir/secteur/{}.atom", "commune": "/achats/a-venir/commune/{}.atom"}


def purchase_feed_path(subscription: dict) -> str | None:
    """Path of the Atom feed of a planned purchases' subscription (None for other kinds)."""
    kind = subscription["kind"]
    if kind in PURCHASE_FEED_PATHS:
        return PURCHASE_FEED_PATHS[kind].format(subscription["cpv_division" if kind == "cpv_division" else "commune_insee"])
    return None


__all__ = ["Selection", "subscribe", "confirm", "unsubscribe_by_message", "resubscribe", "end_for_user",
           "set_preference", "ensure_role_subscriptions", "follow_incident", "for_user", "describe",
           "clean_email", "check_area", "feed_query", "SELECTION_LABEL_SQL", "PUBLIC_KINDS", "PURCHASE_KINDS",
           "purchase_feed_path"]
