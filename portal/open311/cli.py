"""``ova open311``: API keys for Open311 clients."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ova.models import User


@click.group("open311", cls=AppGroup)
def open311():
    """Open311 GeoReport v2 endpoint."""


@open311.command("key")
@click.option("--email", required=True, help="account the key acts for (reports are linked to it)")
@click.option("--label", required=True, help="what the key is for, e.g. the client application")
def key(email, label):
    """Issue an api_key for an account; it is printed once and stored hashed."""
    from portal.auth.tokens import issue_token
    from portal.database import session_scope

    with session_scope() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower(), User.active))
        if user is None:
            raise click.ClickException(f"no active account {email}")
        click.echo(issue_token(session, user, label))
