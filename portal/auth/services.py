"""Accounts and roles: password hashing, the logged-in user, and server-side role checks."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from flask import abort
from flask_login import LoginManager, current_user
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ova import audit, ratelimit
from ova.errors import Conflict, InvalidInput
from ova.models import ROLES, LoginFailure, Producer, User

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
                producer_slug: str | None = None, actor_id: int | None = None) -> User:
    """Create an account; agents must name their producer. Logged in the audit log (by ``actor_id``,
    None for the command line)."""
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
    audit.record(session, actor_id, "users", user.id, "create", None, audit.snapshot(user))
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower(), User.active))
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return user


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per account and per client address within ``window``."""

    per_account: int = 5
    per_client: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)


def account_key(secret: str, email: str | None) -> str | None:
    """Keyed hash of the normalised email typed at login (what a failure is counted against)."""
    return ratelimit.client_hash(secret, (email or "").strip().lower()[:254] or None)


def check_login_allowed(session: Session, account: str | None, client: str | None, limits: LoginLimits) -> None:
    """Refuse (429) a login attempt once the account or the client address had too many failures.

    Checked before the password, so a locked account cannot be used to test passwords. The
    failures are rows of ``login_failures``: the limit holds across workers and restarts.
    """
    minutes = int(limits.window.total_seconds() // 60)
    ratelimit.check(session, LoginFailure.account_hash, account, LoginFailure.at,
                    limit=limits.per_account, window=limits.window,
                    message=f"too many failed logins for this account: retry in {minutes} minutes")
    ratelimit.check(session, LoginFailure.client_hash, client, LoginFailure.at,
                    limit=limits.per_client, window=limits.window,
                    message=f"too many failed logins from this connection: retry in {minutes} minutes")


def record_login_failure(session: Session, account: str | None, client: str | None,
                         limits: LoginLimits) -> None:
    """Count one failed login (and forget this account's failures older than the window)."""
    if account is None:
        return
    session.execute(delete(LoginFailure).where(LoginFailure.account_hash == account,
                                               LoginFailure.at < func.now() - limits.window))
    session.execute(insert(LoginFailure).values(account_hash=account, client_hash=client))


def clear_login_failures(session: Session, account: str | None) -> None:
    """A successful login clears the account's failures (not the client address's)."""
    if account is not None:
        session.execute(delete(LoginFailure).where(LoginFailure.account_hash == account))


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
