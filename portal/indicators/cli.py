"""``ova indicators``: materialise the territory indicators and publish their catalogue layers."""
from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import AppGroup

from ova.db import transaction
from ova.errors import OvaError


@click.group(cls=AppGroup)
def indicators():
    """Territory indicators and public procurement."""


def _month(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as err:
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}") from err


@indicators.command("compute")
@click.option("--as-of", help="reference month YYYY-MM (default: month of the latest incident)")
@click.option("--threshold", type=int, help="suppression threshold of public outputs (default: app setting, 5)")
def compute_cmd(as_of, threshold):
    """Recompute indicators, the commune → EPCI table, the catalogue views and layers."""
    from indicators import procurement, publication, territory
    from indicators.suppression import DEFAULT_THRESHOLD
    from portal.database import get_bind

    bind = get_bind()
    threshold = threshold or current_app.config.get("INDICATORS_SUPPRESSION_THRESHOLD", DEFAULT_THRESHOLD)
    try:
        epci = procurement.load_commune_epci(bind)
        result = territory.compute(bind, _month(as_of))
        slugs = publication.publish(bind, threshold)
        with transaction(bind) as conn:
            rate = procurement.join_rate(conn)
    except (OvaError, ValueError) as err:
        raise click.ClickException(getattr(err, "message", str(err))) from err
    click.echo(f"indicators: {result['rows']} rows, reference month {result['as_of']:%Y-%m}; "
               f"commune_epci: {epci} rows; layers: {', '.join(slugs)} (threshold {threshold})")
    if rate["lines"]:
        click.echo(f"DECP → supplier join: {rate['by_siret'] + rate['by_siren']} of {rate['lines']} lines "
                   f"({100 * rate['rate']:.1f} %; by SIRET {rate['by_siret']}, by SIREN {rate['by_siren']}), "
                   f"{100 * (rate['rate_amount'] or 0):.1f} % of the spend")

