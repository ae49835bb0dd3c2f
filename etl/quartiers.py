"""Load quartier polygons (GeoJSON, Shapefile, GeoPackage) into ``quartiers``.

Minimal Foundation loader: presets for the shipped Paris and Nantes layers; the full ETL
(mappings, reject files, COPY) builds on it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ova.db import transaction
from ova.errors import DataFileError
from ova.settings import STORAGE_SRID

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuartierPreset:
    """How a published quartier layer maps onto our columns."""

    code: str
    name: str
    commune_insee: str | None = None
    commune_name: str | None = None
    code_prefix: str = ""
    fixed_commune_insee: str | None = None
    fixed_commune_name: str | None = None


PRESETS = {
    "paris-quartiers": QuartierPreset(code="c_quinsee", name="l_qu", fixed_commune_insee="75056",
                                      fixed_commune_name="Paris"),
    "nantes-quartiers": QuartierPreset(code="idobj", name="nom", commune_insee="code_insee",
                                       commune_name="libcom", code_prefix="NM-"),
}


@dataclass
class LoadSummary:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _frame(path: Path, preset: QuartierPreset, crs: str | None) -> gpd.GeoDataFrame:
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as err:
        raise DataFileError(path, f"cannot read the file ({err})") from err
    if frame.crs is None and crs is None:
        raise DataFileError(path, "no CRS in the file; give one with --crs EPSG:XXXX")
    if crs is not None:
        frame = frame.set_crs(crs, allow_override=True)
    for column in (preset.code, preset.name, preset.commune_insee, preset.commune_name):
        if column and column not in frame.columns:
            raise DataFileError(path, "required column missing", field=column)
    for index, geom in enumerate(frame.geometry, start=1):
        if geom is None or geom.is_empty:
            raise DataFileError(path, "empty or missing geometry", row=index, field="geometry")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise DataFileError(path, f"expected a polygon, got {geom.geom_type}", row=index, field="geometry")
    codes = preset.code_prefix + frame[preset.code].astype(str).str.strip()
    duplicated = codes[codes.duplicated()]
    if len(duplicated):
        row = int(duplicated.index[0]) + 1
        raise DataFileError(path, f"duplicate quartier code '{duplicated.iloc[0]}'", row=row, field=preset.code)
    geoms = frame.to_crs(STORAGE_SRID).geometry.make_valid()
    # make_valid may return a GeometryCollection; keep its polygonal part, always as MultiPolygon.
    geoms = [_as_multipolygon(g) for g in geoms]
    return gpd.GeoDataFrame(
        {
            "code": codes,
            "name": frame[preset.name].astype(str).str.strip(),
            "commune_insee": frame[preset.commune_insee] if preset.commune_insee else preset.fixed_commune_insee,
            "commune_name": frame[preset.commune_name] if preset.commune_name else preset.fixed_commune_name,
        },
        geometry=geoms,
        crs=STORAGE_SRID,
    )


def _as_multipolygon(geom):
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polygons)


def load_quartiers(bind: Engine | Connection, path: str | Path, *, preset: str, crs: str | None = None) -> LoadSummary:
    """Upsert the quartiers of ``path`` in one transaction; reloading the same file changes nothing."""
    path = Path(path)
    if preset not in PRESETS:
        raise DataFileError(path, f"unknown preset '{preset}' (known: {', '.join(sorted(PRESETS))})")
    frame = _frame(path, PRESETS[preset], crs)
    rows = [
        {"code": r.code, "name": r.name, "commune_insee": r.commune_insee, "commune_name": r.commune_name,
         "wkb": shapely.to_wkb(r.geometry, hex=True), "source": path.name}
        for r in frame.itertuples()
    ]
    summary = LoadSummary(read=len(rows))
    with transaction(bind) as conn:
        conn.execute(text("DROP TABLE IF EXISTS stage_quartiers"))
        conn.execute(text("CREATE TEMP TABLE stage_quartiers (LIKE quartiers INCLUDING DEFAULTS) ON COMMIT DROP"))
        conn.execute(
            text("INSERT INTO stage_quartiers (code, name, commune_insee, commune_name, source, geom) "
                 "VALUES (:code, :name, :commune_insee, :commune_name, :source, "
                 f"ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), {STORAGE_SRID}))"),
            rows,
        )
        result = conn.execute(text(
            """
            WITH merged AS (
                INSERT INTO quartiers AS q (code, name, commune_insee, commune_name, source, geom)
                SELECT code, name, commune_insee, commune_name, source, geom FROM stage_quartiers
                ON CONFLICT (code) DO UPDATE SET
                    name = excluded.name, commune_insee = excluded.commune_insee,
                    commune_name = excluded.commune_name, source = excluded.source,
                    geom = excluded.geom, loaded_at = now()
                WHERE (q.name, q.commune_insee, q.commune_name, q.source)
                      IS DISTINCT FROM (excluded.name, excluded.commune_insee, excluded.commune_name, excluded.source)
                   OR ST_AsBinary(q.geom) IS DISTINCT FROM ST_AsBinary(excluded.geom)
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
            """
        )).one()
        conn.execute(text("DROP TABLE stage_quartiers"))
    summary.inserted, summary.updated = result
    summary.unchanged = summary.read - summary.inserted - summary.updated
    LOGGER.info("%s: %s", path, summary)
    return summary
