"""Atom feeds of the subscription selections, for people who would rather not give an address.

A feed lists the newest reports of a quartier, a priority zone, a category or an area (GeoJSON in
WGS 84 in the query string), with the same public fields as the e-mails: category, place, status,
dates and link — never the description, the address or the photo.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from notifications.subscriptions import PUBLIC_KINDS, Selection, check_area
from ova.i18n import gettext as _
from ova.errors import InvalidInput

FEED_SIZE = 50


def selection_from_args(args) -> Selection:
    """The one selection named by query parameters (``quartier=``, ``zone=``, ``category=`` or ``area=``)."""
    given = [(kind, args.get(kind)) for kind in PUBLIC_KINDS if args.get(kind)]
    if len(given) != 1:
        raise InvalidInput(_("indiquez une sélection : quartier=, zone=, category= ou area= (une seule)"))
    return Selection(*given[0])


def selection_title(conn: Connection, selection: Selection, locale: str = "fr") -> str:
    """The selection in words, for the feed's title."""
    en = locale == "en"
    if selection.kind == "quartier":
        name = conn.scalar(text("SELECT name FROM quartiers WHERE code = :c"), {"c": selection.value})
        if name is None:
            raise InvalidInput(_("quartier inconnu : %(value)s", value=repr(selection.value[:64])))
        return f"quartier {name}"
    if selection.kind == "zone":
        name = conn.scalar(text("SELECT name FROM priority_zones WHERE code = :c ORDER BY valid_from DESC LIMIT 1"),
                           {"c": selection.value})
        if name is None:
            raise InvalidInput(_("zone prioritaire inconnue : %(value)s", value=repr(selection.value[:64])))
        return ("priority zone " if en else "zone prioritaire ") + name
    if selection.kind == "category":
        label = conn.execute(text("SELECT label_fr, label_en FROM incident_categories WHERE code = :c"),
                             {"c": selection.value}).first()
        if label is None:
            raise InvalidInput(_("catégorie inconnue : %(value)s", value=repr(selection.value[:64])))
        return ("category " if en else "catégorie ") + (label.label_en if en else label.label_fr)
    return "drawn area" if en else "zone dessinée"


def recent_reports(conn: Connection, selection: Selection, *, limit: int = FEED_SIZE) -> list[dict]:
    """The newest reports of ``selection`` (public fields only), newest first."""
    params: dict = {"limit": limit, "value": selection.value}
    if selection.kind == "quartier":
        where = "q.code = :value"
    elif selection.kind == "zone":
        where = "z.code = :value"
    elif selection.kind == "category":
        where = "i.category = :value"
    else:
        params["area"] = check_area(conn, selection.value)
        where = "ST_Intersects(i.geom, ST_GeomFromEWKT(:area))"
    rows = conn.execute(text(
        "SELECT i.id, i.status, i.reported_at, greatest(i.reported_at, i.updated_at) AS updated_at, "
        "c.label_fr AS category_fr, c.label_en AS category_en, q.name AS quartier, z.name AS zone, "
        "p.name AS producer "
        "FROM incidents i JOIN incident_categories c ON c.code = i.category "
        "LEFT JOIN quartiers q ON q.id = i.quartier_id LEFT JOIN priority_zones z ON z.id = i.zone_id "
        "LEFT JOIN producers p ON p.id = i.producer_id "
        f"WHERE {where} ORDER BY i.reported_at DESC, i.id DESC LIMIT :limit"), params).mappings().all()
    return [dict(r) for r in rows]
