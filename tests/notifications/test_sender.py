"""The sender against a real SMTP server (aiosmtpd on a loopback port), on committed rows.

Delivered content and headers, the opt-in and unsubscribe links followed from the delivered
mail, the server down then up, a sender killed between the server's "250" and the mark, a
rollback sending nothing, digests and the per-recipient limit, a permanent refusal.
"""
from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from notifications import outbox
from notifications.sender import Sender, SenderSettings, SmtpSettings, SmtpTransport
from ova.db import make_sessionmaker
from portal import create_app, database
from incidents import reports
from incidents.reports import NewReport
from tests.notifications.conftest import INSIDE

ROOT = Path(__file__).resolve().parents[2]
#: The ``ova`` command of this environment (a separate process, as cron or systemd would run it).
OVA = str(Path(sys.executable).with_name("ova"))
BASE = "http://portail.test"


def _sender(engine, server, **kw) -> Sender:
    settings = SenderSettings(smtp_url=server.url, mail_from="Portail OVA <ne-pas-repondre@ville.test>",
                              base_url=BASE, max_per_hour=kw.pop("max_per_hour", 100), backoff_base=0, **kw)
    return Sender(engine, SmtpTransport(SmtpSettings.from_url(server.url)), settings)


def _send(engine, server, **kw):
    with _sender(engine, server, **kw) as sender:
        return sender.run_once()


def _queue(engine, n: int, *, recipient="dest{i}@example.org", prefix="test"):
    """Queue ``n`` publication reminders, keys ``<prefix>:publication_due:<i>``."""
    with engine.begin() as conn:
        for i in range(n):
            outbox.enqueue(conn, recipient.format(i=i), "publication_due",
                           {"month_start": "2026-11-01", "due_on": "2026-12-05", "overdue": False,
                            "publications_path": "/normes/publications"}, f"{prefix}:publication_due:{i}")


def _statuses(engine) -> collections.Counter:
    with engine.connect() as conn:
        return collections.Counter(dict(conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all()))


def _report(engine, **kw):
    with make_sessionmaker(engine)() as session:
        values = {"category": "graffiti", "lat": INSIDE[0], "lon": INSIDE[1], "description": "Tag signé Dupont",
                  "email": "auteur@example.org"}
        values.update(kw)
        created = reports.create_report(session, NewReport(**values))
        session.commit()
        return created


def test_delivered_message_text_html_headers(engine, committed, smtp_server):
    created = _report(engine, locale="en")
    report = _send(engine, smtp_server)
    assert report.sent == 2  # the reporter and the agent of the service
    mail, = smtp_server.mailbox.to("auteur@example.org")
    assert mail["Subject"] == f"Report no. {created.incident.id} received: Graffiti, tags"
    assert mail["From"] == "Portail OVA <ne-pas-repondre@ville.test>"
    assert mail["X-OVA-Idempotency-Key"] == f"report_accepted:{created.incident.id}"
    assert re.fullmatch(r"<[0-9a-f]{32}@ville\.test>", mail["Message-ID"])
    assert mail["Content-Language"] == "en"
    assert mail["List-Unsubscribe"].startswith(f"<{BASE}/abonnements/desabonner/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"{BASE}/incidents/{created.incident.id}/suivi/{created.token}?lang=en" in plain
    assert f'href="{BASE}/incidents/{created.incident.id}?lang=en"' in html
    assert "Stop receiving these messages" in plain
    agent_mail, = smtp_server.mailbox.to("agent.notify@example.org")
    assert agent_mail["Subject"].startswith(f"Nouveau signalement n° {created.incident.id} dans votre file")
    for message in smtp_server.mailbox.messages:
        assert "Dupont" not in message.as_string()  # the description never leaves in a message
    assert _statuses(engine) == {"sent": 2}
    assert _send(engine, smtp_server).sent == 0  # nothing twice


def test_values_are_escaped_in_html(engine, committed, smtp_server):
    with engine.begin() as conn:
        conn.execute(text("UPDATE quartiers SET name = '<script>alert(1)</script> & Cie' WHERE id = :q"),
                     {"q": committed["quartier_id"]})
    _report(engine)
    _send(engine, smtp_server)
    mail, = smtp_server.mailbox.to("auteur@example.org")
    html = mail.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie" in html
    assert "<script>alert(1)</script> & Cie" in mail.get_body(("plain",)).get_content()


def test_opt_in_and_unsubscribe_links_work(engine, db_url, committed, smtp_server):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    try:
        client = app.test_client()
        response = client.post("/abonnements/", data={"email": "Voisin@Example.org", "kind": "quartier",
                                                      "quartier": "N-CITE", "frequency": "immediate", "locale": "fr"})
        assert response.status_code == 201
        _report(engine, email=None)
        _send(engine, smtp_server)
        # Unconfirmed: only the confirmation message, no alert for the new report.
        confirm_mail, = smtp_server.mailbox.to("voisin@example.org")
        assert confirm_mail["Subject"] == "Confirmez votre abonnement : quartier Cité (notify)"
        link = re.search(rf"{BASE}(/abonnements/confirmer/\S+)", confirm_mail.get_body(("plain",)).get_content())[1]
        assert client.get(link).status_code == 200

        created = _report(engine, email=None, lat=INSIDE[0] + 0.001)
        _send(engine, smtp_server)
        alert, = [m for m in smtp_server.mailbox.to("voisin@example.org") if m is not confirm_mail]
        assert alert["Subject"] == "Nouveau signalement : Graffitis, tags — Cité (notify)"
        assert f"{BASE}/incidents/{created.incident.id}" in alert.get_body(("plain",)).get_content()
        unsubscribe = alert["List-Unsubscribe"].strip("<>").removeprefix(BASE)
        page = client.get(unsubscribe)
        assert page.status_code == 200 and "quartier Cité (notify)" in page.get_data(as_text=True)

        _report(engine, email=None, lat=INSIDE[0] + 0.002)
        _send(engine, smtp_server)
        assert len(smtp_server.mailbox.to("voisin@example.org")) == 2  # nothing after unsubscribing
    finally:
        database.dispose(app)


def test_server_down_then_up_loses_nothing_and_sends_nothing_twice(engine, committed, smtp_server):
    _queue(engine, 5)
    smtp_server.stop()
    report = _send(engine, smtp_server)
    assert (report.sent, report.retried) == (0, 1)  # the first refused connection stops the batch
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, attempts, last_error FROM outbox ORDER BY id")).all()
    assert [r.status for r in rows] == ["pending"] * 5
    assert rows[0].attempts == 1 and "Connection refused" in rows[0].last_error
    assert [r.attempts for r in rows[1:]] == [0] * 4  # untried messages keep their attempts
    assert _send(engine, smtp_server).sent == 0  # still down
    smtp_server.start()
    assert _send(engine, smtp_server).sent == 5
    assert _send(engine, smtp_server).sent == 0
    keys = smtp_server.mailbox.keys()
    assert sorted(keys) == sorted(f"test:publication_due:{i}" for i in range(5))
    assert _statuses(engine) == {"sent": 5}


def test_back_off_doubles_and_gives_up(engine, committed, smtp_server):
    from notifications.sender import backoff

    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30).total_seconds() == 6 * 3600
    _queue(engine, 1)
    smtp_server.stop()
    for _ in range(3):
        _send(engine, smtp_server, max_attempts=3)
    assert _statuses(engine) == {"failed": 1}


def test_sender_killed_between_send_and_mark(engine, db_url, committed, smtp_server):
    """`ova notify send` is SIGKILLed while the server holds its 3rd message and has not yet answered
    250: that message is resent by the next run (one duplicate, same idempotency key and
    Message-ID); every other message is delivered exactly once."""
    _queue(engine, 6)
    env = dict(os.environ, DATABASE_URL=db_url, OVA_SMTP_URL=smtp_server.url, OVA_PUBLIC_URL=BASE,
               OVA_MAIL_FROM="ne-pas-repondre@ville.test", OVA_MAIL_PER_HOUR="100")
    process = subprocess.Popen([OVA, "notify", "send", "--batch", "6"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def kill_on_third(message):
        if len(smtp_server.mailbox.messages) == 3:
            process.send_signal(signal.SIGKILL)
            process.wait()

    smtp_server.mailbox.on_data = kill_on_third
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL
    smtp_server.mailbox.on_data = None
    # The batch of 6 was claimed: 2 marked sent, the 3rd delivered but not marked, 3 not tried.
    assert _statuses(engine) == {"sent": 2, "sending": 4}
    # The dead sender's advisory lock went with its connection: its claims are taken over at once.
    assert _send(engine, smtp_server).sent == 4
    counts = collections.Counter(smtp_server.mailbox.keys())
    assert set(counts) == {f"test:publication_due:{i}" for i in range(6)}
    duplicates = [key for key, n in counts.items() if n > 1]
    assert duplicates == ["test:publication_due:2"] and counts["test:publication_due:2"] == 2
    copies = [m for m in smtp_server.mailbox.messages if m["X-OVA-Idempotency-Key"] == duplicates[0]]
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
    assert _statuses(engine) == {"sent": 6}


def test_a_live_senders_claim_is_not_taken(engine, committed, smtp_server):
    _queue(engine, 2)
    with _sender(engine, smtp_server) as first, _sender(engine, smtp_server, batch_size=1) as second:
        claimed = first.claim()
        assert len(claimed) == 2
        assert second.claim() == []  # 'sending' rows of a live sender are left alone


def test_a_rollback_sends_nothing(engine, committed, smtp_server):
    with make_sessionmaker(engine)() as session:
        reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                  description="x" * 10, email="annule@example.org"))
        assert session.connection().scalar(text("SELECT count(*) FROM outbox")) == 2
        session.rollback()
    report = _send(engine, smtp_server)
    assert report.sent == 0 and smtp_server.mailbox.messages == []
    assert _statuses(engine) == {}


def test_several_messages_for_one_recipient_leave_as_one_digest(engine, committed, smtp_server):
    _queue(engine, 3, recipient="meme@example.org")
    report = _send(engine, smtp_server)
    assert (report.sent, report.digests) == (1, 1)
    digest, = smtp_server.mailbox.messages
    assert digest["Subject"] == "Portail OVA : 3 messages"
    assert digest.get_body(("plain",)).get_content().count("== Rappel : publication de novembre 2026") == 3
    assert _statuses(engine) == {"digested": 3, "sent": 1}


def test_rate_limit_holds_messages_back_until_the_window_frees(engine, committed, smtp_server):
    _queue(engine, 1, recipient="limite@example.org")
    assert _send(engine, smtp_server, max_per_hour=1).sent == 1
    with engine.begin() as conn:
        outbox.enqueue(conn, "limite@example.org", "publication_due",
                       {"month_start": "2026-11-01", "due_on": "2026-12-05", "overdue": True,
                        "publications_path": "/p"}, "test:later")
    assert _send(engine, smtp_server, max_per_hour=1).sent == 0
    with engine.connect() as conn:
        waits = conn.scalar(text("SELECT due_at - now() FROM outbox WHERE key = 'test:later'"))
    assert 3000 < waits.total_seconds() <= 3600  # an hour after the message sent (slack for a busy machine)


def test_a_recipient_refused_for_good_is_failed_not_retried(engine, committed, smtp_server):
    smtp_server.mailbox.refused.add("inconnu@example.org")
    _queue(engine, 1, recipient="inconnu@example.org")
    _queue(engine, 1, recipient="connu@example.org", prefix="other")
    report = _send(engine, smtp_server)
    assert (report.failed, report.sent) == (1, 1)
    with engine.connect() as conn:
        error = conn.scalar(text("SELECT last_error FROM outbox WHERE status = 'failed'"))
    assert "550" in error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback only: the sender allows it there
def test_credentials_are_used_over_loopback(engine, committed):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.notifications.conftest import Mailbox, free_port

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"ova" and auth_data.password == b"s3cr3t")

    port = free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        _queue(engine, 1)
        url = f"smtp://ova:s3cr3t@127.0.0.1:{port}"
        settings = SenderSettings(smtp_url=url, base_url=BASE, backoff_base=0)
        with Sender(engine, SmtpTransport(SmtpSettings.from_url(url)), settings) as sender:
            assert sender.run_once().sent == 1
    finally:
        controller.stop()
    assert seen == [(b"ova", b"s3cr3t")] and len(mailbox.messages) == 1


def test_cli_without_smtp_keeps_messages_in_the_outbox(engine, db_url, committed):
    _queue(engine, 2)
    env = {k: v for k, v in os.environ.items() if k != "OVA_SMTP_URL"}
    env["DATABASE_URL"] = db_url
    result = subprocess.run([OVA, "notify", "send"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "OVA_SMTP_URL is not set: nothing sent; 2 message(s) wait in the outbox" in result.stdout
    assert _statuses(engine) == {"pending": 2}


def test_watch_worker_delivers_then_stops_on_sigterm(engine, db_url, committed, smtp_server):
    env = dict(os.environ, DATABASE_URL=db_url, OVA_SMTP_URL=smtp_server.url, OVA_PUBLIC_URL=BASE)
    process = subprocess.Popen([OVA, "notify", "send", "--watch", "--interval", "0.5"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _queue(engine, 2)
        deadline = time.monotonic() + 60
        while len(smtp_server.mailbox.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(smtp_server.mailbox.messages) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
