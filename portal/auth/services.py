"""Accounts and roles: password hashing, the logged-in user, and server-side role checks."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import abort
from flask_login import LoginManager, current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ova.errors import Conflict, InvalidInput
from ova.models import ROLES, Producer, User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None


@dataclass(frozen=True)
class PortalUser:
    """The logged-in user as the portal sees it (detached from any session)."""

    id: int
    email: str
    name: str
    role: str
    producer_id: int | None

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @classmethod
    def from_model(cls, user: User) -> "PortalUser":
        return cls(user.id, user.email, user.name, user.role, user.producer_id)


def hash_password(password: str) -> str:
    """Return a salted scrypt hash of ``password``."""
    return generate_password_hash(password, method="scrypt")


def create_user(session: Session, *, email: str, name: str, password: str, role: str,
                producer_slug: str | None = None) -> User:
    """Create an account; agents must name their producer."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}' (expected one of {', '.join(ROLES)})")
    if len(password) < 8:
        raise InvalidInput("the password must have at least 8 characters")
    producer_id = None
    if producer_slug:
        producer = session.scalar(select(Producer).where(Producer.slug == producer_slug))
        if producer is None:
            raise InvalidInput(f"unknown producer '{producer_slug}'")
        producer_id = producer.id
    if role == "agent" and producer_id is None:
        raise InvalidInput("an agent belongs to a producer: give --producer")
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"an account already exists for {email}")
    user = User(email=email, name=name, password_hash=hash_password(password), role=role,
                producer_id=producer_id)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower(), User.active))
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return user


def roles_required(*roles: str):
    """Allow the view only to logged-in users holding one of ``roles`` (admins always pass)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
