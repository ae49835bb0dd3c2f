"""The ``ova`` command: Flask's CLI (run, routes, shell) plus database, users and data loading."""
from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from ova.errors import OvaError
from portal import create_app
from portal.etl_cli import load as etl_load
from portal.etl_cli import simulate as etl_simulate


@click.group(cls=FlaskGroup, create_app=create_app)
def main():
    """Portail OVA: territorial GIS portal (OVA method)."""


# ``ova load`` and ``ova simulate`` run without building the app (see portal.etl_cli).
main.add_command(etl_load)
main.add_command(etl_simulate)


def register(app) -> None:
    """Add the project's command groups to ``app.cli`` (hence to ``ova``)."""
    for group in (db, users, etl_load, seed, etl_simulate):
        app.cli.add_command(group)
    from portal.indicators.cli import indicators

    app.cli.add_command(indicators)
    from portal.open311.cli import open311

    app.cli.add_command(open311)
    from portal.catalogue.cli import layers_cli

    app.cli.add_command(layers_cli)
    from portal.norms.cli import COMMANDS as norms_commands

    for group in norms_commands:
        app.cli.add_command(group)


def _bind():
    from portal.database import get_bind

    return get_bind()


def _fail(err: OvaError):
    raise click.ClickException(err.message) from err


@click.group(cls=AppGroup)
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision):
    """Apply the Alembic migrations to DATABASE_URL."""
    from ova.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at revision {revision}")


@click.command("seed")
@with_appcontext
def seed():
    """Seed reference data: producers and the OVA grid (idempotent)."""
    from ova.seed import seed_all

    counts = seed_all(_bind())
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@click.group(cls=AppGroup)
def users():
    """Portal accounts."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["citizen", "commercant", "agent", "urbaniste", "banque", "admin"]))
@click.option("--producer", "producer_slug", help="producer slug (required for agents)")
@click.option("--password", help="read from the terminal when omitted")
def users_create(email, name, role, producer_slug, password):
    """Create a portal account."""
    from portal.auth.services import create_user
    from portal.database import session_scope

    if password is None:
        password = getpass.getpass("Mot de passe : ")
    try:
        with session_scope() as session:
            user = create_user(session, email=email, name=name, password=password, role=role,
                               producer_slug=producer_slug)
            click.echo(f"user {user.email} created with role {user.role}")
    except OvaError as err:
        _fail(err)
