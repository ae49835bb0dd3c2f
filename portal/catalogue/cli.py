"""``ova layers``: seed the catalogue and publish a producer's file as a layer."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from layers.metadata import THEMES
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


@layers_cli.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--producer", required=True, help="producer slug (e.g. voirie)")
@click.option("--title", help="title of a new layer")
@click.option("--slug", help="slug of the layer (default: from the title); an existing one gets a new version")
@click.option("--note", help="version note")
@click.option("--crs", help="CRS when the file declares none, e.g. EPSG:2154")
@click.option("--layer", "--sheet", "source_layer",
              help="layer of a GeoPackage/GML, folder of a KML/KMZ (default: all), sheet of an XLSX/ODS (default: first)")
@click.option("--licence", default="Licence Ouverte 2.0", show_default=True,
              type=click.Choice(["Licence Ouverte 2.0", "ODbL 1.0"]))
@click.option("--keywords", help="comma-separated keywords (required for a new layer: harvesters index them)")
@click.option("--theme", help="theme, one of: " + ", ".join(THEMES) + " (required for a new layer)")
@click.option("--contact", help="contact e-mail of the layer (required for a new layer)")
@click.option("--free-text", "free_text", help="comma-separated free-text columns: personal data in them is masked")
def publish_cmd(path, producer, title, slug, note, crs, source_layer, licence, keywords, theme, contact, free_text):
    """Publish a file (GeoJSON, GPKG, zipped SHP, KML/KMZ, FGB, GML, CSV, XLSX/ODS) as a layer, or a new version."""
    from flask import current_app

    from layers.publish import publish

    try:
        done = publish(_bind(), path, producer=producer, title=title, slug=slug, note=note, crs=crs,
                       licence=licence, max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
                       keywords=keywords, theme=theme, contact=contact, source_layer=source_layer,
                       free_text=free_text)
    except OvaError as err:
        raise click.ClickException(err.message) from err
    state = "created" if done.created else "updated"
    click.echo(f"layer {done.slug} {state}: {done.features} features in {done.table}, version {done.version}"
               + (f" ({done.warnings} warnings from the file's libraries)" if done.warnings else "")
               + (f"; personal data masked in {done.masked} free-text values" if done.masked else ""))
