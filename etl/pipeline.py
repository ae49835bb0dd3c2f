"""The generic load: extract → validate → reproject → COPY into staging → merge, in ONE transaction.

A :class:`Target` (one per table, declared in ``etl/{quartiers,zones,incidents,establishments,
contracts}.py``) states the natural key, the typed fields a mapping may fill, the geometry kind
and the steps to run after the merge. :func:`run_load` does the rest the same way for all:

1. read the file in chunks (``etl.readers``), evaluate the mapping on each chunk;
2. normalise and check every field (types, SIRET/SIREN keys, CPV, amounts, dates in
   Europe/Paris, future dates), build and check geometries (CRS required, France extent,
   swapped coordinates, make_valid, Polygon → MultiPolygon) and reproject to Lambert-93;
3. COPY the valid rows into a temporary staging table; duplicates of the natural key inside
   the file are rejected there, set-based;
4. refuse the whole load when the share of rejected rows is above ``max_reject_rate``;
5. merge (:func:`_merge`): build the typed rows, with the columns the target computes set-based
   while merging (points placed in quartiers/zones, incident deadlines), into a temporary table;
   UPDATE only the existing rows whose values differ (``IS DISTINCT FROM``), then INSERT the
   rows whose key is absent. Unchanged rows are not touched, so reloading a file changes
   nothing, and new rows are written once, complete. A large load drops the table's secondary
   indexes and foreign keys before writing and rebuilds them after, still in the transaction
   (``etl.bulk``);
6. run the target's post-merge steps (compliance of the quartier-months written, join rate).

Any error rolls the transaction (or savepoint) back: the database is exactly as before.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyproj
import shapely
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from etl import bulk as etl_bulk
from etl import checks
from etl.mapping import Mapping
from etl.readers import Reader, open_reader
from ova import dataversion
from ova.db import transaction
from ova.errors import DataFileError, InvalidInput
from ova.settings import STORAGE_SRID

LOGGER = logging.getLogger(__name__)
DEFAULT_MAX_REJECT_RATE = 0.05
REJECT_COLUMNS = ["row", "field", "value", "reason"]


@dataclass(frozen=True)
class Field:
    """A target field a mapping may fill: its kind drives normalisation and checks.

    Kinds: text, int, decimal, date, datetime, siret, siren, cpv, category, enum.
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


class _Clock:
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


class Target:
    """Base class of a load target; subclasses set the class attributes and may add steps."""

    name: str = ""
    table: str = ""
    model: Any = None
    key: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    #: 'point', 'multipolygon' or None.
    geometry: str | None = None
    geometry_required: bool = True
    #: Points outside metropolitan France: 'reject' the row, or 'drop' the geometry (warning),
    #: for tables where a row without a position is still useful (overseas suppliers).
    outside_france: str = "reject"
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

    def merge_source(self, conn: Connection, base: str) -> str:
        """The SELECT of the rows to write: ``base`` (staged rows, typed) plus :attr:`merge_columns`."""
        return base

    def after_merge(self, conn: Connection, summary: LoadSummary, merge: MergeResult) -> None:
        """Steps after the merge, in the same transaction (compliance, join rate…)."""

    # SQL helpers -----------------------------------------------------------
    def sql_type(self, column: str) -> str:
        return self.model.__table__.c[column].type.compile(dialect=postgresql.dialect())

    def max_length(self, column: str) -> int | None:
        return getattr(self.model.__table__.c[column].type, "length", None)


# --------------------------------------------------------------------------
# transform
# --------------------------------------------------------------------------

class _Context:
    """State shared by the chunks of one load."""

    def __init__(self, target: Target, mapping: Mapping, reader: Reader, options: LoadOptions,
                 categories: set[str]):
        self.target = target
        self.mapping = mapping
        self.reader = reader
        self.options = options
        self.categories = categories
        self.source_value = mapping.source or reader.path.name
        self.rejects: list[pd.DataFrame] = []
        self.rejected_rows: set[int] = set()
        self.warnings = 0
        self.dropped_geometries = 0
        self.read = 0
        self.checked_columns = False
        self._transformers: dict[str, tuple] = {}

    def reject(self, rows, field_name: str, values, reason: str) -> None:
        rows = list(rows)
        if not rows:
            return
        self.rejected_rows.update(int(r) for r in rows)
        self.rejects.append(pd.DataFrame({"row": rows, "field": field_name,
                                          "value": [None if v is None else str(v)[:200] for v in values],
                                          "reason": reason}))

    def transformers(self, crs: str):
        if crs not in self._transformers:
            source = pyproj.CRS.from_user_input(crs)
            self._transformers[crs] = (
                pyproj.Transformer.from_crs(source, 4326, always_xy=True),
                pyproj.Transformer.from_crs(source, STORAGE_SRID, always_xy=True),
                source.to_epsg() == 4326, source.to_epsg() == STORAGE_SRID)
        return self._transformers[crs]


def _crs_for(ctx: _Context) -> str:
    """The CRS of the coordinates: the file's, else --crs, else the mapping's; never guessed."""
    path = ctx.reader.path
    file_crs = ctx.reader.detected.crs
    given = ctx.options.crs or ctx.mapping.read.get("crs")
    if file_crs and ctx.options.crs:
        try:
            same = pyproj.CRS.from_user_input(file_crs) == pyproj.CRS.from_user_input(ctx.options.crs)
        except pyproj.exceptions.CRSError as err:
            raise DataFileError(path, f"unknown CRS '{ctx.options.crs}'") from err
        if not same:
            raise DataFileError(path, f"the file declares {file_crs} but --crs says {ctx.options.crs}")
    crs = file_crs or given
    if not crs:
        raise DataFileError(path, "no CRS in the file; give one with --crs EPSG:XXXX")
    try:
        pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as err:
        raise DataFileError(path, f"unknown CRS '{crs}'") from err
    return crs


def _normalise(ctx: _Context, fld: Field, raw: pd.Series, rows: np.ndarray) -> pd.Series:
    """Normalise one field's values; record rejects (or warnings for soft fields)."""
    invalid = np.zeros(len(raw), dtype=bool)
    future = np.zeros(len(raw), dtype=bool)
    reason = f"invalid {fld.kind}"
    values = raw
    if fld.kind == "text":
        limit = ctx.target.max_length(fld.name)
        if limit:
            invalid = checks.longer_than(raw, limit)
            reason = f"longer than {limit} characters"
    elif fld.kind == "int":
        values, invalid = checks.normalise_int(raw)
        reason = "not an integer"
    elif fld.kind == "decimal":
        values, invalid = checks.normalise_decimal(raw)
        reason = "not a number"
    elif fld.kind == "date":
        values, invalid, future = checks.normalise_date(raw, allow_future=fld.allow_future)
        reason = "not a date (YYYY-MM-DD, YYYY-MM or DD/MM/YYYY)"
    elif fld.kind == "datetime":
        values, invalid, future = checks.normalise_datetime(raw, allow_future=fld.allow_future)
        reason = "not a date-time (ISO 8601 or DD/MM/YYYY HH:MM)"
    elif fld.kind in ("siret", "siren"):
        values, invalid = checks.normalise_ident(raw, 14 if fld.kind == "siret" else 9)
        reason = f"invalid {fld.kind.upper()} (length or Luhn key)"
    elif fld.kind == "cpv":
        values, invalid = checks.normalise_cpv(raw)
        reason = "invalid CPV code (8 digits, optional check digit)"
    elif fld.kind == "category":
        invalid = (raw.notna() & ~raw.isin(ctx.categories)).to_numpy(dtype=bool)
        reason = "unknown OVA incident category (see ova/seed/ova_grid.yml)"
    elif fld.kind == "enum":
        invalid = (raw.notna() & ~raw.isin(fld.choices)).to_numpy(dtype=bool)
        reason = f"not one of {', '.join(fld.choices)}"
    else:  # pragma: no cover - target definition error
        raise TypeError(f"unknown field kind {fld.kind}")
    if invalid.any():
        if fld.soft:
            ctx.warnings += int(invalid.sum())
        else:
            ctx.reject(rows[invalid], fld.name, raw[invalid], reason)
    if future.any():
        ctx.reject(rows[future], fld.name, raw[future], "date in the future")
    if isinstance(values.dtype, pd.DatetimeTZDtype):  # typed timestamps, already NaT where invalid
        values = values.where(~(invalid | future))
    else:
        values = pd.Series(values, index=raw.index, dtype=object)
        if invalid.any() or future.any():
            values = values.where(~(invalid | future), None)
    if fld.required:
        missing = (values.isna().to_numpy() & raw.isna().to_numpy())
        if missing.any():
            ctx.reject(rows[missing], fld.name, [None] * int(missing.sum()), "missing value")
    return values


def _points(ctx: _Context, frame: pd.DataFrame, rows: np.ndarray):
    """x/y in Lambert-93 (NaN where missing) from x/y columns or point geometries."""
    read = ctx.mapping.read
    if "x" in read and "y" in read and "geometry" not in frame.columns:
        x, bad_x = checks.to_float(frame[read["x"]])
        y, bad_y = checks.to_float(frame[read["y"]])
        bad = bad_x | bad_y
        if bad.any():
            ctx.reject(rows[bad], f"{read['x']}/{read['y']}", frame[read["x"]].astype(str)[bad] + " " +
                       frame[read["y"]].astype(str)[bad], "coordinates are not numbers")
            x[bad] = np.nan
            y[bad] = np.nan
    elif "geometry" in frame.columns:
        geoms = frame["geometry"].to_numpy()
        kinds = shapely.get_type_id(geoms)
        wrong = (kinds != 0) & (kinds != -1) & ~shapely.is_empty(geoms)
        if wrong.any():
            ctx.reject(rows[wrong], "geometry", shapely.get_type_id(geoms[wrong]), "expected a point geometry")
        x = np.where(kinds == 0, shapely.get_x(np.where(kinds == 0, geoms, None)), np.nan)
        y = np.where(kinds == 0, shapely.get_y(np.where(kinds == 0, geoms, None)), np.nan)
        x[wrong] = np.nan
    else:
        raise DataFileError(ctx.reader.path, "no geometry: the mapping needs read.x and read.y columns")
    missing = np.isnan(x) | np.isnan(y)
    if ctx.target.geometry_required and missing.any():
        ctx.reject(rows[missing], "geometry", [None] * int(missing.sum()), "missing coordinates")
    crs = _crs_for(ctx)
    to_wgs, to_l93, is_wgs, is_l93 = ctx.transformers(crs)
    lon, lat = (x, y) if is_wgs else to_wgs.transform(x, y)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    outside = ~missing & ~checks.in_france(lon, lat)
    if outside.any():
        swapped = outside & checks.in_france(lat, lon)
        if swapped.any():
            ctx.reject(rows[swapped], "geometry", [f"{a} {b}" for a, b in zip(x[swapped], y[swapped])],
                       "longitude and latitude look swapped")
        far = outside & ~swapped
        if far.any() and ctx.target.outside_france == "drop":
            ctx.warnings += int(far.sum())
            ctx.dropped_geometries += int(far.sum())
        elif far.any():
            ctx.reject(rows[far], "geometry", [f"{a} {b}" for a, b in zip(x[far], y[far])],
                       f"outside France (with CRS {crs})")
    ex, ey = (x, y) if is_l93 else to_l93.transform(x, y)
    ex, ey = np.round(np.asarray(ex, dtype=float), 3), np.round(np.asarray(ey, dtype=float), 3)
    ex[outside] = np.nan
    ey[outside] = np.nan
    return ex, ey


def _multipolygons(ctx: _Context, frame: pd.DataFrame, rows: np.ndarray) -> list[str | None]:
    """Hex EWKB MultiPolygons in Lambert-93, repaired; rejects empty or non-polygonal rows."""
    if "geometry" not in frame.columns:
        raise DataFileError(ctx.reader.path, "no geometry in the file: polygons are required")
    geoms = frame["geometry"].to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(np.where(shapely.is_missing(geoms), shapely.Point(), geoms))
    if empty.any():
        ctx.reject(rows[empty], "geometry", [None] * int(empty.sum()), "empty or missing geometry")
    kinds = np.where(empty, -1, shapely.get_type_id(np.where(empty, None, geoms)))
    wrong = ~empty & ~np.isin(kinds, (3, 6))
    if wrong.any():
        names = [shapely.get_type_id(g) for g in geoms[wrong]]
        ctx.reject(rows[wrong], "geometry", names, "expected a Polygon or MultiPolygon")
    ok = ~empty & ~wrong
    crs = _crs_for(ctx)
    to_wgs, to_l93, is_wgs, is_l93 = ctx.transformers(crs)
    result: list[str | None] = [None] * len(geoms)
    if not ok.any():
        return result
    good = geoms[ok]
    wgs = good if is_wgs else shapely.transform(good, lambda c: np.column_stack(to_wgs.transform(c[:, 0], c[:, 1])))
    bounds = shapely.bounds(wgs)
    cx, cy = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    inside = checks.in_france(cx, cy)
    swapped = ~inside & checks.in_france(cy, cx)
    l93 = good if is_l93 else shapely.transform(good, lambda c: np.column_stack(to_l93.transform(c[:, 0], c[:, 1])))
    repaired = shapely.make_valid(l93)
    indices = np.flatnonzero(ok)
    for position, (geom, fine, flipped) in enumerate(zip(repaired, inside, swapped)):
        row_index = indices[position]
        if not fine:
            reason = "longitude and latitude look swapped" if flipped else f"outside France (with CRS {crs})"
            ctx.reject([rows[row_index]], "geometry", [f"bbox {bounds[position].round(4).tolist()}"], reason)
            continue
        polygons = [p for part in shapely.get_parts(geom) for p in shapely.get_parts(part)
                    if p.geom_type == "Polygon" and not p.is_empty]
        if not polygons:
            ctx.reject([rows[row_index]], "geometry", ["(no area after repair)"], "invalid geometry with no area")
            continue
        multi = shapely.set_srid(shapely.MultiPolygon(polygons), STORAGE_SRID)
        result[row_index] = shapely.to_wkb(multi, hex=True, include_srid=True)
    return result


def _transform(ctx: _Context, frame: pd.DataFrame) -> pd.DataFrame:
    """One chunk → the staging rows (text values, x/y or wkb); rejects recorded in ``ctx``."""
    target, mapping = ctx.target, ctx.mapping
    path = ctx.reader.path
    if not ctx.checked_columns:
        unknown = sorted(set(mapping.fields) - set(target.by_name))
        if unknown:
            raise InvalidInput(f"mapping {mapping.name}: unknown field(s) {', '.join(unknown)} for {target.name} "
                               f"(known: {', '.join(target.by_name)})")
        present = set(frame.columns)
        needed = mapping.columns_needed()
        if "geometry" in present:  # a vector file: its geometry wins over x/y hints meant for CSV
            needed -= {mapping.read.get("x"), mapping.read.get("y")}
        for column in sorted(needed):
            if column not in present:
                raise DataFileError(path, "required column missing from the file", field=column)
        for fld in target.fields:
            if fld.required and fld.name not in mapping.fields and fld.name not in target.derived_fields():
                raise InvalidInput(f"mapping {mapping.name}: required field '{fld.name}' is not mapped")
        ctx.checked_columns = True
    rows = frame["_row"].to_numpy()
    raw = {name: mapping.evaluate(name, frame) for name in mapping.fields}
    target.derive(raw, frame)
    out = {"_row": rows}
    for name, values in raw.items():
        out[name] = _normalise(ctx, target.by_name[name], values, rows)
    if target.source_column and target.source_column not in raw:
        out[target.source_column] = ctx.source_value
    if target.geometry == "point":
        out["x"], out["y"] = _points(ctx, frame, rows)
        if "geo_precision" in out:
            out["geo_precision"] = out["geo_precision"].where(~np.isnan(out["x"]), "unknown")
    elif target.geometry == "multipolygon":
        out["wkb"] = _multipolygons(ctx, frame, rows)
    staged = pd.DataFrame(out)
    if ctx.rejected_rows:
        staged = staged[~staged["_row"].isin(ctx.rejected_rows)]
    return staged


# --------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------

def _stage_columns(target: Target, mapping: Mapping) -> list[str]:
    columns = list(dict.fromkeys(list(mapping.fields) + list(target.derived_fields())))
    if target.source_column and target.source_column not in columns:
        columns.append(target.source_column)
    return columns


def _create_stage(conn: Connection, target: Target, columns: list[str]) -> str:
    stage = f"etl_stage_{target.name}"
    defs = ["_row bigint"] + [f'"{c}" text' for c in columns]
    if target.geometry == "point":
        defs += ["x double precision", "y double precision"]
    elif target.geometry == "multipolygon":
        defs += ["wkb text"]
    conn.execute(text(f"DROP TABLE IF EXISTS {stage}"))
    conn.execute(text(f"CREATE TEMP TABLE {stage} ({', '.join(defs)})"))
    return stage


def _copy(conn: Connection, stage: str, frame: pd.DataFrame) -> None:
    """Stream a chunk with COPY (CSV written by Arrow: strings quoted, NULLs as empty unquoted fields)."""
    if frame.empty:
        return
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer,
                    pacsv.WriteOptions(include_header=False, batch_size=65536))
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {stage} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(memoryview(buffer.getvalue()))


def _reject_duplicates(conn: Connection, ctx: _Context, stage: str) -> None:
    key = ", ".join(f'"{k}"' for k in ctx.target.key)
    # A hash aggregate finds whether there is any duplicate; the window pass runs only then.
    if not conn.scalar(text(f"SELECT EXISTS (SELECT FROM {stage} GROUP BY {key} HAVING count(*) > 1)")):
        return
    duplicates = conn.execute(text(
        f"""DELETE FROM {stage} s USING (
                SELECT _row, row_number() OVER w AS n, first_value(_row) OVER w AS first
                FROM {stage} WINDOW w AS (PARTITION BY {key} ORDER BY _row)) d
            WHERE s._row = d._row AND d.n > 1
            RETURNING s._row, concat_ws(' / ', {', '.join(f's."{k}"' for k in ctx.target.key)}), d.first""")).all()
    for row, value, first in duplicates:
        ctx.reject([row], "/".join(ctx.target.key), [value], f"duplicate id (first seen on row {first})")


def _geometry_sql(target: Target) -> str | None:
    if target.geometry == "point":
        return f"CASE WHEN s.x IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(s.x, s.y), {STORAGE_SRID}) END"
    if target.geometry == "multipolygon":
        return "s.wkb::geometry"
    return None


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

    @property
    def changed(self) -> int:
        return self.inserted + self.updated


def _distinct(left: str, right: str, columns: list[str]) -> str:
    """``(l.a, …) IS DISTINCT FROM (r.a, …)``; geometries compared exactly (``=`` compares boxes)."""
    def side(alias: str) -> str:
        return ", ".join(f"ST_AsEWKB({alias}.geom)" if c == "geom" else f'{alias}."{c}"' for c in columns)
    return f"({side(left)}, NULL) IS DISTINCT FROM ({side(right)}, NULL)"


def _merge(conn: Connection, target: Target, stage: str, columns: list[str], params: dict,
           clock: _Clock, *, bulk: bool | None = None) -> MergeResult:
    """Merge the staged rows into the target table: update rows that differ, insert new keys.

    The typed rows (with the target's merge-time columns: placement, deadlines) are built once,
    set-based, into a temporary table; then one UPDATE touches only existing rows whose values
    differ, and one INSERT writes the rows whose key is absent. Each statement returns only the
    target's ``scope`` groups (e.g. quartier × month), never one id per row. Large loads (or
    ``bulk=True``) drop the table's secondary indexes and foreign keys first and rebuild them
    after (``etl.bulk``).
    """
    exprs = {c: f's."{c}"::{target.sql_type(c)}' for c in columns}
    geometry = _geometry_sql(target)
    if geometry:
        exprs["geom"] = geometry
    exprs.update(target.computed)
    selected = ", ".join(f'{e} AS "{c}"' for c, e in exprs.items())
    base = f"SELECT s._row, {selected} FROM {stage} s {target.joins}"
    merged = f"{stage}_merge"
    # Loads into one table merge one after the other: a second load waits here for the first to
    # commit, then sees its rows (the UPDATE and the NOT EXISTS run on fresh snapshots), as
    # INSERT … ON CONFLICT DO UPDATE would have let it, without that statement's per-row cost.
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:lock))"), {"lock": f"ova-etl-merge:{target.table}"})
    conn.execute(text(f"DROP TABLE IF EXISTS {merged}"))
    source = target.merge_source(conn, base)
    clock.start("préparation des lignes (placement dans les quartiers et zones, échéances)")
    previous = _apply_settings(conn, PREPARE_SETTINGS)
    conn.execute(text(f"CREATE TEMP TABLE {merged} AS {source}"), params)
    _apply_settings(conn, previous)
    conn.execute(text(f"ANALYZE {merged}"))
    clock.lap("merge: prepare")
    written = [*exprs, *target.merge_columns]
    names = ", ".join(f'"{c}"' for c in written)
    keyset = set(target.key)
    compared = [c for c in written if c not in keyset]
    key_match = " AND ".join(f'o."{k}" = m."{k}"' for k in target.key)
    scope_cols = list(target.scope_columns)
    result = MergeResult(rows=merged)
    saved = _prepare_bulk(conn, target.table, merged, key_match, bulk, result)

    sets = [f'"{c}" = x."{c}"' for c in compared] + [f'"{c}" = {e}' for c, e in target.touched.items()]
    old = "".join(f', o."{c}" AS "_old_{c}"' for c in scope_cols)
    returning = ", ".join([f't."{c}"' for c in scope_cols] + [f'x."_old_{c}"' for c in scope_cols]) or "1"
    update = f"""
        UPDATE {target.table} t SET {', '.join(sets)}
        FROM (SELECT o.id AS _id{old}, m.* FROM {target.table} o JOIN {merged} m ON {key_match}
              WHERE {_distinct('o', 'm', compared)}) x
        WHERE t.id = x._id
        RETURNING {returning}"""
    clock.start("mise à jour des lignes modifiées")
    result.updated = _write(conn, update, scope_cols, target.scope_group, params, both=True, result=result)
    clock.lap("merge: update")

    returning = ", ".join(f't."{c}"' for c in scope_cols) or "1"
    insert = f"""
        INSERT INTO {target.table} AS t ({names})
        SELECT {names} FROM {merged} m
        WHERE NOT EXISTS (SELECT FROM {target.table} o WHERE {key_match})
        ORDER BY m._row
        RETURNING {returning}"""
    clock.start("insertion des nouvelles lignes")
    result.inserted = _write(conn, insert, scope_cols, target.scope_group, params, both=False, result=result)
    clock.lap("merge: insert")
    if saved:
        clock.start("reconstruction des index et des clés étrangères")
        saved.rebuild(conn)
        clock.lap("merge: rebuild indexes")
    return result


def _prepare_bulk(conn: Connection, table: str, merged: str, key_match: str, bulk: bool | None,
                  result: MergeResult) -> etl_bulk.SecondaryStructures | None:
    """Drop ``table``'s secondary indexes and foreign keys when asked (``bulk=True``), or when
    ``bulk`` is None and the new rows make it worth it (``etl.bulk.worth_it``) and the table can
    be locked in time; return what rebuilds them, or None for the row-by-row path."""
    saved = None
    if bulk:
        saved = etl_bulk.drop_secondary(conn, table)
    elif bulk is None:
        staged = conn.scalar(text(f"SELECT count(*) FROM {merged}"))
        new_rows = staged if staged >= etl_bulk.MIN_ROWS else 0
        if new_rows and conn.scalar(text(f"SELECT EXISTS (SELECT FROM {table})")):
            # Not a first load: only the keys the table does not hold yet are new.
            new_rows = conn.scalar(text(
                f"SELECT count(*) FROM {merged} m WHERE NOT EXISTS (SELECT FROM {table} o WHERE {key_match})"))
        if new_rows and etl_bulk.worth_it(conn, table, new_rows):
            saved = etl_bulk.drop_secondary(conn, table, wait=etl_bulk.LOCK_TIMEOUT)
            result.bulk_refused = saved is None
    result.bulk = saved is not None
    return saved


def _write(conn: Connection, statement: str, scope_cols: list[str], group: str, params: dict, *,
           both: bool, result: MergeResult) -> int:
    """Run a writing statement; return its row count and add its scope groups to ``result``."""
    if not scope_cols:
        return conn.execute(text(f"WITH w AS ({statement}) SELECT count(*) FROM w"), params).scalar_one()
    cols = ", ".join(f'"{c}"' for c in scope_cols)
    rows = f"SELECT {cols} FROM w"
    if both:
        rows += " UNION ALL SELECT " + ", ".join(f'"_old_{c}"' for c in scope_cols) + " FROM w"
    found = conn.execute(text(
        f"WITH w AS ({statement}) SELECT (SELECT count(*) FROM w), g.* FROM "
        f"(SELECT DISTINCT {group} FROM ({rows}) r) g"), params).all()
    result.scope.update(tuple(row[1:]) for row in found)
    return found[0][0] if found else 0


def _write_rejects(summary: LoadSummary, rejects: pd.DataFrame, path: str | Path | None) -> None:
    summary.rejects = rejects
    if path is None or rejects.empty:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rejects.to_csv(path, index=False, encoding="utf-8")
    summary.reject_file = str(path)


#: Settings of the load's transaction. work_mem: the merge sorts and hashes a million rows
#: (deadline choice, grid join, the insert's file order); at the 4 MB default they spill to disk
#: (1M incidents: prepare 18 s → 7 s at 64 MB; at 256 MB no sort of the merge spills).
#: maintenance_work_mem: index rebuilds of bulk loads (``etl.bulk``) sort in memory.
#: jit off: the merge statements' high cost estimates trigger JIT compilation of ~100 functions
#: per statement, paid on every load, small ones included. Scoped to the transaction (SET LOCAL
#: semantics) and restored for a caller's connection.
LOAD_SETTINGS = {"work_mem": "256MB", "maintenance_work_mem": "256MB", "jit": "off"}
#: Settings of the statement that builds the merged rows: the planner, misled by the computed
#: cell keys, sorts a million points for a merge join with the quartier grid where a hash join
#: on the grid's 40 000 cells takes half the time (1M incidents: 1.5 s → 0.7 s).
PREPARE_SETTINGS = {"enable_mergejoin": "off"}


def _apply_settings(conn: Connection, settings: dict[str, str]) -> dict[str, str]:
    """Set ``settings`` for the rest of the transaction; return the previous values."""
    previous = {name: conn.scalar(text("SELECT current_setting(:n)"), {"n": name}) for name in settings}
    for name, value in settings.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    return previous


class _DryRun(Exception):
    pass


def quiet() -> bool:
    """True when progress output should be silent (not a TTY, or CI=true)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or not sys.stderr.isatty()


def run_load(bind: Engine | Connection, target: Target, path: str | Path, mapping: Mapping,
             options: LoadOptions | None = None) -> LoadSummary:
    """Load ``path`` into ``target`` with ``mapping``; all-or-nothing (see module docstring)."""
    options = options or LoadOptions()
    if mapping.target != target.name:
        raise InvalidInput(f"mapping {mapping.name} is for '{mapping.target}', not '{target.name}'")
    reader = open_reader(path, format=mapping.read.get("format"), layer=options.layer,
                         **({"chunk_rows": options.chunk_rows} if options.chunk_rows else {}))
    summary = LoadSummary(target=target.name, path=str(path), dry_run=options.dry_run)
    max_rate = options.max_reject_rate if options.max_reject_rate is not None else target.max_reject_rate
    clock = _Clock(summary.phases, options.phase)
    try:
        with transaction(bind) as conn:
            previous = _apply_settings(conn, LOAD_SETTINGS)
            categories = set(conn.scalars(text("SELECT code FROM incident_categories")))
            ctx = _Context(target, mapping, reader, options, categories)
            columns = _stage_columns(target, mapping)
            stage = _create_stage(conn, target, columns)
            staged_columns = ["_row"] + columns + (["x", "y"] if target.geometry == "point" else
                                                   ["wkb"] if target.geometry else [])
            # The server parses each chunk's COPY while this thread reads and checks the next one.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="etl-copy") as copier:
                copying = None
                for chunk in reader.chunks():
                    clock.lap("read")
                    ctx.read += len(chunk)
                    staged = _transform(ctx, chunk)[staged_columns]
                    clock.lap("validate")
                    if copying:
                        copying.result()
                    copying = copier.submit(_copy, conn, stage, staged)
                    clock.lap("copy")
                    if options.progress:
                        options.progress(ctx.read, reader.estimated_rows)
                if copying:
                    copying.result()
                clock.lap("copy")
            summary.detected = reader.detected.describe()
            summary.read = ctx.read
            if ctx.read == 0:
                raise DataFileError(path, "no rows to load (empty file or layer)")
            clock.start("contrôle des doublons")
            _reject_duplicates(conn, ctx, stage)
            clock.lap("duplicates")
            rejects = (pd.concat(ctx.rejects, ignore_index=True).sort_values(["row", "field"], kind="stable")
                       if ctx.rejects else pd.DataFrame(columns=REJECT_COLUMNS))
            summary.rejected = len(ctx.rejected_rows)
            summary.warnings = ctx.warnings
            if ctx.dropped_geometries:
                summary.extra["outside metropolitan France (kept without geometry)"] = ctx.dropped_geometries
            _write_rejects(summary, rejects, options.reject_file)
            rate = summary.rejected / summary.read
            if summary.rejected and rate > max_rate:
                first = rejects.iloc[0]
                raise DataFileError(
                    path, f"{first['reason']} (value {first['value']!r}); {summary.rejected} of {summary.read} rows "
                          f"rejected ({rate:.1%} > {max_rate:.0%} allowed): nothing loaded",
                    row=int(first["row"]), field=str(first["field"]))
            conn.execute(text(f"ANALYZE {stage}"))
            clock.lap("duplicates")
            # A dry run locks nothing unless asked: it is rolled back anyway.
            bulk = options.bulk if options.bulk is not None or not options.dry_run else False
            merge = _merge(conn, target, stage, columns, target.params(conn, options), clock, bulk=bulk)
            summary.inserted, summary.updated = merge.inserted, merge.updated
            if merge.bulk:
                summary.extra["bulk write: indexes and foreign keys rebuilt"] = "yes"
            if merge.bulk_refused:
                summary.extra["bulk write skipped: table busy"] = f"no exclusive lock within {etl_bulk.LOCK_TIMEOUT}"

            summary.unchanged = summary.read - summary.rejected - merge.changed
            clock.start("étapes finales (conformité, taux de jointure)")
            target.after_merge(conn, summary, merge)
            if merge.changed:
                # Catalogue layers over the changed tables get a new data_version, which
                # invalidates tile and download caches in the same transaction.
                for table in (target.table, *target.also_changes):
                    dataversion.touch(conn, table)
            conn.execute(text(f"DROP TABLE {stage}, {merge.rows}"))
            _apply_settings(conn, previous)
            clock.lap("after merge")
            if options.dry_run:
                raise _DryRun
        clock.lap("commit")
    except _DryRun:
        pass
    LOGGER.info("%s", " | ".join(summary.lines()))
    return summary
