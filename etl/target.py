"""What a load target declares, and what a load returns: read this to add a target.

A :class:`Target` (one per table, declared in ``etl/{quartiers,zones,incidents,establishments,
contracts}.py`` and registered in ``etl/targets.py``) states the natural key, the typed
:class:`Field` s a mapping may fill, the geometry kind and the steps to run after the merge;
:func:`etl.pipeline.run_load` does the rest the same way for all, with :class:`LoadOptions`,
and returns a :class:`LoadSummary`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

DEFAULT_MAX_REJECT_RATE = 0.05


@dataclass(frozen=True)
class Field:
    """A target field a mapping may fill: its kind drives normalisation and checks.

    Kinds (normalised by ``etl.transform.KINDS``): text, int, decimal, date, datetime, siret,
    siren, cpv (checked, and required when the field is, in a French territory only: ``OVA_COUNTRY``),
    commune (the country's commune codes, see ``etl.checks.normalise_commune``), category, enum,
    quarter (2025-T2, T2 2025, 2e trimestre 2025).
    ``soft`` fields are set to NULL and counted as warnings when invalid instead of rejecting
    the row (e.g. a contract's buyer SIRET); ``allow_future`` is False for report dates.
    """

    name: str
    kind: str = "text"
    required: bool = False
    soft: bool = False
    allow_future: bool = True
    choices: tuple[str, ...] = ()


@dataclass
class LoadOptions:
    """Options of one load (the CLI flags)."""

    crs: str | None = None
    layer: str | None = None
    producer: str | None = None
    dry_run: bool = False
    max_reject_rate: float | None = None
    reject_file: str | Path | None = None
    chunk_rows: int | None = None
    #: Drop and rebuild the table's secondary indexes and foreign keys around the writes
    #: (``etl.bulk``): True, False, or None to decide from the number of new rows.
    bulk: bool | None = None
    progress: Callable[[int, int | None], None] | None = None
    #: Called with a label when each step after reading begins (merge, indexes, compliance…).
    phase: Callable[[str], None] | None = None
    #: Quartiers: load even when quartiers of one commune overlap beyond the tolerance.
    allow_overlaps: bool = False
    #: Quartiers: overlap area (m²) above which a load is refused (default ``etl.topology``).
    overlap_tolerance: float | None = None


@dataclass
class LoadSummary:
    """What a load did; ``extra`` holds target-specific counts (outside, join rate…)."""

    target: str = ""
    path: str = ""
    detected: str = ""
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0
    dry_run: bool = False
    reject_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    rejects: pd.DataFrame | None = None
    #: Seconds per phase, in order (read, validate, copy, duplicates, merge: prepare/update/insert, after).
    phases: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable report lines (CLI output)."""
        out = [f"{self.path}: {self.detected}",
               f"{self.target}: read {self.read}, inserted {self.inserted}, updated {self.updated}, "
               f"unchanged {self.unchanged}, rejected {self.rejected}, warnings {self.warnings}"
               + (" (dry run: rolled back)" if self.dry_run else "")]
        out += [f"  {key}: {value}" for key, value in self.extra.items()]
        if self.reject_file:
            out.append(f"  rejected rows written to {self.reject_file}")
        if self.phases:
            out.append("  seconds: " + ", ".join(f"{name} {value:.2f}" for name, value in self.phases.items())
                       + f" (total {sum(self.phases.values()):.2f})")
        return out


class PhaseClock:
    """Adds the time since the previous lap to a named phase (phases may repeat, per chunk), and
    announces the long steps after reading (:attr:`LoadOptions.phase`)."""

    def __init__(self, phases: dict[str, float], announce: Callable[[str], None] | None = None):
        self.phases = phases
        self.last = time.perf_counter()
        self.announce = announce

    def start(self, label: str) -> None:
        """Tell the caller a step begins (a French label, shown by ``ova load``)."""
        if self.announce:
            self.announce(label)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - self.last
        self.last = now


@dataclass
class MergeResult:
    """Rows the merge wrote, and the target's ``scope`` groups of those rows (new and old values)."""

    inserted: int = 0
    updated: int = 0
    scope: set[tuple] = field(default_factory=set)
    #: Temporary table of every valid row of the file as merged (unchanged rows included: their
    #: values equal the table's); dropped after the target's ``after_merge``.
    rows: str = ""
    #: True when the table's secondary indexes and foreign keys were dropped and rebuilt.
    bulk: bool = False
    #: True when the bulk path was chosen but the table could not be locked in time.
    bulk_refused: bool = False
    #: True when the rows' keys were looked up by index probes (a load small against the table).
    probed: bool = False

    @property
    def changed(self) -> int:
        return self.inserted + self.updated


class Target:
    """Base class of a load target; subclasses set the class attributes and may add steps."""

    name: str = ""
    table: str = ""
    model: Any = None
    key: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    #: 'point', 'multipolygon', another kind whose :meth:`wkb_geometries` builds it, or None.
    geometry: str | None = None
    geometry_required: bool = True
    #: Points outside the territory (ova.territory): 'reject' the row, or 'drop' the geometry (warning),
    #: for tables where a row without a position is still useful (overseas suppliers).
    outside_territory: str = "reject"
    max_reject_rate: float = DEFAULT_MAX_REJECT_RATE
    #: Column filled with the mapping's ``source`` (or the file name) when the table has one.
    source_column: str | None = "source"
    #: Extra columns computed in SQL at merge time: column → expression over staging ``s``
    #: and the tables of :attr:`joins`.
    computed: dict[str, str] = {}
    #: Joins to staging ``s`` the computed expressions use (a hash join, not a subquery per row).
    joins: str = ""
    #: Columns refreshed on update but not compared (e.g. ``loaded_at``).
    touched: dict[str, str] = {}
    #: Columns set on update when a compared column is loaded: ``{column: {set column: expression}}``;
    #: the expressions see the row before (``t``) and the loaded row (``x``).
    on_change: dict[str, dict[str, str]] = {}
    #: Other tables whose rows a load of this target changes (e.g. zones re-place incidents).
    also_changes: tuple[str, ...] = ()
    #: Columns :meth:`merge_source` adds, computed set-based while merging (placement, deadlines).
    merge_columns: tuple[str, ...] = ()
    #: Columns whose values the merge reports for written rows (new, and old for updated rows),
    #: as the distinct groups of ``scope_group`` (SQL over those columns), e.g. quartier × month.
    scope_columns: tuple[str, ...] = ()
    scope_group: str = ""

    def __init__(self):
        for attr in ("name", "table", "model", "key", "fields"):
            if not getattr(self, attr):
                raise TypeError(f"{type(self).__name__} must define '{attr}'")
        self.by_name = {f.name: f for f in self.fields}

    # hooks -----------------------------------------------------------------
    def derived_fields(self) -> tuple[str, ...]:
        """Fields :meth:`derive` always fills (staged even when the mapping does not name them)."""
        return ()

    def derive(self, values: dict[str, pd.Series], frame: pd.DataFrame) -> None:
        """Fill fields derived from others (in place); default: nothing."""

    def params(self, conn: Connection, options: LoadOptions) -> dict[str, Any]:
        """Bind parameters of the computed expressions."""
        return {}

    def merge_source(self, conn: Connection, base: str, rows: int) -> str:
        """The SELECT of the rows to write: ``base`` (``rows`` staged rows, typed) plus :attr:`merge_columns`."""
        return base

    def after_merge(self, conn: Connection, summary: LoadSummary, merge: MergeResult) -> None:
        """Steps after the merge, in the same transaction (compliance, join rate…)."""

    def wkb_geometries(self, ctx, frame: pd.DataFrame, rows) -> list[str | None]:
        """Hex EWKB geometries (storage CRS) of a chunk, for a :attr:`geometry` kind of the target's own."""
        raise NotImplementedError(f"{type(self).__name__} declares geometry '{self.geometry}' without wkb_geometries")

    def check_staged(self, conn: Connection, stage: str, options: LoadOptions):
        """Checks over all the staged rows together, before the merge (quartiers: their topology,
        an ``etl.topology.Findings``); default: none (None)."""
        return None

    # SQL helpers -----------------------------------------------------------
    def sql_type(self, column: str) -> str:
        return self.model.__table__.c[column].type.compile(dialect=postgresql.dialect())

    def max_length(self, column: str) -> int | None:
        return getattr(self.model.__table__.c[column].type, "length", None)
