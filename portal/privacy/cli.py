"""``ova privacy``: the GDPR duties (retention purge, a data subject's export and erasure)."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup


@click.group("privacy", cls=AppGroup)
def privacy():
    """Reporters' personal data: retention purge, export and erasure by e-mail address."""


def _photo_dir() -> Path:
    return Path(current_app.config["PHOTO_DIR"])


@privacy.command("purge")
@click.option("--months", type=click.IntRange(min=1), default=None,
              help="retention after closure (default OVA_RETENTION_MONTHS, 12)")
def purge(months):
    """Delete reporters' e-mails, original words and photos of incidents closed over N months ago."""
    from incidents import privacy as domain
    from portal.database import session_scope

    months = months or int(current_app.config.get("RETENTION_MONTHS") or domain.DEFAULT_RETENTION_MONTHS)
    with session_scope() as session:
        counts = domain.purge(session, months=months, photo_dir=_photo_dir())
    click.echo(f"purged (closed over {months} months ago): " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@privacy.command("export")
@click.option("--email", required=True, help="the data subject's e-mail address")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="JSON file to write (default: standard output)")
def export(email, output):
    """Everything held about an e-mail address, as JSON (the request is logged)."""
    from incidents import privacy as domain
    from portal.database import session_scope

    with session_scope() as session:
        data = domain.export(session, email)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    if output:
        Path(output).write_text(body + "\n", encoding="utf-8")
        click.echo(f"written to {output}")
    else:
        click.echo(body)


@privacy.command("erase")
@click.option("--email", required=True, help="the data subject's e-mail address")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def erase(email, yes):
    """Erase the personal data of an e-mail address now (the erasure is logged, not the address)."""
    from incidents import privacy as domain
    from portal.database import session_scope

    if not yes:
        click.confirm(f"erase every personal data of {email}?", abort=True)
    with session_scope() as session:
        counts = domain.erase(session, email, photo_dir=_photo_dir())
    click.echo("erased: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
