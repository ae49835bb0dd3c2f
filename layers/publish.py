"""Producers publish their own vector files as layers (small independent reader, pyogrio).

extract (GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, FlatGeobuf, GML, CSV or XLSX/ODS with
coordinates) → validate (CRS required and checked against the coordinates, ``ova.crs``; non-empty
valid geometries) → reproject to the storage CRS → load into ``published.<table>`` through a staging
table swapped in one transaction → register the layer, a version note, a new data_version.
Library warnings are counted (``Published.warnings``), never printed.
"""
from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text

from layers.catalogue import check_licence
from layers.metadata import THEMES
from ova import audit, spreadsheets
from ova import crs as ova_crs
from ova.dataversion import touch
from ova.db import transaction
from ova.errors import Conflict, DataFileError, InvalidInput
from ova.models import Layer, LayerVersion, Producer
from ova.quiet import captured
from ova.settings import storage_srid
from ova.sqlnames import quote_ident

SCHEMA = "published"
SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".csv", ".kml", ".kmz", ".fgb", ".gml") + spreadsheets.SUFFIXES
#: Formats whose layers are parts of one dataset (KML folders): read together unless one is chosen.
MERGED_LAYERS = (".kml", ".kmz")
#: GDAL open options per suffix (never write a .gfs file beside an uploaded GML).
OPEN_OPTIONS = {".gml": {"WRITE_GFS": "NO"}}
_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,50}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
LON_NAMES = ("lon", "longitude", "lng", "long")
LAT_NAMES = ("lat", "latitude")


@dataclass(frozen=True)
class Published:
    """Outcome of a publication."""

    slug: str
    table: str
    version: int
    features: int
    created: bool
    #: Warnings of the reading libraries (GDAL, shapely, openpyxl), counted instead of printed.
    warnings: int = 0
    #: Free-text values in which personal data was masked.
    masked: int = 0


def slugify(value: str) -> str:
    """An ASCII slug of ``value`` (letters, digits, dashes)."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:50]
    if not slug or not slug[0].isalpha():
        slug = ("couche-" + slug)[:50].strip("-")
    return slug


def _column_name(raw: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", unicodedata.normalize("NFKD", str(raw)).encode("ascii", "ignore")
                  .decode().lower()).strip("_")[:50] or "col"
    if name[0].isdigit():
        name = "c_" + name
    if name in ("id", "geom"):
        name += "_source"
    base, i = name, 2
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    taken.add(name)
    return name


def check_metadata(keywords, theme: str | None, contact: str | None) -> tuple[list[str], str, str]:
    """The keywords, theme and contact a harvester needs of a layer, cleaned; raise naming the field.

    data.gouv.fr, the regional SDIs (GeoNetwork over CSW) and INSPIRE discovery index a dataset
    by its keywords and theme and show who to ask: a layer without them is published but not found.
    """
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    words = [k.strip()[:100] for k in keywords or [] if k and k.strip()]
    if not words:
        raise InvalidInput("keywords: give at least one keyword (harvesters index layers by keyword)")
    if theme not in THEMES:
        raise InvalidInput(f"theme: choose one of {', '.join(THEMES)} (it gives the EU data theme)")
    contact = (contact or "").strip()
    if not _EMAIL.match(contact):
        raise InvalidInput("contact: give the e-mail address users should write to about this layer")
    return list(dict.fromkeys(words)), theme, contact


def read_vector(path: Path, crs: str | None = None, layer: str | None = None):
    """Read ``path`` into a GeoDataFrame with a CRS; raise DataFileError naming what is wrong.

    ``layer``: the layer of a GeoPackage/GML, the folder of a KML/KMZ (default: all folders, with
    a ``folder`` column) or the sheet of a spreadsheet (default: the first).
    """
    import pandas as pd
    import pyogrio

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFileError(path, f"unsupported format '{suffix}' (GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, "
                                  "FlatGeobuf, GML, CSV, XLSX/ODS)")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            gdf = _points_frame(path, frame, crs, lambda v: float(v.replace(",", ".")))
        elif suffix in spreadsheets.SUFFIXES:
            gdf = _points_frame(path, _sheet_frame(path, layer), crs, float)
        else:
            gdf = _read_layers(path, suffix, layer, pyogrio)
            sample = ova_crs.coordinates_sample(gdf.geometry.values)
            declared = gdf.crs.to_string() if gdf.crs is not None else None
            chosen, _ = ova_crs.resolve(path, declared, crs, *sample, option="the CRS (--crs)")
            if declared is None or chosen != declared:
                gdf = gdf.set_crs(chosen, allow_override=True)
    except DataFileError:
        raise
    except Exception as err:  # pyogrio/pandas errors: the file is unreadable
        raise DataFileError(path, f"unreadable file: {err}") from err
    if gdf.geometry.name is None or len(gdf) == 0:
        raise DataFileError(path, "no feature")
    return gdf


def _read_layers(path: Path, suffix: str, layer: str | None, pyogrio):
    import pandas as pd

    source = str(path)
    if suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        if len(shps) != 1:
            raise DataFileError(path, "a zip must hold exactly one Shapefile (.shp)")
        source = f"/vsizip/{path}/{shps[0]}"
    options = OPEN_OPTIONS.get(suffix, {})
    names = [str(name) for name, _ in pyogrio.list_layers(source)]
    if layer is not None:
        if layer not in names:
            raise DataFileError(path, f"no layer '{layer}' (layers: {', '.join(names)})", field="layer")
        names = [layer]
    elif len(names) > 1 and suffix not in MERGED_LAYERS:
        raise DataFileError(path, f"several layers ({', '.join(names)}): choose one", field="layer")
    frames = []
    for name in names:
        frame = pyogrio.read_dataframe(source, layer=name, **options)
        if len(frame) == 0 and len(names) > 1:
            continue
        if len(names) > 1:
            frame["folder"] = name
        frames.append(frame)
    if not frames:
        return pyogrio.read_dataframe(source, layer=names[0], **options)
    gdf = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if gdf.geometry.has_z.any():
        import shapely

        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.values))
    return gdf


def _sheet_frame(path: Path, sheet: str | None):
    """A spreadsheet's rows as a DataFrame of typed columns (see :func:`_typed_column`)."""
    import pandas as pd

    opened = spreadsheets.open_sheet(path, sheet)
    rows = [values for _, values in opened.rows]
    frame = pd.DataFrame({name: _typed_column([r[i] for r in rows]) for i, name in enumerate(opened.columns)})
    frame.attrs["sql_types"] = {name: kind for name, kind in
                                ((n, _cell_sql_type(frame[n])) for n in frame.columns) if kind}
    return frame


def _typed_column(values: list):
    """Cells of one column as the spreadsheet holds them: integers, numbers, dates, date-times, or
    text when the column mixes kinds (each value then as written)."""
    import datetime as dt

    import pandas as pd

    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if kinds and kinds <= {int}:
        return pd.array(values, dtype="Int64")
    if kinds and kinds <= {int, float}:
        return pd.array([None if v is None else float(v) for v in values], dtype="Float64")
    if kinds and kinds <= {bool}:
        return pd.array(values, dtype="boolean")
    if kinds and (kinds <= {dt.date} or kinds <= {dt.datetime} or kinds <= {dt.time}):
        return pd.Series(values, dtype=object)
    return pd.Series([spreadsheets.text_value(v) for v in values], dtype=object)


def _cell_sql_type(column) -> str | None:
    """SQL type of a column of dates, date-times (as the sheet holds them: no time zone) or times."""
    import datetime as dt

    present = [v for v in column if v is not None]
    if not present:
        return None
    if all(isinstance(v, dt.datetime) for v in present):
        return "timestamp"
    if all(isinstance(v, dt.date) for v in present):
        return "date"
    if all(isinstance(v, dt.time) for v in present):
        return "time"
    return None


def _points_frame(path: Path, frame, crs: str | None, number):
    """A GeoDataFrame of points from the lon/lat (or x/y, with ``crs``) columns of a table."""
    import geopandas as gpd

    cols = {str(c).lower(): c for c in frame.columns}
    lon = next((cols[n] for n in LON_NAMES + ("x",) if n in cols), None)
    lat = next((cols[n] for n in LAT_NAMES + ("y",) if n in cols), None)
    if lon is None or lat is None:
        raise DataFileError(path, "a table needs coordinate columns lon/lat (WGS 84) or x/y with a CRS")
    default = "EPSG:4326" if str(lon).lower() in LON_NAMES else None  # named longitude/latitude: WGS 84
    xs, ys = [], []
    first_row = 2 if path.suffix.lower() == ".csv" else 1
    for i, (x, y) in enumerate(zip(frame[lon], frame[lat]), start=first_row):
        try:
            xs.append(number(x))
            ys.append(number(y))
        except (TypeError, ValueError):
            raise DataFileError(path, f"not a number: '{x}', '{y}'", row=i, field=str(lon)) from None
    chosen, _ = ova_crs.resolve(path, None, crs, xs, ys, default=default, option="the CRS (--crs)")
    sql_types = frame.attrs.get("sql_types", {})
    gdf = gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=gpd.points_from_xy(xs, ys), crs=chosen)
    gdf.attrs["sql_types"] = {k: v for k, v in sql_types.items() if k not in (lon, lat)}
    return gdf


def validate(path: Path, gdf):
    """Reproject to Lambert-93 and make geometries valid; refuse empty geometries (by row)."""
    import numpy as np
    import shapely

    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        row = int(missing.to_numpy().nonzero()[0][0]) + 1
        raise DataFileError(path, "empty or missing geometry", row=row, field="geometry")
    out = gdf.to_crs(storage_srid())
    bounds = out.geometry.bounds.to_numpy()
    bad = ~np.isfinite(bounds).all(axis=1)
    if bad.any():  # e.g. coordinates beyond the CRS's domain: infinite once reprojected
        row = int(bad.nonzero()[0][0]) + 1
        hint = ova_crs.diagnosis(*ova_crs.coordinates_sample(gdf.geometry.values[bad]),
                                 declared=gdf.crs.to_string(), option="the CRS (--crs)")
        raise DataFileError(path, f"coordinates out of the CRS's range: {hint}", row=row, field="geometry")
    out = out.set_geometry(shapely.make_valid(out.geometry.values))
    out.attrs = gdf.attrs
    return out


def _sql_type(dtype) -> str:
    kind = getattr(dtype, "kind", "O")
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "b":
        return "boolean"
    if kind == "M":
        return "timestamptz"
    return "text"


def _value(v):
    import pandas as pd

    if isinstance(v, (list, tuple)) or getattr(v, "ndim", 0) > 0:  # GDAL list fields (RealList…)
        import json

        return json.dumps([_value(x) for x in v])
    if v is None or (not isinstance(v, (str, bytes)) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def _load(conn, table: str, gdf) -> int:
    """Create ``published.<table>__new`` from ``gdf`` with COPY, then swap it in (same transaction)."""
    import shapely

    staging = f"{table}__new"
    taken: set[str] = set()
    names = [c for c in gdf.columns if c != gdf.geometry.name]
    declared = gdf.attrs.get("sql_types", {})
    columns = [(c, _column_name(c, taken), declared.get(c) or _sql_type(gdf[c].dtype)) for c in names]
    col_defs = "".join(f", {quote_ident(n)} {t}" for _, n, t in columns)
    q_staging = f"{quote_ident(SCHEMA)}.{quote_ident(staging)}"
    q_table = f"{quote_ident(SCHEMA)}.{quote_ident(table)}"
    conn.execute(text(f"DROP TABLE IF EXISTS {q_staging}"))
    conn.execute(text(f"CREATE TABLE {q_staging} (id integer PRIMARY KEY{col_defs}, "
                      f"geom geometry(Geometry, {storage_srid()}) NOT NULL)"))
    geoms = shapely.to_wkb(shapely.set_srid(gdf.geometry.values, storage_srid()), hex=True, include_srid=True)
    copy_cols = ", ".join(["id", *(quote_ident(n) for _, n, _ in columns), "geom"])
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY {q_staging} ({copy_cols}) FROM STDIN") as copy:
            for i, (row, geom) in enumerate(zip(gdf[names].itertuples(index=False, name=None), geoms), start=1):
                copy.write_row((i, *(_value(v) if t != "text" or _value(v) is None else str(_value(v))
                                     for v, (_, _, t) in zip(row, columns)), geom))
    conn.execute(text(f"DROP TABLE IF EXISTS {q_table}"))
    conn.execute(text(f"ALTER TABLE {q_staging} RENAME TO {quote_ident(table)}"))
    conn.execute(text(f"ALTER INDEX {quote_ident(SCHEMA)}.{quote_ident(staging + '_pkey')} "
                      f"RENAME TO {quote_ident(table + '_pkey')}"))
    conn.execute(text(f"CREATE INDEX {quote_ident(table + '_geom_idx')} ON {q_table} USING gist (geom)"))
    conn.execute(text(f"ANALYZE {q_table}"))
    return len(gdf)


def free_text_columns(value: list[str] | str | None) -> list[str]:
    """Column names from a list or a comma-separated string (empty entries dropped)."""
    items = value.split(",") if isinstance(value, str) else (value or [])
    return [c.strip() for c in items if c and c.strip()]


def mask_free_text(path: Path, gdf, columns: list[str] | str | None):
    """``gdf`` with personal data masked in the free-text ``columns`` (a copy; the caller's frame is
    untouched); returns ``(frame, values changed)``. An unknown column is an error naming it."""
    columns = free_text_columns(columns)
    if not columns:
        return gdf, 0
    missing = [c for c in columns if c not in gdf.columns or c == gdf.geometry.name]
    if missing:
        raise DataFileError(path, f"free-text column '{missing[0]}' is not in the file "
                                  f"(columns: {', '.join(c for c in gdf.columns if c != gdf.geometry.name)})")
    from ova import pii

    out, changed = gdf.copy(), 0
    for column in columns:
        values = []
        for value in out[column]:
            if isinstance(value, str) and value.strip():
                masked = pii.analyse(value)[0]
                changed += masked != value
                value = masked
            values.append(value)
        out[column] = values
    return out, changed


def publish(bind, path: Path | str, *, producer: str, title: str | None = None, slug: str | None = None,
            note: str | None = None, crs: str | None = None, licence: str = "Licence Ouverte 2.0",
            user_id: int | None = None, filename: str | None = None, max_bytes: int | None = None,
            keywords: list[str] | str | None = None, theme: str | None = None,
            contact: str | None = None, source_layer: str | None = None,
            free_text: list[str] | str | None = None) -> Published:
    """Publish ``path`` as a layer of ``producer`` (a new one, or a new version of ``slug``).

    A new layer needs ``keywords``, ``theme`` and ``contact`` (see ``check_metadata``); a new
    version keeps its layer's, or replaces them when given. ``source_layer``: layer, KML folder or
    spreadsheet sheet to publish (see :func:`read_vector`). ``free_text``: the attribute columns the
    producer flags as free text (comments, observations): personal data found in their values is
    masked before anything is published (:func:`mask_free_text`).
    """
    path = Path(path)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise DataFileError(path, f"file larger than {max_bytes // (1024 * 1024)} MB")
    if not title and not slug:
        raise InvalidInput("give a title (new layer) or the slug of the layer to update")
    slug = slug or slugify(title)
    if not _SLUG.match(slug):
        raise InvalidInput(f"invalid layer slug '{slug}' (lowercase letters, digits and dashes)")
    table = slug.replace("-", "_")
    with captured() as caught:
        gdf = validate(path, read_vector(path, crs, source_layer))
    gdf, masked = mask_free_text(path, gdf, free_text)
    geom_types = sorted(set(gdf.geometry.geom_type))
    with transaction(bind) as conn:
        producer_id = conn.scalar(select(Producer.id).where(Producer.slug == producer))
        if producer_id is None:
            raise InvalidInput(f"unknown producer '{producer}'")
        layer = conn.execute(select(Layer.id, Layer.producer_id, Layer.source_table)
                             .where(Layer.slug == slug).with_for_update()).first()
        if layer is not None:
            if layer.producer_id != producer_id:
                raise Conflict(f"the layer '{slug}' belongs to another producer")
            if layer.source_table != f"{SCHEMA}.{table}":
                raise Conflict(f"the layer '{slug}' is not a published file: it cannot be replaced")
        metadata = (check_metadata(keywords, theme, contact)
                    if layer is None or keywords or theme or contact else None)
        before = None if layer is None else audit.row_values(conn, Layer.__table__, layer.id)
        n = _load(conn, table, gdf)
        if layer is None:
            layer_id = conn.execute(Layer.__table__.insert().values(
                slug=slug, title=title, producer_id=producer_id, source_table=f"{SCHEMA}.{table}",
                licence=check_licence(licence), geometry_type=geom_types[0] if len(geom_types) == 1 else None,
                abstract=note, keywords=metadata[0], theme=metadata[1], contact=metadata[2], restricted_to=[],
                source_filter={},
            ).returning(Layer.id)).scalar_one()
        else:
            layer_id = layer.id
            touch(conn, f"{SCHEMA}.{table}")
            changes = {"title": title} if title else {}
            if metadata:
                changes.update(keywords=metadata[0], theme=metadata[1], contact=metadata[2])
            if changes:
                conn.execute(Layer.__table__.update().where(Layer.id == layer_id).values(**changes))
        version = conn.scalar(select(Layer.data_version).where(Layer.id == layer_id))
        conn.execute(LayerVersion.__table__.insert().values(
            layer_id=layer_id, version=version, note=note, filename=(filename or path.name)[:300],
            feature_count=n, published_by=user_id))
        audit.record(conn, user_id, "layers", layer_id, "create" if layer is None else "update",
                     before, audit.row_values(conn, Layer.__table__, layer_id))
    return Published(slug=slug, table=f"{SCHEMA}.{table}", version=version, features=n, created=layer is None,
                     warnings=caught.count, masked=masked)
