"""Who reads a layer: the logged-in user, or the owner of an API token (Bearer or ?api_key)."""
from __future__ import annotations

from flask import g, request
from flask_login import current_user

from layers.catalogue import ANONYMOUS, Reader
from ova.errors import Unauthorized
from portal.auth.tokens import user_for_token
from portal.database import get_session


def request_token() -> str | None:
    """The API token of the request: ``Authorization: Bearer …`` or ``?api_key=…``."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.args.get("api_key") or None


def current_reader() -> Reader:
    """The reader of the current request; an invalid token is refused, never ignored."""
    if "ova_reader" in g:
        return g.ova_reader
    token = request_token()
    if token:
        user = user_for_token(get_session(), token)
        if user is None:
            raise Unauthorized("invalid or revoked API token")
        reader = Reader(user.role, user.producer_id)
    elif not request.cookies:
        reader = ANONYMOUS  # no session nor remember cookie: no login to load (the API clients' case)
    elif current_user.is_authenticated:
        reader = Reader(current_user.role, current_user.producer_id)
    else:
        reader = ANONYMOUS
    g.ova_reader = reader
    return reader


def token_args() -> dict[str, str]:
    """``api_key`` to carry into generated links when the client authenticated that way."""
    key = request.args.get("api_key")
    return {"api_key": key} if key else {}
