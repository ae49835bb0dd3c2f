"""Commands ``ova norms seed``, ``ova compliance compute`` and ``ova publish``."""
from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from ova.db import transaction
from ova.errors import OvaError


def _bind():
    from portal.database import get_bind

    return get_bind()


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as err:
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}") from err


@click.group(cls=AppGroup)
def norms():
    """Normes de qualité."""


@norms.command("seed")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="YAML file of norms")
def norms_seed(path):
    """Upsert the norms of norms/seed/norms.yml (idempotent)."""
    from pathlib import Path

    from norms.seeding import SEED_FILE, seed_norms

    try:
        count = seed_norms(_bind(), Path(path) if path else SEED_FILE)
    except OvaError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"norms: {count}")


@click.group(cls=AppGroup)
def compliance():
    """Compliance results of the norms."""


@compliance.command("compute")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m"]),
              help="recompute from this month on (default: every month)")
@click.option("--min-sample", type=int, help="minimum judged cases (default: OVA_MIN_SAMPLE setting)")
def compliance_compute(since, min_sample):
    """Recompute compliance results (all months, or from --since)."""
    from norms.engine import compute_all

    min_sample = min_sample or current_app.config.get("OVA_MIN_SAMPLE", 5)
    with transaction(_bind()) as conn:
        summary = compute_all(conn, since=since.date() if since else None, min_sample=min_sample)
    click.echo(f"compliance results: {summary.inserted} computed ({summary.deleted} replaced)")


@click.command("publish")
@click.option("--month", required=True, help="month to publish, YYYY-MM")
@click.option("--supersede", is_flag=True, help="publish a new version of an already published month")
@click.option("--reason", help="why the new version supersedes the previous one (required with --supersede)")
@with_appcontext
def publish(month, supersede, reason):
    """Freeze a month's compliance results and publish them as a catalogue layer."""
    from norms.publication import publish_month

    try:
        with transaction(_bind()) as conn:
            pub = publish_month(conn, _month(month), supersede=supersede, reason=reason, published_by="cli")
    except OvaError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"published {month} version {pub.version}: {pub.row_count} results, layer {pub.layer_slug}"
               + ("" if pub.on_time else " (late)"))

