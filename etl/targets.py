"""Registry of load targets: name → dotted path of the module defining ``TARGET``."""
from __future__ import annotations

import importlib

from ova.errors import InvalidInput

TARGETS = {
    "quartiers": "etl.quartiers",
    "zones": "etl.zones",
    "incidents": "etl.incidents",
    "establishments": "etl.establishments",
    "contracts": "etl.contracts",
    "addresses": "etl.addresses",
    "basemap": "etl.basemap",
    "purchases": "etl.purchases",
}

#: Preset used when none is given on the command line.
DEFAULT_PRESETS = {"zones": "ova-zones", "addresses": "ban", "basemap": "paris-voies",
                   "purchases": "achats-previsionnels"}


def get_target(name: str):
    """The :class:`etl.target.Target` registered as ``name``."""
    if name not in TARGETS:
        raise InvalidInput(f"unknown load target '{name}' (known: {', '.join(TARGETS)})")
    return importlib.import_module(TARGETS[name]).TARGET


def load(bind, target: str, path, *, preset: str | None = None, mapping: str | None = None, **options):
    """Load ``path`` into ``target`` with a preset or a mapping file; returns the summary."""
    from etl.mapping import load_mapping
    from etl.pipeline import run_load
    from etl.target import LoadOptions

    if preset is None and mapping is None:
        preset = DEFAULT_PRESETS.get(target)
    return run_load(bind, get_target(target), path, load_mapping(preset=preset, mapping_file=mapping),
                    LoadOptions(**options))
