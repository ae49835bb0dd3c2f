"""Producers publish their own vector files as layers (small independent reader, pyogrio).

extract (GeoJSON, GeoPackage, zipped Shapefile, CSV with coordinates) → validate (CRS required,
non-empty valid geometries) → reproject to Lambert-93 → load into ``published.<table>`` through a
staging table swapped in one transaction → register the layer, a version note, a new data_version.
"""
from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text

from layers.catalogue import check_licence
from ova import audit
from ova.db import transaction
from ova.errors import Conflict, DataFileError, InvalidInput
from ova.dataversion import touch
from ova.models import Layer, LayerVersion, Producer
from ova.settings import STORAGE_SRID
from ova.sqlnames import quote_ident

SCHEMA = "published"
SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".csv")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,50}$")
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


def read_vector(path: Path, crs: str | None = None):
    """Read ``path`` into a GeoDataFrame with a CRS; raise DataFileError naming what is wrong."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFileError(path, f"unsupported format '{suffix}' (GeoJSON, GeoPackage, zipped Shapefile, CSV)")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            cols = {c.lower(): c for c in frame.columns}
            lon = next((cols[n] for n in LON_NAMES + ("x",) if n in cols), None)
            lat = next((cols[n] for n in LAT_NAMES + ("y",) if n in cols), None)
            if lon is None or lat is None:
                raise DataFileError(path, "a CSV needs coordinate columns lon/lat (WGS 84) or x/y with --crs")
            if crs is None and lon.lower() in LON_NAMES:
                crs = "EPSG:4326"  # named longitude/latitude: WGS 84 by definition
            if crs is None:
                raise DataFileError(path, "x/y columns need a CRS (e.g. EPSG:2154)", field=lon)
            xs, ys = [], []
            for i, (x, y) in enumerate(zip(frame[lon], frame[lat]), start=2):
                try:
                    xs.append(float(x.replace(",", ".")))
                    ys.append(float(y.replace(",", ".")))
                except ValueError:
                    raise DataFileError(path, f"not a number: '{x}', '{y}'", row=i, field=lon) from None
            gdf = gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=gpd.points_from_xy(xs, ys), crs=crs)
        else:
            source = f"/vsizip/{path}" if suffix == ".zip" else str(path)
            if suffix == ".zip":
                with zipfile.ZipFile(path) as zf:
                    shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
                if len(shps) != 1:
                    raise DataFileError(path, "a zip must hold exactly one Shapefile (.shp)")
                source = f"/vsizip/{path}/{shps[0]}"
            gdf = pyogrio.read_dataframe(source)
            if gdf.crs is None:
                if crs is None:
                    raise DataFileError(path, "the file declares no CRS: give one (e.g. --crs EPSG:2154)")
                gdf = gdf.set_crs(crs)
    except DataFileError:
        raise
    except Exception as err:  # pyogrio/pandas errors: the file is unreadable
        raise DataFileError(path, f"unreadable file: {err}") from err
    if gdf.geometry.name is None or len(gdf) == 0:
        raise DataFileError(path, "no feature")
    return gdf


def validate(path: Path, gdf):
    """Reproject to Lambert-93 and make geometries valid; refuse empty geometries (by row)."""
    import numpy as np
    import shapely

    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        row = int(missing.to_numpy().nonzero()[0][0]) + 1
        raise DataFileError(path, "empty or missing geometry", row=row, field="geometry")
    out = gdf.to_crs(STORAGE_SRID)
    bounds = out.geometry.bounds.to_numpy()
    bad = ~np.isfinite(bounds).all(axis=1)
    if bad.any():  # e.g. coordinates beyond the CRS's domain: infinite once reprojected
        row = int(bad.nonzero()[0][0]) + 1
        raise DataFileError(path, "coordinates out of the CRS's range (check the CRS of the file)",
                            row=row, field="geometry")
    out = out.set_geometry(shapely.make_valid(out.geometry.values))
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
    columns = [(c, _column_name(c, taken), _sql_type(gdf[c].dtype)) for c in names]
    col_defs = "".join(f", {quote_ident(n)} {t}" for _, n, t in columns)
    q_staging = f"{quote_ident(SCHEMA)}.{quote_ident(staging)}"
    q_table = f"{quote_ident(SCHEMA)}.{quote_ident(table)}"
    conn.execute(text(f"DROP TABLE IF EXISTS {q_staging}"))
    conn.execute(text(f"CREATE TABLE {q_staging} (id integer PRIMARY KEY{col_defs}, "
                      f"geom geometry(Geometry, {STORAGE_SRID}) NOT NULL)"))
    geoms = shapely.to_wkb(shapely.set_srid(gdf.geometry.values, STORAGE_SRID), hex=True, include_srid=True)
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


def publish(bind, path: Path | str, *, producer: str, title: str | None = None, slug: str | None = None,
            note: str | None = None, crs: str | None = None, licence: str = "Licence Ouverte 2.0",
            user_id: int | None = None, filename: str | None = None, max_bytes: int | None = None) -> Published:
    """Publish ``path`` as a layer of ``producer`` (a new one, or a new version of ``slug``)."""
    path = Path(path)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise DataFileError(path, f"file larger than {max_bytes // (1024 * 1024)} MB")
    if not title and not slug:
        raise InvalidInput("give a title (new layer) or the slug of the layer to update")
    slug = slug or slugify(title)
    if not _SLUG.match(slug):
        raise InvalidInput(f"invalid layer slug '{slug}' (lowercase letters, digits and dashes)")
    table = slug.replace("-", "_")
    gdf = validate(path, read_vector(path, crs))
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
        before = None if layer is None else audit.row_values(conn, Layer.__table__, layer.id)
        n = _load(conn, table, gdf)
        if layer is None:
            layer_id = conn.execute(Layer.__table__.insert().values(
                slug=slug, title=title, producer_id=producer_id, source_table=f"{SCHEMA}.{table}",
                licence=check_licence(licence), geometry_type=geom_types[0] if len(geom_types) == 1 else None,
                abstract=note, keywords=[], restricted_to=[], source_filter={},
            ).returning(Layer.id)).scalar_one()
        else:
            layer_id = layer.id
            touch(conn, f"{SCHEMA}.{table}")
            if title:
                conn.execute(Layer.__table__.update().where(Layer.id == layer_id).values(title=title))
        version = conn.scalar(select(Layer.data_version).where(Layer.id == layer_id))
        conn.execute(LayerVersion.__table__.insert().values(
            layer_id=layer_id, version=version, note=note, filename=(filename or path.name)[:300],
            feature_count=n, published_by=user_id))
        audit.record(conn, user_id, "layers", layer_id, "create" if layer is None else "update",
                     before, audit.row_values(conn, Layer.__table__, layer_id))
    return Published(slug=slug, table=f"{SCHEMA}.{table}", version=version, features=n, created=layer is None)
