"""What reporters and agents type, checked: field labels, length limits, text, e-mail, a point.

Shared by the report form (:mod:`incidents.reports`) and the workflow's notes and comments
(:mod:`incidents.workflow`); every message names the field as the person typing knows it.
"""
from __future__ import annotations

from ova.errors import InvalidInput
from ova.i18n import gettext as _
from ova.i18n import lazy_gettext as _l

DESCRIPTION_MAX = 4000
NOTE_MAX = 2000
EMAIL_MAX = 254
ADDRESS_MAX = 500

#: Field names as the reporter knows them (messages are French first, English in the catalogue).
_FIELD_LABELS = {"lat": _l("latitude"), "long": _l("longitude"), "description": _l("description"),
                 "address": _l("adresse"), "email": _l("adresse électronique"), "comment": _l("commentaire"),
                 "note": _l("note")}


def label(name: str) -> str:
    return str(_FIELD_LABELS.get(name, name))


def _coordinate(value, name: str, low: float, high: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(_("%(name)s manquante : indiquez l'emplacement du problème", name=label(name)))
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise InvalidInput(_("%(name)s : un nombre de degrés (WGS 84) est attendu, pas %(value)s",
                               name=label(name), value=repr(str(value)[:40]))) from err
    if not (low <= number <= high) or number != number:
        raise InvalidInput(_("%(name)s %(number)s hors de l'intervalle [%(low)s, %(high)s]",
                             name=label(name), number=number, low=low, high=high))
    return number


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_point(lat, lon) -> tuple[float, float]:
    """Return ``(lat, lon)`` as floats in WGS 84, or raise InvalidInput."""
    return _coordinate(lat, "lat", -90, 90), _coordinate(lon, "long", -180, 180)


def clean_text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("%(name)s : champ obligatoire", name=label(name)))
    if len(value) > limit:
        raise InvalidInput(_("%(name)s : trop long (%(n)s caractères, %(limit)s au plus)",
                             name=label(name), n=len(value), limit=limit))
    # Stored as typed; escaped on output (Jinja autoescape, JSON, XML, text nodes in maps).
    return value or None


def clean_email(value: str | None) -> str | None:
    value = clean_text(value, "email", EMAIL_MAX)
    if value and ("@" not in value or value.startswith("@") or value.endswith("@") or " " in value):
        raise InvalidInput(_("l'adresse électronique n'est pas valide"))
    return value.lower() if value else None
