"""Messages rendered with Jinja2 outside Flask: one template per message and language.

``notifications/templates/<locale>/<name>.j2`` defines three blocks: ``subject``, ``text`` and
``html``. The text and the subject are rendered without escaping (plain text), the HTML block
with autoescaping on, so every value coming from the database is escaped in the HTML part. The
layout ``<locale>/_layout.j2`` wraps both bodies with the footer (why you get this message, the
one-click unsubscribe link).
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ova.models import MAIL_LOCALES
from ova.settings import timezone_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_LOCALE = "fr"
#: Incident statuses as the public reads them (the portal's own labels, per language).
STATUS_LABELS = {
    "fr": {"new": "Nouveau", "acknowledged": "Pris en compte", "in_progress": "En cours de traitement",
           "resolved": "Résolu", "rejected": "Rejeté"},
    "en": {"new": "New", "acknowledged": "Acknowledged", "in_progress": "In progress", "resolved": "Resolved",
           "rejected": "Rejected"},
}


@dataclass(frozen=True)
class Rendered:
    """A message ready to send: one-line subject, plain text and HTML bodies."""

    subject: str
    text: str
    html: str


def _as_datetime(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _helpers(locale: str) -> dict:
    zone = ZoneInfo(timezone_name())

    def when(value) -> str:
        if not value:
            return ""
        return format_datetime(_as_datetime(value).astimezone(zone), "d MMMM y HH:mm", locale=locale)

    def day(value) -> str:
        if not value:
            return ""
        return format_date(dt.date.fromisoformat(value) if isinstance(value, str) else value, "d MMMM y",
                           locale=locale)

    def month(value) -> str:
        return format_date(dt.date.fromisoformat(value) if isinstance(value, str) else value, "MMMM y",
                           locale=locale)

    def percent(value) -> str:
        return "—" if value is None else f"{float(value) * 100:.0f} %"

    def status(code: str) -> str:
        return STATUS_LABELS[locale].get(code, code)

    return {"when": when, "day": day, "month": month, "percent": percent, "status": status}


@functools.lru_cache(maxsize=None)
def _environment(html: bool) -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=html, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


def _block(env: Environment, path: str, block: str, context: dict) -> str:
    template = env.get_template(path)
    return "".join(template.blocks[block](template.new_context(context)))


def locale_of(value: str | None) -> str:
    """A supported message language (FR by default)."""
    return value if value in MAIL_LOCALES else DEFAULT_LOCALE


def render(template: str, locale: str | None, context: dict, *, base_url: str,
           unsubscribe_url: str | None, wrap: bool = True) -> Rendered:
    """Render message ``template`` in ``locale`` (fr/en) with ``context`` (a JSON-like dict).

    Links in templates are written ``url('/path')``: ``base_url`` is the portal's public address.
    ``wrap=False`` returns the bodies without the layout (the parts of a digest).
    """
    locale = locale_of(locale)
    base_url = base_url.rstrip("/")
    # Formatting helpers are values of the context, not filters of the shared environments:
    # they depend on the message's language and rendering may run in several threads.
    values = dict(context, base_url=base_url, unsubscribe_url=unsubscribe_url, locale=locale,
                  url=lambda path: base_url + path, **_helpers(locale))
    path = f"{locale}/{template}.j2"
    text_env, html_env = _environment(False), _environment(True)
    subject = " ".join(_block(text_env, path, "subject", values).split())
    text_body = _block(text_env, path, "text", values).strip()
    html_body = Markup(_block(html_env, path, "html", values).strip())
    if not wrap:
        return Rendered(subject=subject[:250], text=text_body, html=str(html_body))
    layout = f"{locale}/_layout.j2"
    return Rendered(
        subject=subject[:250],
        text=_block(text_env, layout, "text", dict(values, content=text_body, subject=subject)).strip() + "\n",
        html=_block(html_env, layout, "html", dict(values, content=html_body, subject=subject)).strip() + "\n",
    )
