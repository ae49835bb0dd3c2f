"""SQL identifiers: split and check a ``[schema.]table`` name, quote a name from the catalogue."""
from __future__ import annotations

import re

from ova.errors import InvalidInput

_NAME = re.compile(r"^(?:([a-z_][a-z0-9_]*)\.)?([a-z_][a-z0-9_]*)$")


def quote_ident(name: str) -> str:
    """Quote an identifier that came from the database catalogue."""
    return '"' + name.replace('"', '""') + '"'


def split_name(table: str) -> tuple[str, str]:
    """Split ``schema.table`` (schema defaults to public) after a syntax check."""
    match = _NAME.match(table or "")
    if not match:
        raise InvalidInput(f"invalid table name '{table}'")
    return match.group(1) or "public", match.group(2)
