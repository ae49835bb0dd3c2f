"""API tokens: random secrets shown once, stored hashed (SHA-256), checked in constant time."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ova.models import ApiToken, User

PREFIX = "ova_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, label: str) -> str:
    """Create a token for ``user`` and return its clear value (never stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, label=label, token_hash=_digest(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str | None) -> User | None:
    """Return the active user owning ``token`` (and record its use), or None."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked.is_(False), User.active)
    ).first()
    if row is None:
        return None
    session.execute(update(ApiToken).where(ApiToken.id == row.ApiToken.id).values(last_used_at=func.now()))
    return row.User
