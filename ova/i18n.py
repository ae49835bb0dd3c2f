"""Translatable messages for code without Flask (domain packages, ETL).

Domain code marks its user-facing strings with ``_`` (:func:`gettext`, translated when called) or
``_l`` (:func:`lazy_gettext`, translated each time it is turned into text); the French source text
is the message id, as in the portal's catalogues. Which language applies is the web layer's
business: ``portal.create_app`` installs flask-babel's ``gettext`` with :func:`install`. Until then
(scripts, the ETL) the French text is used.
"""
from __future__ import annotations

from collections.abc import Callable


def _french(msgid: str, **params) -> str:
    return msgid % params if params else msgid


_translate: Callable[..., str] = _french


def install(translate: Callable[..., str]) -> None:
    """Translate messages with ``translate(msgid, **params)`` from now on (e.g. flask_babel.gettext)."""
    global _translate
    _translate = translate


def gettext(msgid: str, **params) -> str:
    """``msgid`` translated, then formatted with ``params`` (``%(name)s`` placeholders)."""
    return _translate(msgid, **params)


class LazyText:
    """A message translated when it is turned into text (for labels declared at import time)."""

    __slots__ = ("msgid",)

    def __init__(self, msgid: str):
        self.msgid = msgid

    def __str__(self) -> str:
        return gettext(self.msgid)

    def __repr__(self) -> str:
        return f"LazyText({self.msgid!r})"


def lazy_gettext(msgid: str) -> LazyText:
    """``msgid`` marked for translation, translated when used."""
    return LazyText(msgid)
