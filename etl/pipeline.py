"""The generic load: extract → validate → reproject → COPY into staging → merge, in ONE transaction.

A :class:`etl.target.Target` (one per table, declared in ``etl/{quartiers,zones,incidents,
establishments,contracts}.py``) states the natural key, the typed fields a mapping may fill, the
geometry kind and the steps to run after the merge. :func:`run_load` does the rest the same way
for all:

1. read the file in chunks (``etl.readers``), evaluate the mapping on each chunk;
2. normalise and check every field (``etl.transform``: types, SIRET/SIREN keys, CPV, amounts,
   dates in the territory's time zone, future dates), build and check geometries (CRS required and checked
   against the coordinates, ``ova.crs``; territory extent, swapped coordinates, make_valid,
   Polygon → MultiPolygon) and reproject to the storage CRS;
3. COPY the valid rows into a temporary staging table (``etl.merge``); duplicates of the
   natural key inside the file are rejected there, set-based;
4. run the target's checks over all staged rows (quartiers: topology, ``etl.topology``); refuse
   the whole load when the share of rejected rows is above ``max_reject_rate``;
5. merge (:func:`etl.merge.merge_rows`): build the typed rows, with the columns the target
   computes set-based while merging (points placed in quartiers/zones, incident deadlines), into
   a temporary table; UPDATE only the existing rows whose values differ (``IS DISTINCT FROM``),
   then INSERT the rows whose key is absent. Unchanged rows are not touched, so reloading a file
   changes nothing, and new rows are written once, complete. A large load drops the table's
   secondary indexes and foreign keys before writing and rebuilds them after, still in the
   transaction (``etl.bulk``);
6. run the target's post-merge steps (compliance of the quartier-months written, join rate).

Any error rolls the transaction (or savepoint) back: the database is exactly as before. Library
warnings are counted in the summary (``ova.quiet``), never printed.
"""
from __future__ import annotations

import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from etl import bulk as etl_bulk
from etl.mapping import Mapping
from etl.merge import (LOAD_SETTINGS, apply_settings, copy_chunk, create_stage, merge_rows, reject_duplicates,
                       stage_columns)
from etl.readers import open_reader
from etl.target import LoadOptions, LoadSummary, PhaseClock, Target
from etl.transform import LoadContext, transform_chunk
from ova import crs as ova_crs
from ova import dataversion
from ova.db import transaction
from ova.errors import DataFileError, InvalidInput
from ova.quiet import Caught, captured

LOGGER = logging.getLogger(__name__)
REJECT_COLUMNS = ["row", "field", "value", "reason"]


def _write_rejects(summary: LoadSummary, rejects: pd.DataFrame, path: str | Path | None) -> None:
    summary.rejects = rejects
    if path is None or rejects.empty:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rejects.to_csv(path, index=False, encoding="utf-8")
    summary.reject_file = str(path)


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
    # Library warnings (GDAL, shapely, numpy, openpyxl) are counted in the summary, never printed.
    with captured() as caught:
        try:
            _run(bind, target, path, mapping, options, reader, summary)
        finally:
            library = caught.count + len(reader.library_warnings)
            if library:
                summary.warnings += library
                summary.extra["warnings from the file's libraries"] = Caught(
                    logged=caught.messages + reader.library_warnings).summary()
    LOGGER.info("%s", " | ".join(summary.lines()))
    return summary


def _run(bind, target: Target, path, mapping: Mapping, options: LoadOptions, reader, summary: LoadSummary) -> None:
    """The body of :func:`run_load`: one transaction (rolled back for a dry run)."""
    max_rate = options.max_reject_rate if options.max_reject_rate is not None else target.max_reject_rate
    clock = PhaseClock(summary.phases, options.phase)
    try:
        with transaction(bind) as conn:
            previous = apply_settings(conn, LOAD_SETTINGS)
            categories = set(conn.scalars(text("SELECT code FROM incident_categories")))
            ctx = LoadContext(target, mapping, reader, options, categories)
            if target.geometry:
                ctx.extent = ova_crs.loaded_extent(conn)
            columns = stage_columns(target, mapping)
            stage = create_stage(conn, target, columns)
            staged_columns = ["_row"] + columns + (["x", "y"] if target.geometry == "point" else
                                                   ["wkb"] if target.geometry else [])
            # The server parses each chunk's COPY while this thread reads and checks the next one.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="etl-copy") as copier:
                copying = None
                for chunk in reader.chunks():
                    clock.lap("read")
                    ctx.read += len(chunk)
                    staged = transform_chunk(ctx, chunk)[staged_columns]
                    clock.lap("validate")
                    if copying:
                        copying.result()
                    copying = copier.submit(copy_chunk, conn, stage, staged)
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
            reject_duplicates(conn, ctx, stage)
            clock.lap("duplicates")
            findings = target.check_staged(conn, stage, options)
            if findings is not None:
                clock.lap("topology")
                summary.extra.update(findings.summary())
                ctx.warnings += findings.warnings
                if findings.rows:
                    ctx.rejects.append(findings.frame())
            rejects = (pd.concat(ctx.rejects, ignore_index=True).sort_values(["row", "field"], kind="stable")
                       if ctx.rejects else pd.DataFrame(columns=REJECT_COLUMNS))
            summary.rejected = len(ctx.rejected_rows)
            summary.warnings = ctx.warnings
            if ctx.dropped_geometries:
                summary.extra["outside the territory (kept without geometry)"] = ctx.dropped_geometries
            _write_rejects(summary, rejects, options.reject_file)
            rate = summary.rejected / summary.read
            if summary.rejected and rate > max_rate:
                first = rejects[rejects["row"].isin(ctx.rejected_rows)].iloc[0]  # not a topology warning
                raise DataFileError(
                    path, f"{first['reason']} (value {first['value']!r}); {summary.rejected} of {summary.read} rows "
                          f"rejected ({rate:.1%} > {max_rate:.0%} allowed): nothing loaded",
                    row=int(first["row"]), field=str(first["field"]))
            if findings is not None:
                findings.raise_if_refused(path)
            conn.execute(text(f"ANALYZE {stage}"))
            clock.lap("duplicates")
            # A dry run locks nothing unless asked: it is rolled back anyway.
            bulk = options.bulk if options.bulk is not None or not options.dry_run else False
            merge = merge_rows(conn, target, stage, columns, target.params(conn, options), clock, bulk=bulk)
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
            apply_settings(conn, previous)
            clock.lap("after merge")
            if options.dry_run:
                raise _DryRun
        clock.lap("commit")
    except _DryRun:
        pass
