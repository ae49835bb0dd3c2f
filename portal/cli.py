"""The ``ova`` command: the portal's commands (database, users, data loading, norms, layers…).

Each command is declared once in :data:`COMMANDS` and imported only when it runs (``ova load``
never builds the web application). The same commands are registered on ``app.cli``, so
``app.test_cli_runner()`` runs them too. Serving is gunicorn's job (``make demo``, Dockerfile).
"""
from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo, with_appcontext

from ova.errors import OvaError
from portal import create_app

#: The ``ova`` commands: name → dotted path of the click command.
COMMANDS = {
    "db": "portal.cli:db",
    "seed": "portal.cli:seed",
    "users": "portal.cli:users",
    "load": "portal.etl_cli:load",
    "simulate": "portal.etl_cli:simulate",
    "indicators": "portal.indicators.cli:indicators",
    "norms": "portal.norms.cli:norms",
    "compliance": "portal.norms.cli:compliance",
    "publish": "portal.norms.cli:publish",
    "layers": "portal.catalogue.cli:layers_cli",
    "open311": "portal.open311.cli:open311",
    "notify": "portal.notifications.cli:notify",
    "purchases": "portal.purchases.cli:purchases_cli",
    "privacy": "portal.privacy.cli:privacy",
}


def _command(name: str) -> click.Command:
    module_name, _, attr = COMMANDS[name].partition(":")
    return getattr(__import__(module_name, fromlist=[attr]), attr)


class _Commands(click.Group):
    """The commands of :data:`COMMANDS`, run in the application ``portal.create_app`` builds."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return _command(name) if name in COMMANDS else None

    def invoke(self, ctx: click.Context):
        """Run the command; a database created for another territory is refused in one line."""
        from ova.territory import TerritoryMismatch

        try:
            return super().invoke(ctx)
        except TerritoryMismatch as err:
            raise click.ClickException(err.message) from None


@click.group(cls=_Commands)
@click.version_option(package_name="portail-ova", prog_name="ova")
@click.pass_context
def main(ctx: click.Context):
    """Portail OVA: territorial GIS portal (OVA method)."""
    ctx.obj = ScriptInfo(create_app=create_app)


def register(app) -> None:
    """Add the ``ova`` commands to ``app.cli`` (``flask --app portal``, ``app.test_cli_runner()``)."""
    for name in COMMANDS:
        app.cli.add_command(_command(name), name)


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
