"""``ova load …`` and ``ova simulate …``: thin click adapters over ``etl`` (no logic here).

They do not build the Flask application (its blueprints, Folium and Babel cost a second and a
half of every load): they connect to ``DATABASE_URL`` themselves, unless another application than
the ``ova`` command's runs them (``app.test_cli_runner()`` in the tests): then its database.
"""
from __future__ import annotations

from pathlib import Path

import click

from ova.errors import OvaError

TARGET_NAMES = ("quartiers", "zones", "incidents", "establishments", "contracts", "addresses", "basemap", "purchases")


def _bind():
    from flask.cli import ScriptInfo

    from portal import create_app

    info = click.get_current_context().find_object(ScriptInfo)
    if info is not None and info.create_app is not create_app:
        return info.load_app().extensions["ova_bind"]
    from ova.db import make_engine
    from ova.settings import database_url
    from ova.territory import check_database

    engine = make_engine(database_url(), application_name="ova-load", pool_size=1, max_overflow=0)
    check_database(engine)  # a database of another storage CRS is refused, as by the portal
    return engine


class _Progress:
    """A click progress bar fed by the loader's callback; silent when not a TTY or CI=true."""

    def __init__(self):
        from etl.pipeline import quiet

        self.enabled = not quiet()
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total or done, label="chargement", file=click.get_text_stream("stderr"))
            self.bar.__enter__()
        if total is None or done > self.bar.length:
            self.bar.length = done
        self.bar.update(done - self.done)
        self.bar.render_progress()
        self.done = done

    def phase(self, label: str) -> None:
        """A step after reading begins: end the bar, say which."""
        if not self.enabled:
            return
        self.close()
        click.echo(f"  {label}…", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.group("load")
def load():
    """Load open-data files into the database (all-or-nothing, idempotent)."""


def _make_command(target: str):
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--preset", help="shipped column mapping (see etl/presets/)")
    @click.option("--mapping", "mapping_file", type=click.Path(exists=True), help="your own mapping YAML file")
    @click.option("--producer", help="producer slug the rows belong to")
    @click.option("--crs", help="CRS of the coordinates when the file declares none, e.g. EPSG:2154")
    @click.option("--layer", help="layer of a GeoPackage or GML, folder of a KML/KMZ (default: all folders)")
    @click.option("--sheet", help="sheet of an XLSX/ODS spreadsheet (default: the first)")
    @click.option("--dry-run", is_flag=True, help="validate and count, then roll back")
    @click.option("--max-reject-rate", type=float, help="refuse the load above this share of rejected rows (default 0.05)")
    @click.option("--reject-file", type=click.Path(path_type=Path),
                  help="CSV of rejected rows (default: <file>.rejects.csv in the current directory)")
    @click.option("--bulk/--no-bulk", default=None,
                  help="drop and rebuild the table's indexes and foreign keys around the writes (locks the "
                       "table for the load); default: only for large loads")
    @click.option("--allow-overlaps", is_flag=True,
                  help="quartiers: load even if quartiers of one commune overlap beyond the tolerance")
    @click.option("--overlap-tolerance", type=float, metavar="M2",
                  help="quartiers: overlap area in m² above which the load is refused (default 100)")
    def command(path, preset, mapping_file, producer, crs, layer, sheet, dry_run, max_reject_rate, reject_file,
                bulk, allow_overlaps, overlap_tolerance):
        from etl.targets import load as run

        if layer and sheet and layer != sheet:
            raise click.UsageError("--layer and --sheet name the same thing: give one")
        extra = {}
        if target == "quartiers":
            extra = {"allow_overlaps": allow_overlaps, "overlap_tolerance": overlap_tolerance}
        elif allow_overlaps or overlap_tolerance is not None:
            raise click.UsageError("--allow-overlaps and --overlap-tolerance are for quartiers only")

        progress = _Progress()
        if reject_file is None:
            reject_file = Path.cwd() / f"{path.stem}.rejects.csv"
        try:
            summary = run(_bind(), target, path, preset=preset, mapping=mapping_file, producer=producer, crs=crs,
                          layer=layer or sheet, dry_run=dry_run, max_reject_rate=max_reject_rate,
                          reject_file=reject_file, bulk=bulk, progress=progress,
                          phase=progress.phase, **extra)
        except OvaError as err:
            progress.close()
            raise click.ClickException(err.message) from err
        progress.close()
        for line in summary.lines():
            click.echo(line)

    command.__doc__ = (f"Load {target} from PATH (GeoJSON, Shapefile/zip, GeoPackage, KML/KMZ, FlatGeobuf, GML, "
                       f"CSV, XLSX/ODS, JSON).")
    return load.command(target)(command)


for _name in TARGET_NAMES:
    _make_command(_name)


@click.group("simulate")
def simulate():
    """Documented simulations filling what the open data lacks."""


@simulate.command("resolutions")
@click.option("--seed", default=42, show_default=True, type=int)
def simulate_resolutions(seed):
    """Simulate acknowledgement/resolution times of DansMaRue incidents (see etl/simulation.py)."""
    from etl.simulation import simulate_resolutions as run

    try:
        counts = run(_bind(), seed=seed)
    except OvaError as err:
        raise click.ClickException(err.message) from err
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
