"""``ova layers``: seed the catalogue and publish a producer's file as a layer."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ova.errors import OvaError


def _bind():
    from portal.database import get_bind

    return get_bind()


@click.group("layers", cls=AppGroup)
def layers_cli():
    """Catalogue layers."""


@layers_cli.command("seed")
@click.option("--file", "path", type=click.Path(exists=True), help="YAML file (default: layers/seed/layers.yml)")
def seed_cmd(path):
    """Create or update the catalogue layers declared in YAML (idempotent)."""
    from layers.catalogue import SEED_FILE, seed_layers

    try:
        n = seed_layers(_bind(), path or SEED_FILE)
    except OvaError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"layers: {n}")
