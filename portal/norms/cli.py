"""Commands ``ova norms seed``, ``ova compliance compute|export`` and ``ova publish``."""
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


@compliance.command("export")
@click.option("--month", required=True, help="month to export, YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="file to write (default: standard output)")
def compliance_export(month, fmt, output):
    """Write a month's compliance results (norm, quartier, zone, judged, compliant, rate, status)."""
    import sys

    from norms.exports import WRITERS, count_results

    day = _month(month)
    with transaction(_bind()) as conn:
        count = count_results(conn, day)
        if not count:
            raise click.ClickException(f"no compliance results for {month} (run `ova compliance compute`)")
        handle = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for chunk in WRITERS[fmt](conn, day):
                handle.write(chunk)
        finally:
            if output:
                handle.close()
    if output:
        click.echo(f"{count} results of {month} written to {output}", err=True)


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

