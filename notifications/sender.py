"""Deliver the outbox over SMTP: claim, send, mark; retry with back-off; never lose a message.

One pass (:meth:`Sender.run_once`, what ``ova notify send`` does):

1. cancel the messages whose subscription ended, bundle each recipient's due messages into one
   digest and hold back recipients over the hourly limit (:func:`outbox.bundle_digests`);
2. claim a batch of due messages in one short transaction (``FOR UPDATE SKIP LOCKED``: several
   senders never take the same row), marking them ``sending`` with this sender's id;
3. send each over one SMTP session, then mark it ``sent`` in its own transaction at once.

A sender holds a PostgreSQL advisory lock (class :data:`LOCK_CLASS`, its id) on a connection of
its own for as long as it lives. A message left ``sending`` by a sender whose lock is gone (the
process was killed between the SMTP "250 OK" and the mark) is claimed again and resent with the
same ``Message-ID`` and ``X-OVA-Idempotency-Key``: at most one duplicate per crash, which the
receiver can recognise. The server down, refusing the connection or answering 4xx puts the
messages back with a growing delay (:func:`backoff`); a 5xx refusal of a recipient fails that
message at once; after ``max_attempts`` a message is ``failed`` and shown at /admin/outbox.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import logging
import secrets
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from notifications import outbox

LOGGER = logging.getLogger(__name__)

#: First key of the advisory locks held by live senders (the second is the sender's id).
LOCK_CLASS = 17017
DEFAULT_MAIL_FROM = "Portail OVA <ne-pas-repondre@localhost>"


class SmtpConfigError(ValueError):
    """``OVA_SMTP_URL`` cannot be used as given."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect, parsed from ``smtp://user:pass@host:587`` or ``smtps://…:465``."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> "SmtpSettings":
        """Parse an SMTP URL; ``smtp`` uses STARTTLS when the server offers it, ``smtps`` TLS from the start."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpConfigError(f"OVA_SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465, "
                                  f"not {parts.scheme}://…")
        return cls(host=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps" else 587),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   implicit_tls=parts.scheme == "smtps")


class TemporaryFailure(Exception):
    """The message could not be handed over now (server down, 4xx): try again later."""


class PermanentFailure(Exception):
    """The server refused this message for good (5xx on the recipient or the data)."""


class SmtpTransport:
    """One SMTP session reused for a batch, opened on first use."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif s.username and not _is_loopback(s.host):
                smtp.close()
                raise SmtpConfigError(f"{s.host}:{s.port} offers no STARTTLS: refusing to send the password in clear")
        if s.username:
            smtp.login(s.username, s.password or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server, or raise TemporaryFailure / PermanentFailure."""
        try:
            if self._smtp is None:
                self._smtp = self._open()
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as err:
            self._reset()
            codes = [code for code, _ in err.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {_describe(err.recipients)}") from err
            raise TemporaryFailure(f"recipient deferred: {_describe(err.recipients)}") from err
        except smtplib.SMTPResponseException as err:
            self._reset()
            if err.smtp_code >= 500 and not isinstance(err, smtplib.SMTPSenderRefused):
                raise PermanentFailure(f"{err.smtp_code} {err.smtp_error!r}") from err
            raise TemporaryFailure(f"{err.smtp_code} {err.smtp_error!r}") from err
        except (smtplib.SMTPException, OSError) as err:
            self._reset()
            raise TemporaryFailure(f"{type(err).__name__}: {err}") from err
        if refused:
            raise PermanentFailure(f"recipient refused: {_describe(refused)}")

    def _reset(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                LOGGER.debug("closing a broken SMTP session", exc_info=True)

    def close(self) -> None:
        """End the session politely."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                LOGGER.debug("QUIT failed", exc_info=True)
            self._smtp = None


def _describe(recipients: dict) -> str:
    return "; ".join(f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                     for code, msg in recipients.values())


def _is_loopback(host: str) -> bool:
    try:
        return all(info[4][0] in ("127.0.0.1", "::1") for info in socket.getaddrinfo(host, None))
    except OSError:
        return False


def backoff(attempts: int, *, base: float = 60.0, cap: float = 6 * 3600.0) -> dt.timedelta:
    """Delay before attempt ``attempts + 1``: 1, 2, 4, 8… minutes (``base`` doubling), at most ``cap``."""
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass
class SenderSettings:
    """What a sender needs, from the environment by default (see :meth:`from_environment`)."""

    smtp_url: str | None
    mail_from: str = DEFAULT_MAIL_FROM
    base_url: str = "http://127.0.0.1:5000"
    max_per_hour: int = 6
    batch_size: int = 100
    max_attempts: int = 10
    backoff_base: float = 60.0

    @classmethod
    def from_environment(cls) -> "SenderSettings":
        """``OVA_SMTP_URL``, ``OVA_MAIL_FROM``, ``OVA_PUBLIC_URL``, ``OVA_MAIL_PER_HOUR``."""
        from ova.settings import env, public_url

        return cls(smtp_url=env("OVA_SMTP_URL"),
                   mail_from=env("OVA_MAIL_FROM") or DEFAULT_MAIL_FROM,
                   base_url=public_url(),
                   max_per_hour=int(env("OVA_MAIL_PER_HOUR") or 6))


@dataclass
class PassReport:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    digests: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, {self.digests} digests, "
                f"{self.cancelled} cancelled")


_CLAIM = """
    UPDATE outbox SET status = 'sending', claimed_by = :me, claimed_at = now(), attempts = attempts + 1
    WHERE id IN (
        SELECT o.id FROM outbox o
        WHERE (o.status = 'pending' AND o.due_at <= now())
           OR (o.status = 'sending' AND o.claimed_by <> :me AND NOT EXISTS (
                 SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid = :lock_class AND l.objid = o.claimed_by::oid AND l.objsubid = 2))
        ORDER BY o.due_at, o.id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED)
    RETURNING id, key, token, recipient, locale, template, context, subscription_id, attempts, due_at
"""


class Sender:
    """Delivers the outbox of ``engine`` through ``transport`` (an :class:`SmtpTransport`)."""

    def __init__(self, engine: Engine, transport, settings: SenderSettings):
        self.engine = engine
        self.transport = transport
        self.settings = settings
        self.id = secrets.randbelow(2 ** 31 - 1) + 1
        self._lock_conn: Connection | None = None
        self.domain = (email.utils.parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost")

    def __enter__(self) -> "Sender":
        self._lock_conn = self.engine.connect()
        self._lock_conn.execute(text("SELECT pg_advisory_lock(:c, :id)"), {"c": LOCK_CLASS, "id": self.id})
        self._lock_conn.commit()
        return self

    def __exit__(self, *exc) -> None:
        self.transport.close()
        if self._lock_conn is not None:
            self._lock_conn.close()  # ends the session: the advisory lock goes with it
            self._lock_conn = None

    def build(self, conn: Connection, row) -> EmailMessage:
        """The e-mail of an outbox row: text and HTML, idempotency headers, List-Unsubscribe."""
        rendered = outbox.render_message(conn, row, base_url=self.settings.base_url)
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = row["recipient"]
        message["Subject"] = rendered.subject
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = outbox.message_id(row["key"], self.domain)
        message["X-OVA-Idempotency-Key"] = row["key"]
        message["Auto-Submitted"] = "auto-generated"
        link = outbox.unsubscribe_url(self.settings.base_url, row["token"])
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        message["Content-Language"] = row["locale"]  # after set_content, which drops Content-* headers
        return message

    def prepare(self) -> PassReport:
        """Cancel ended subscriptions' messages, bundle digests, apply the per-recipient limit."""
        report = PassReport()
        with self.engine.begin() as conn:
            report.cancelled = outbox.cancel_unsubscribed(conn)
            report.digests = outbox.bundle_digests(conn, max_per_window=self.settings.max_per_hour)
        return report

    def claim(self) -> list:
        """Claim up to ``batch_size`` due messages (or messages of dead senders) for this sender."""
        with self.engine.begin() as conn:
            rows = conn.execute(text(_CLAIM), {"me": self.id, "lock_class": LOCK_CLASS,
                                               "limit": self.settings.batch_size}).mappings().all()
        # UPDATE … RETURNING gives no order: send the oldest first.
        return sorted(rows, key=lambda r: (r["due_at"], r["id"]))

    def _mark_sent(self, message_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET status = 'sent', sent_at = now(), last_error = NULL "
                              "WHERE id = :id AND claimed_by = :me"), {"id": message_id, "me": self.id})

    def _give_back(self, rows, error: str, *, permanent: bool = False, tried: bool = True) -> tuple[int, int]:
        """Return claimed rows to the queue with a back-off (or fail them); (retried, failed)."""
        retried = failed = 0
        with self.engine.begin() as conn:
            for row in rows:
                attempts = row["attempts"] if tried else row["attempts"] - 1
                if permanent or attempts >= self.settings.max_attempts:
                    conn.execute(text("UPDATE outbox SET status = 'failed', last_error = :e, attempts = :a "
                                      "WHERE id = :id"), {"id": row["id"], "e": error[:2000], "a": attempts})
                    failed += 1
                else:
                    delay = backoff(attempts, base=self.settings.backoff_base) if tried else dt.timedelta(0)
                    conn.execute(text(
                        "UPDATE outbox SET status = 'pending', due_at = now() + :delay, last_error = :e, "
                        "attempts = :a, claimed_by = NULL WHERE id = :id"),
                        {"id": row["id"], "delay": delay, "e": error[:2000] if tried else None, "a": attempts})
                    retried += 1 if tried else 0
        return retried, failed

    def run_once(self) -> PassReport:
        """One pass: prepare, then claim and send batches until nothing is due or the server fails."""
        report = self.prepare()
        while True:
            rows = self.claim()
            if not rows:
                break
            stop = False
            for index, row in enumerate(rows):
                try:
                    with self.engine.connect() as conn:
                        message = self.build(conn, row)
                    self.transport.send(message)
                except PermanentFailure as err:
                    LOGGER.warning("message %s to %s refused for good: %s", row["id"], row["recipient"], err)
                    report.failed += self._give_back([row], str(err), permanent=True)[1]
                    report.errors.append(str(err))
                    continue
                except TemporaryFailure as err:
                    LOGGER.warning("message %s: %s; retrying later", row["id"], err)
                    retried, failed = self._give_back([row], str(err))
                    report.retried += retried
                    report.failed += failed
                    report.errors.append(str(err))
                    # The server is down or busy: the rest of the batch waits without losing an attempt.
                    self._give_back(rows[index + 1:], "", tried=False)
                    stop = True
                    break
                self._mark_sent(row["id"])
                report.sent += 1
            if stop or len(rows) < self.settings.batch_size:
                break
        self.transport.close()
        return report

    def watch(self, *, interval: float = 10.0, should_stop=lambda: False, before_pass=None) -> None:
        """Keep sending: a pass every ``interval`` seconds until ``should_stop()`` (a worker);
        ``before_pass()`` runs first each time (the scan of time-based events)."""
        while not should_stop():
            try:
                if before_pass is not None:
                    before_pass()
                report = self.run_once()
            except Exception:  # a lost database connection must not end the worker
                LOGGER.exception("sending pass failed; next pass in %ss", interval)
            else:
                if report.sent or report.retried or report.failed:
                    LOGGER.info("outbox: %s", report)
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline and not should_stop():
                time.sleep(min(0.5, interval))
