"""``ova purchases …``: tie a service to the buyer it buys for (its agents then edit that buyer's
planned purchases)."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import text

from ova.errors import InvalidInput, OvaError


@click.group("purchases", cls=AppGroup)
def purchases_cli():
    """Planned purchases (programmation prévisionnelle des achats)."""


@purchases_cli.command("set-buyer")
@click.argument("producer_slug")
@click.argument("siret", required=False)
def set_buyer(producer_slug: str, siret: str | None):
    """Set (or clear, without SIRET) the buyer SIRET of the service PRODUCER_SLUG; audited."""
    from indicators.purchases import SIRET_RE
    from ova import audit
    from ova.db import transaction
    from ova.models import Producer
    from portal.cli import _bind, _fail

    try:
        if siret is not None and not SIRET_RE.match(siret):
            raise InvalidInput(f"invalid SIRET '{siret}' (14 digits)")
        with transaction(_bind()) as conn:
            producer_id = conn.scalar(text("SELECT id FROM producers WHERE slug = :s"), {"s": producer_slug})
            if producer_id is None:
                raise InvalidInput(f"unknown producer '{producer_slug}'")
            before = audit.row_values(conn, Producer.__table__, producer_id)
            conn.execute(text("UPDATE producers SET buyer_siret = :b WHERE id = :id"), {"b": siret, "id": producer_id})
            audit.record(conn, None, "producers", producer_id, "update", before,
                         audit.row_values(conn, Producer.__table__, producer_id))
    except OvaError as err:
        _fail(err)
    click.echo(f"{producer_slug}: buyer SIRET {siret or 'cleared'}")


@purchases_cli.command("match")
@click.option("--apply", is_flag=True, help="mark the matched purchases awarded (audited); default: only list them")
def match(apply: bool):
    """Find the DECP contracts that award planned purchases (same buyer and CPV division, similar object)."""
    from indicators.purchases import match_awarded
    from ova.db import transaction
    from portal.cli import _bind

    with transaction(_bind()) as conn:
        found = match_awarded(conn, apply=apply)
    for item in found:
        click.echo(f"{item['id']}\t{item['decp_id']}\t{item['score']:.2f}\t{item['object']} ← {item['decp_object']}")
    click.echo(f"{len(found)} purchase(s) {'marked awarded' if apply else 'matched (use --apply to mark them awarded)'}")


@purchases_cli.command("place")
def place():
    """Draw again the places of execution from the quartiers (after loading or changing quartiers)."""
    from indicators.purchases import place_geometries
    from ova import dataversion
    from ova.db import transaction
    from portal.cli import _bind

    with transaction(_bind()) as conn:
        changed = place_geometries(conn)
        dataversion.touch(conn, "planned_purchases")
    click.echo(f"{changed} place(s) drawn again")
