"""The per-chunk transform of a load: evaluate the mapping, normalise and check every field,
build and check geometries (CRS required, territory extent, swapped coordinates, make_valid,
Polygon → MultiPolygon) and reproject to the storage CRS. Rejects are recorded, never fixed up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import shapely

from etl import checks
from etl.mapping import Mapping
from etl.readers import Reader
from etl.target import Field, LoadOptions, Target
from ova import crs as ova_crs
from ova.errors import DataFileError, InvalidInput
from ova.settings import storage_srid
from ova.territory import current


class LoadContext:
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
        #: The coordinates' CRS, decided on the first chunk (``ova.crs.resolve``).
        self.crs: str | None = None
        #: The territory in degrees for the CRS diagnosis (extent of the loaded quartiers).
        self.extent: tuple[float, float, float, float] | None = None
        #: The territory (settings) and its extent in degrees: points outside it are rejected.
        self.territory = current()
        self.bounds = self.territory.extent

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
                pyproj.Transformer.from_crs(source, storage_srid(), always_xy=True),
                source.to_epsg() == 4326, source.to_epsg() == storage_srid())
        return self._transformers[crs]


def crs_for(ctx: LoadContext, x, y) -> str:
    """The CRS of the coordinates (``ova.crs.resolve``: the file's, --crs, the mapping's; never
    guessed), decided on the first chunk from a sample ``x``/``y`` of its coordinates."""
    if ctx.crs is None:
        ctx.crs, note = ova_crs.resolve(ctx.reader.path, ctx.reader.detected.crs, ctx.options.crs, x, y,
                                        default=ctx.mapping.read.get("crs"), extent=ctx.extent)
        if note:
            ctx.reader.detected.notes.append(note)
    return ctx.crs


def _outside_reason(ctx: LoadContext, crs: str, x, y) -> str:
    """Why points are outside: the CRS tried, and which CRS they fit when one does."""
    hint = ova_crs.diagnosis(x, y, declared=crs, extent=ctx.extent)
    fits = " they fit " in hint
    return f"{ctx.territory.outside()} (with CRS {crs})" + (f"; {hint}" if fits else "")


def _none(raw: pd.Series) -> np.ndarray:
    return np.zeros(len(raw), dtype=bool)


# Normalisers of the field kinds: (ctx, field, raw values) → (values, invalid, future, reason).

def _text(ctx: LoadContext, fld: Field, raw: pd.Series):
    limit = ctx.target.max_length(fld.name)
    if not limit:
        return raw, _none(raw), _none(raw), "invalid text"
    return raw, checks.longer_than(raw, limit), _none(raw), f"longer than {limit} characters"


def _int(ctx: LoadContext, fld: Field, raw: pd.Series):
    values, invalid = checks.normalise_int(raw)
    return values, invalid, _none(raw), "not an integer"


def _decimal(ctx: LoadContext, fld: Field, raw: pd.Series):
    values, invalid = checks.normalise_decimal(raw)
    return values, invalid, _none(raw), "not a number"


def _date(ctx: LoadContext, fld: Field, raw: pd.Series):
    values, invalid, future = checks.normalise_date(raw, allow_future=fld.allow_future)
    return values, invalid, future, "not a date (YYYY-MM-DD, YYYY-MM or DD/MM/YYYY)"


def _datetime(ctx: LoadContext, fld: Field, raw: pd.Series):
    values, invalid, future = checks.normalise_datetime(raw, allow_future=fld.allow_future)
    return values, invalid, future, "not a date-time (ISO 8601 or DD/MM/YYYY HH:MM)"


#: Kinds of French identifiers: checked (and required when the field is) only in a French territory.
FRENCH_KINDS = ("siret", "siren", "cpv")


def _ident(length: int):
    def normalise(ctx: LoadContext, fld: Field, raw: pd.Series):
        if not ctx.territory.is_french:
            return _text(ctx, fld, checks.blank_to_none(raw))
        values, invalid = checks.normalise_ident(raw, length)
        return values, invalid, _none(raw), f"invalid {fld.kind.upper()} (length or Luhn key)"
    return normalise


def _cpv(ctx: LoadContext, fld: Field, raw: pd.Series):
    if not ctx.territory.is_french:
        return _text(ctx, fld, checks.blank_to_none(raw))
    values, invalid = checks.normalise_cpv(raw)
    return values, invalid, _none(raw), "invalid CPV code (8 digits, optional check digit)"


def _commune(ctx: LoadContext, fld: Field, raw: pd.Series):
    values, invalid, expected = checks.normalise_commune(raw, ctx.territory.country)
    if ctx.territory.commune_code:  # a territory that is one city: its code where the row has none
        values = values.where(values.notna() | invalid, ctx.territory.commune_code)
    return values, invalid, _none(raw), f"not {expected} (OVA_COUNTRY={ctx.territory.country})"


def _category(ctx: LoadContext, fld: Field, raw: pd.Series):
    invalid = (raw.notna() & ~raw.isin(ctx.categories)).to_numpy(dtype=bool)
    return raw, invalid, _none(raw), "unknown OVA incident category (see ova/seed/ova_grid.yml)"


def _enum(ctx: LoadContext, fld: Field, raw: pd.Series):
    invalid = (raw.notna() & ~raw.isin(fld.choices)).to_numpy(dtype=bool)
    return raw, invalid, _none(raw), f"not one of {', '.join(fld.choices)}"


def _quarter(ctx: LoadContext, fld: Field, raw: pd.Series):
    values, invalid = checks.normalise_quarter(raw)
    return values, invalid, _none(raw), "not a quarter (2025-T2, T2 2025, 2e trimestre 2025)"


#: ``Field.kind`` → its normaliser (see :class:`etl.target.Field`).
KINDS = {"text": _text, "int": _int, "decimal": _decimal, "date": _date, "datetime": _datetime,
         "siret": _ident(14), "siren": _ident(9), "cpv": _cpv, "commune": _commune, "category": _category,
         "enum": _enum, "quarter": _quarter}


def _normalise(ctx: LoadContext, fld: Field, raw: pd.Series, rows: np.ndarray) -> pd.Series:
    """Normalise one field's values; record rejects (or warnings for soft fields)."""
    normaliser = KINDS.get(fld.kind)
    if normaliser is None:  # pragma: no cover - target definition error
        raise TypeError(f"unknown field kind {fld.kind}")
    values, invalid, future, reason = normaliser(ctx, fld, raw)
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
    if fld.required and (ctx.territory.is_french or fld.kind not in FRENCH_KINDS):
        missing = (values.isna().to_numpy() & raw.isna().to_numpy())
        if missing.any():
            ctx.reject(rows[missing], fld.name, [None] * int(missing.sum()), "missing value")
    return values


def _points(ctx: LoadContext, frame: pd.DataFrame, rows: np.ndarray):
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
    crs = crs_for(ctx, x[~missing], y[~missing])
    to_wgs, to_l93, is_wgs, is_l93 = ctx.transformers(crs)
    lon, lat = (x, y) if is_wgs else to_wgs.transform(x, y)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    outside = ~missing & ~checks.in_territory(lon, lat, ctx.bounds)
    if outside.any():
        swapped = outside & checks.in_territory(lat, lon, ctx.bounds)
        if swapped.any():
            ctx.reject(rows[swapped], "geometry", [f"{a} {b}" for a, b in zip(x[swapped], y[swapped])],
                       "longitude and latitude look swapped")
        far = outside & ~swapped
        if far.any() and ctx.target.outside_territory == "drop":
            ctx.warnings += int(far.sum())
            ctx.dropped_geometries += int(far.sum())
        elif far.any():
            ctx.reject(rows[far], "geometry", [f"{a} {b}" for a, b in zip(x[far], y[far])],
                       _outside_reason(ctx, crs, x[far], y[far]))
    ex, ey = (x, y) if is_l93 else to_l93.transform(x, y)
    ex, ey = np.round(np.asarray(ex, dtype=float), 3), np.round(np.asarray(ey, dtype=float), 3)
    ex[outside] = np.nan
    ey[outside] = np.nan
    return ex, ey


def _multipolygons(ctx: LoadContext, frame: pd.DataFrame, rows: np.ndarray) -> list[str | None]:
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
    result: list[str | None] = [None] * len(geoms)
    if not ok.any():
        return result
    good = geoms[ok]
    crs = crs_for(ctx, *ova_crs.coordinates_sample(good))
    to_wgs, to_l93, is_wgs, is_l93 = ctx.transformers(crs)
    wgs = good if is_wgs else shapely.transform(good, lambda c: np.column_stack(to_wgs.transform(c[:, 0], c[:, 1])))
    bounds = shapely.bounds(wgs)
    cx, cy = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    # Coordinates beyond the CRS's domain come back infinite: never passed on to make_valid.
    finite = np.isfinite(bounds).all(axis=1)
    inside = finite & checks.in_territory(cx, cy, ctx.bounds)
    swapped = ~inside & finite & checks.in_territory(cy, cx, ctx.bounds)
    outside_reason = (_outside_reason(ctx, crs, *ova_crs.coordinates_sample(good[~inside & ~swapped]))
                      if (~inside & ~swapped).any() else "")
    repaired = np.full(len(good), None, dtype=object)
    if inside.any():
        l93 = good[inside] if is_l93 else shapely.transform(
            good[inside], lambda c: np.column_stack(to_l93.transform(c[:, 0], c[:, 1])))
        repaired[inside] = shapely.make_valid(l93)
    raw_bounds = shapely.bounds(good)
    indices = np.flatnonzero(ok)
    for position, (geom, fine, flipped) in enumerate(zip(repaired, inside, swapped)):
        row_index = indices[position]
        if not fine:
            reason = "longitude and latitude look swapped" if flipped else outside_reason
            ctx.reject([rows[row_index]], "geometry", [f"bbox {raw_bounds[position].round(4).tolist()}"], reason)
            continue
        polygons = [p for part in shapely.get_parts(geom) for p in shapely.get_parts(part)
                    if p.geom_type == "Polygon" and not p.is_empty]
        if not polygons:
            ctx.reject([rows[row_index]], "geometry", ["(no area after repair)"], "invalid geometry with no area")
            continue
        multi = shapely.set_srid(shapely.MultiPolygon(polygons), storage_srid())
        result[row_index] = shapely.to_wkb(multi, hex=True, include_srid=True)
    return result


def transform_chunk(ctx: LoadContext, frame: pd.DataFrame) -> pd.DataFrame:
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
    elif target.geometry:
        out["wkb"] = target.wkb_geometries(ctx, frame, rows)
    staged = pd.DataFrame(out)
    if ctx.rejected_rows:
        staged = staged[~staged["_row"].isin(ctx.rejected_rows)]
    return staged
