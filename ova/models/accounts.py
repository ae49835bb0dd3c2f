"""Portal accounts and security records: users, API tokens, failed logins, rate counters, audit log."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ova.models.base import Base, _in, _now
from ova.models.reference import Producer

ROLES = ("citizen", "commercant", "agent", "urbaniste", "banque", "admin")


class User(Base):
    """A portal account with one role; agents belong to a producer."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint("role <> 'agent' OR producer_id IS NOT NULL", name="agent_producer"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[dt.datetime] = _now()

    producer: Mapped[Producer | None] = relationship()


class ApiToken(Base):
    """An API key of a user (Open311 clients, restricted layers); only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _now()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    user: Mapped[User] = relationship()


AUDIT_ACTIONS = ("create", "update", "delete")


class LoginFailure(Base):
    """One refused login, for rate limiting: keyed hashes of the account tried and of the client IP."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_hash_at", "account_hash", "at"),
        Index("ix_login_failures_client_hash_at", "client_hash", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: Keyed hash of the normalised email typed (a mistyped password is never stored in clear).
    account_hash: Mapped[str] = mapped_column(String(64))
    #: Keyed hash of the client's IP address (never the address itself).
    client_hash: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = _now()


class RateCounter(Base):
    """Requests of one client in one fixed time window (API rate limits), counted across workers.

    UNLOGGED: counters need no crash safety, and skipping the WAL keeps the per-request upsert cheap.
    """

    __tablename__ = "rate_counters"
    __table_args__ = (
        Index("ix_rate_counters_window_start", "window_start"),
        {"prefixes": ["UNLOGGED"]},
    )
    #: Scope and keyed hash of the client's address, e.g. ``api:<hmac>`` (never the address itself).
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """One change to a norm, zone, incident, layer or user: who, when, and the row before/after."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_in("action", AUDIT_ACTIONS), name="action"),
        Index("ix_audit_log_table_name_at", "table_name", "at"),
        Index("ix_audit_log_table_name_row_id", "table_name", "row_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = _now()
    #: The user who made the change; None for the command line, ETL or a deleted account.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    table_name: Mapped[str] = mapped_column(String(63))
    row_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
