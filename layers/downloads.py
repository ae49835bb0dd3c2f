"""Layer downloads: GeoJSON, CSV, GeoPackage and zipped Shapefile, streamed with bounded memory.

Rows are read through a server-side cursor in chunks; GeoJSON and CSV are generated chunk by
chunk, GeoPackage and Shapefile are written chunk by chunk into a temporary file with pyogrio.
Licence and attribution travel with every file (foreign members, GPKG metadata, LICENCE.txt).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import text

from layers.features import CRS_BY_URI, CRS84, feature_sql
from layers.sources import Source
from ova.sqlnames import quote_ident

CHUNK = 5_000
_PLAIN = {"integer", "bigint", "smallint", "double precision", "real", "boolean", "text",
          "character varying", "character", "date", "timestamp with time zone", "timestamp without time zone"}


@dataclass(frozen=True)
class Meta:
    """What travels with a downloaded file."""

    slug: str
    title: str
    licence: str
    attribution: str | None
    producer: str
    licence_url: str | None = None

    def licence_text(self) -> str:
        lines = [self.title, "", f"Producteur : {self.producer}", f"Licence : {self.licence}"]
        if self.licence_url:
            lines.append(f"Texte de la licence : {self.licence_url}")
        if self.attribution:
            lines.append(f"Attribution : {self.attribution}")
        lines.append("Source : Portail OVA")
        return "\n".join(lines) + "\n"


def _column_expr(source: Source, name: str) -> str:
    kind = source.columns[name]
    col = f"t.{quote_ident(name)}"
    if kind == "numeric":
        return f"{col}::float8"
    if kind in _PLAIN:
        return col
    return f"{col}::text"


def _where(source: Source) -> tuple[str, dict]:
    clauses, params = source.where_filters()
    return (" AND ".join(clauses) or "TRUE"), params


def _chunks(conn, sql: str, params: dict) -> Iterator[list]:
    """Yield lists of rows of ``sql`` read through a server-side cursor."""
    # Options on the statement, not on the connection (which would keep them for later statements).
    result = conn.execute(text(sql).execution_options(stream_results=True, yield_per=CHUNK), params)
    try:
        for part in result.partitions(CHUNK):
            yield part
    finally:
        result.close()


def iter_geojson(conn, source: Source, meta: Meta) -> Iterator[str]:
    """The layer as one WGS 84 FeatureCollection, with licence and attribution members."""
    where, params = _where(source)
    head = {"type": "FeatureCollection", "name": meta.slug, "title": meta.title, "licence": meta.licence,
            "attribution": meta.attribution, "producer": meta.producer}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ['
    first = True
    sql = (f"SELECT {feature_sql(source, CRS_BY_URI[CRS84])} FROM {source.qualified} t WHERE {where} "
           f"ORDER BY t.id")
    for rows in _chunks(conn, sql, params):
        block = ",\n".join(r[0] for r in rows)
        yield ("" if first else ",\n") + block
        first = False
    yield "]}\n"


def iter_csv(conn, source: Source, meta: Meta, geometry: str = "auto") -> Iterator[str]:
    """The layer as CSV: lon/lat columns for points (WGS 84), else (or on demand) a WKT column."""
    points = (source.geometry_type or "").upper() == "POINT"
    use_wkt = geometry == "wkt" or (geometry == "auto" and not points)
    names = list(source.columns)
    geo_cols = ["wkt"] if use_wkt else ["lon", "lat"]
    point = "t.geom" if points else "ST_PointOnSurface(t.geom)"  # lon/lat of a polygon: a point inside
    geo_sql = ("ST_AsText(ST_Transform(t.geom, 4326), 7)" if use_wkt else
               f"ST_X(ST_Transform({point}, 4326)), ST_Y(ST_Transform({point}, 4326))")
    cols = ", ".join(["t.id"] + [_column_expr(source, n) for n in names] + [geo_sql])
    where, params = _where(source)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", *names, *geo_cols])
    yield buffer.getvalue()
    for rows in _chunks(conn, f"SELECT {cols} FROM {source.qualified} t WHERE {where} ORDER BY t.id", params):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        yield buffer.getvalue()


def _frames(conn, source: Source, for_shapefile: bool):
    import geopandas as gpd
    import pandas as pd
    import shapely

    names = list(source.columns)
    cols = ", ".join(["t.id"] + [_column_expr(source, n) for n in names] + ["ST_AsBinary(ST_Transform(t.geom, 4326))"])
    where, params = _where(source)
    produced = False
    for rows in _chunks(conn, f"SELECT {cols} FROM {source.qualified} t WHERE {where} ORDER BY t.id", params):
        frame = pd.DataFrame([tuple(r[:-1]) for r in rows], columns=["id", *names])
        for name in names:
            if for_shapefile and source.columns[name].startswith("timestamp"):
                frame[name] = frame[name].map(lambda v: v.isoformat() if v is not None else None)
        geoms = shapely.from_wkb([bytes(r[-1]) if r[-1] is not None else None for r in rows])
        produced = True
        yield gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
    if not produced:
        yield gpd.GeoDataFrame(pd.DataFrame(columns=["id", *names]), geometry=[], crs="EPSG:4326")


def write_ogr(conn, source: Source, meta: Meta, directory: Path, driver: str) -> Path:
    """Write the layer with pyogrio into ``directory`` chunk by chunk; return the file's path."""
    import pyogrio

    ext = {"GPKG": "gpkg", "ESRI Shapefile": "shp"}[driver]
    path = directory / f"{meta.slug}.{ext}"
    layer_meta = {"TITLE": meta.title, "LICENCE": meta.licence, "ATTRIBUTION": meta.attribution or "",
                  "PRODUCER": meta.producer}
    for i, frame in enumerate(_frames(conn, source, driver == "ESRI Shapefile")):
        kwargs = {}
        if driver == "GPKG" and i == 0:
            kwargs = {"layer_metadata": layer_meta, "dataset_metadata": {"DESCRIPTION": meta.licence_text()}}
        if driver == "ESRI Shapefile":
            kwargs["encoding"] = "UTF-8"
        pyogrio.write_dataframe(frame, path, layer=meta.slug, driver=driver, append=i > 0,
                                promote_to_multi=driver == "ESRI Shapefile" or None, **kwargs)
    return path


def build_file(conn, source: Source, meta: Meta, fmt: str, workdir: Path | None = None) -> Path:
    """Write a GeoPackage or a zipped Shapefile (with LICENCE.txt) to a new temporary directory
    (under ``workdir`` when given).

    The caller owns the returned file and must remove its parent directory (``cleanup``).
    """
    directory = Path(tempfile.mkdtemp(prefix="ova-dl-", dir=workdir))
    try:
        if fmt == "gpkg":
            return write_ogr(conn, source, meta, directory, "GPKG")
        shp_dir = directory / "shp"
        shp_dir.mkdir()
        write_ogr(conn, source, meta, shp_dir, "ESRI Shapefile")
        (shp_dir / "LICENCE.txt").write_text(meta.licence_text(), encoding="utf-8")
        archive = directory / f"{meta.slug}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(shp_dir.iterdir()):
                zf.write(f, f.name)
        shutil.rmtree(shp_dir)
        return archive
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def cache_key(version: tuple, source: Source, meta: Meta, fmt: str) -> str:
    """What a built file depends on: the layer's ``version`` (id, data_version and last_update,
    which also tells a rebuilt database from the old one), its metadata and columns, the format."""
    described = json.dumps([list(version), fmt, meta.__dict__, source.qualified, source.columns, source.filters],
                           sort_keys=True, default=str)
    return hashlib.sha256(described.encode()).hexdigest()[:20]


def cached_file(conn, source: Source, meta: Meta, fmt: str, cache_dir: Path, key: str) -> Path:
    """The GeoPackage or zipped Shapefile of ``key`` (see :func:`cache_key`), built at most once.

    A 1 000 000-feature GeoPackage takes about a minute to write: it is built on the first
    request for a data version, moved into ``cache_dir`` atomically, and served from there until
    the layer's data or metadata change; the files of older keys are then removed. Two requests
    racing on a new key both build, and the last rename wins (same content).
    """
    target = cache_dir / f"{meta.slug}.{key}.{FORMATS[fmt][1]}"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    built = build_file(conn, source, meta, fmt, workdir=cache_dir)
    try:
        os.replace(built, target)
    finally:
        shutil.rmtree(built.parent, ignore_errors=True)
    for old in cache_dir.glob(f"{meta.slug}.*.{FORMATS[fmt][1]}"):
        if old != target:
            old.unlink(missing_ok=True)   # a request still streaming it keeps its open file
    return target


#: Download formats: key → (media type, file extension, kind) where kind is "text" or "file".
FORMATS: dict[str, tuple[str, str, str]] = {
    "geojson": ("application/geo+json", "geojson", "text"),
    "csv": ("text/csv; charset=utf-8", "csv", "text"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg", "file"),
    "shp": ("application/zip", "zip", "file"),
}
TEXT_WRITERS: dict[str, Callable] = {"geojson": iter_geojson, "csv": iter_csv}
