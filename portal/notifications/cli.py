"""``ova notify send [--watch]``: deliver the e-mail outbox over SMTP (a thin adapter over
:mod:`notifications.sender`). It does not build the Flask application: it connects to
``DATABASE_URL`` and reads ``OVA_SMTP_URL``, ``OVA_MAIL_FROM``, ``OVA_PUBLIC_URL`` and
``OVA_MAIL_PER_HOUR`` itself, so it runs from cron, a systemd timer or as a worker.
"""
from __future__ import annotations

import logging
import signal

import click


@click.group("notify")
def notify():
    """E-mail notifications (outbox)."""


@notify.command("send")
@click.option("--watch", is_flag=True, help="keep running: a pass every --interval seconds (a worker)")
@click.option("--interval", default=10.0, show_default=True, help="seconds between passes with --watch")
@click.option("--batch", default=100, show_default=True, help="messages claimed at a time")
def send(watch, interval, batch):
    """Deliver the messages that are due, with retries and back-off; exit (or keep going with --watch)."""
    from norms.publication import due_date
    from notifications import events
    from notifications.sender import Sender, SenderSettings, SmtpConfigError, SmtpSettings, SmtpTransport
    from ova.db import make_engine
    from ova.settings import database_url
    from sqlalchemy import text

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = SenderSettings.from_environment()
    settings.batch_size = batch
    engine = make_engine(database_url(), application_name="ova-notify", pool_size=2, max_overflow=2)

    def scan():
        with engine.begin() as conn:
            return events.scan(conn, publication_due=due_date)

    try:
        if not settings.smtp_url:
            counts = scan()
            with engine.connect() as conn:
                waiting = conn.scalar(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
            click.echo(f"OVA_SMTP_URL is not set: nothing sent; {waiting} message(s) wait in the outbox "
                       f"(shown to admins at /admin/outbox); queued now: {counts}")
            return
        try:
            transport = SmtpTransport(SmtpSettings.from_url(settings.smtp_url))
        except SmtpConfigError as err:
            raise click.ClickException(str(err)) from err
        with Sender(engine, transport, settings) as sender:
            if not watch:
                scan()
                report = sender.run_once()
                click.echo(f"outbox: {report}")
                return
            stopping = []
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stopping.append(True))
            click.echo(f"sending every {interval:g} s (Ctrl-C or SIGTERM to stop)")
            sender.watch(interval=interval, should_stop=lambda: bool(stopping), before_pass=scan)
    finally:
        engine.dispose()
