"""Fixtures of the notification tests: a real SMTP server (aiosmtpd) on a loopback port, and
committed test rows for the sender (which works in its own transactions, like in production)."""
from __future__ import annotations

import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from tests.builders import add_central_quartier

INSIDE = (48.8530, 2.3499)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts (parsed), refuses some recipients
    with 550, and calls ``on_data(message)`` before answering 250 (to kill a sender there)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refused: set[str] = set()
        self.on_data = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        if self.on_data is not None:
            self.on_data(message)
        return "250 Message accepted for delivery"

    def keys(self) -> list[str]:
        return [m["X-OVA-Idempotency-Key"] for m in self.messages]

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def committed(engine):
    """The test database with committed rows (a quartier, an agent); everything this test added
    to incidents, subscriptions and the outbox is deleted afterwards."""
    with engine.begin() as conn:
        quartier_id = add_central_quartier(conn, "N-CITE", "Cité (notify)")
        agent_id = conn.scalar(text(
            "INSERT INTO users (email, name, password_hash, role, producer_id) VALUES "
            "('agent.notify@example.org', 'Agent', 'x', 'agent', (SELECT id FROM producers WHERE slug = 'proprete')) "
            "RETURNING id"))
    yield {"quartier_id": quartier_id, "agent_id": agent_id}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(text("DELETE FROM subscriptions"))
        conn.execute(text("DELETE FROM audit_log WHERE table_name = 'incidents' AND row_id IN "
                          "(SELECT id::text FROM incidents WHERE quartier_id = :q)"), {"q": quartier_id})
        conn.execute(text("DELETE FROM compliance_results WHERE quartier_id = :q"), {"q": quartier_id})
        conn.execute(text("DELETE FROM incidents WHERE quartier_id = :q OR quartier_id IS NULL AND source = 'portal'"),
                     {"q": quartier_id})
        conn.execute(text("DELETE FROM users WHERE id = :a"), {"a": agent_id})
        conn.execute(text("DELETE FROM quartiers WHERE id = :q"), {"q": quartier_id})
