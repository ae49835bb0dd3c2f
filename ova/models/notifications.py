"""Notifications: subscriptions (who wants which messages) and the outbox of e-mails to send."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ova.models.base import Base, _in, _now, geometry
#: What a subscription follows: an area (quartier, priority zone by code, category, drawn polygon)
#: for anyone; one incident for its reporter; a producer's queue for its agents; the monthly
#: publication deadline for urbanists and admins; planned purchases of a CPV division or in a
#: commune for firms.
SUBSCRIPTION_KINDS = ("quartier", "zone", "category", "area", "incident", "queue", "publication",
                      "cpv_division", "commune")
SUBSCRIPTION_FREQUENCIES = ("immediate", "daily")
MAIL_LOCALES = ("fr", "en")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "digested", "cancelled")


class Subscription(Base):
    """Who wants which messages: an address (double opt-in) or an account, and one selection.

    ``token`` is the secret of the confirmation link; a subscription sends nothing until
    ``confirmed_at`` is set, and nothing more once ``unsubscribed_at`` is.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(_in("kind", SUBSCRIPTION_KINDS), name="kind"),
        CheckConstraint(_in("frequency", SUBSCRIPTION_FREQUENCIES), name="frequency"),
        CheckConstraint(_in("locale", MAIL_LOCALES), name="locale"),
        CheckConstraint("email IS NOT NULL OR user_id IS NOT NULL", name="recipient"),
        CheckConstraint("(kind <> 'quartier' OR quartier_id IS NOT NULL) AND (kind <> 'zone' OR zone_code IS NOT NULL)"
                        " AND (kind <> 'category' OR category IS NOT NULL) AND (kind <> 'area' OR geom IS NOT NULL)"
                        " AND (kind <> 'incident' OR incident_id IS NOT NULL)"
                        " AND (kind <> 'queue' OR producer_id IS NOT NULL)"
                        " AND (kind <> 'cpv_division' OR cpv_division IS NOT NULL)"
                        " AND (kind <> 'commune' OR commune_insee IS NOT NULL)", name="target"),
        Index("ix_subscriptions_kind_quartier_id", "kind", "quartier_id"),
        Index("ix_subscriptions_incident_id", "incident_id"),
        Index("ix_subscriptions_user_id", "user_id"),
        Index("ix_subscriptions_email", "email"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    #: The address of an anonymous subscriber or a reporter; None for an account (users.email is used).
    email: Mapped[str | None] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(2), default="fr", server_default="fr")
    kind: Mapped[str] = mapped_column(String(16))
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="CASCADE"))
    zone_code: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(ForeignKey("incident_categories.code", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="CASCADE"))
    #: A CPV division (two digits) or an INSEE commune code (planned purchases' alerts).
    cpv_division: Mapped[str | None] = mapped_column(String(2))
    commune_insee: Mapped[str | None] = mapped_column(String(12))
    frequency: Mapped[str] = mapped_column(String(16), default="immediate", server_default="immediate")
    created_at: Mapped[dt.datetime] = _now()
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(geometry("MULTIPOLYGON"), nullable=True)


class OutboxMessage(Base):
    """One e-mail to send, written in the transaction of the event that causes it.

    ``key`` is the idempotency key (unique: the same event never queues a message twice, and the
    receiver sees it as ``X-OVA-Idempotency-Key``); ``token`` is the secret of the one-click
    unsubscribe link of this message. The sender claims, sends and marks it (see
    ``notifications.sender``).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
        CheckConstraint(_in("locale", MAIL_LOCALES), name="locale"),
        Index("ix_outbox_status_due_at", "status", "due_at"),
        Index("ix_outbox_recipient_sent_at", "recipient", "sent_at"),
        Index("ix_outbox_digest_id", "digest_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(2), default="fr", server_default="fr")
    template: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = _now()
    #: Not sent before this time (a daily digest, a back-off after a failure, the rate limit).
    due_at: Mapped[dt.datetime] = _now()
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The sender holding the message while it is 'sending' (its advisory lock id).
    claimed_by: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The digest this message was sent in (status 'digested').
    digest_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("outbox.id", ondelete="SET NULL"))
