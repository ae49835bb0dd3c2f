"""Basemap features (named streets, water, green spaces, buildings) → ``basemap_features``.

Natural key (``source``, ``external_id``). A file is a whole basemap layer: lines become
MultiLineStrings, polygons are repaired into MultiPolygons, both reprojected to the storage CRS;
after the merge, the features of the same ``source`` that the file no longer holds are deleted,
so a newer street file replaces the older one (renamed or removed streets disappear). Strict by
default (``max_reject_rate`` 0): a street missing from the map is a hole a citizen would notice.

Shipped preset: ``paris-voies`` (Ville de Paris, dataset « Voies »), also the default.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from etl import checks
from etl.target import Field, Target
from etl.transform import _multipolygons, crs_for
from ova import crs as ova_crs, dataversion
from ova.errors import DataFileError
from ova.models import BASEMAP_THEMES, BasemapFeature
from ova.settings import storage_srid
from ova.territory import current

#: shapely type ids
_LINES = (1, 5)       # LineString, MultiLineString
_POLYGONS = (3, 6)    # Polygon, MultiPolygon


def _lines(ctx, geoms: np.ndarray, rows: np.ndarray, positions: np.ndarray, result: list) -> None:
    """Reproject lines to the storage CRS as MultiLineStrings (hex EWKB into ``result``)."""
    crs = crs_for(ctx, *ova_crs.coordinates_sample(geoms[positions]))
    to_wgs, to_storage, is_wgs, is_storage = ctx.transformers(crs)
    good = geoms[positions]
    wgs = good if is_wgs else shapely.transform(
        good, lambda c: np.column_stack(to_wgs.transform(c[:, 0], c[:, 1])))
    bounds = shapely.bounds(wgs)
    cx, cy = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    inside = checks.in_territory(cx, cy)
    swapped = ~inside & checks.in_territory(cy, cx)
    stored = good if is_storage else shapely.transform(
        good, lambda c: np.column_stack(to_storage.transform(c[:, 0], c[:, 1])))
    lengths = shapely.length(stored)
    for k, (position, geom) in enumerate(zip(positions, stored)):
        row = rows[position]
        if not inside[k]:
            reason = "longitude and latitude look swapped" if swapped[k] else f"{current().outside()} (with CRS {crs})"
            ctx.reject([row], "geometry", [f"bbox {bounds[k].round(4).tolist()}"], reason)
            continue
        if not lengths[k] > 0:
            ctx.reject([row], "geometry", ["(zero length)"], "line of zero length")
            continue
        parts = [p for p in shapely.get_parts(geom) if not p.is_empty and p.length > 0]
        multi = shapely.set_srid(shapely.MultiLineString(parts), storage_srid())
        result[position] = shapely.to_wkb(multi, hex=True, include_srid=True)


class BasemapTarget(Target):
    name = "basemap"
    table = "basemap_features"
    model = BasemapFeature
    key = ("source", "external_id")
    fields = (
        Field("external_id", required=True),
        Field("theme", "enum", required=True, choices=BASEMAP_THEMES),
        Field("name"),
        Field("short_name"),
        Field("kind"),
        Field("rank", "enum", choices=("1", "2", "3")),
        Field("commune_insee", "commune", soft=True),
    )
    geometry = "lines_or_polygons"
    max_reject_rate = 0.0
    touched = {"loaded_at": "now()"}

    def wkb_geometries(self, ctx, frame: pd.DataFrame, rows: np.ndarray) -> list[str | None]:
        """Lines → MultiLineString, polygons → repaired MultiPolygon; anything else is rejected."""
        if "geometry" not in frame.columns:
            raise DataFileError(ctx.reader.path, "no geometry in the file: lines or polygons are required")
        geoms = frame["geometry"].to_numpy()
        missing = shapely.is_missing(geoms)
        empty = missing | shapely.is_empty(np.where(missing, shapely.Point(), geoms))
        kinds = np.where(empty, -1, shapely.get_type_id(np.where(empty, None, geoms)))
        if empty.any():
            ctx.reject(rows[empty], "geometry", [None] * int(empty.sum()), "empty or missing geometry")
        wrong = ~empty & ~np.isin(kinds, _LINES + _POLYGONS)
        if wrong.any():
            ctx.reject(rows[wrong], "geometry", [shapely.get_type_id(g) for g in geoms[wrong]],
                       "expected a LineString, MultiLineString, Polygon or MultiPolygon")
        result: list[str | None] = [None] * len(geoms)
        lines = np.flatnonzero(np.isin(kinds, _LINES))
        if len(lines):
            _lines(ctx, geoms, rows, lines, result)
        polygons = np.flatnonzero(np.isin(kinds, _POLYGONS))
        if len(polygons):
            done = _multipolygons(ctx, frame.iloc[polygons], rows[polygons])
            for position, wkb in zip(polygons, done):
                result[position] = wkb
        return result

    def after_merge(self, conn, summary, merge):
        removed = conn.execute(text(f"""
            DELETE FROM basemap_features b
            WHERE b.source IN (SELECT DISTINCT source FROM {merge.rows})
              AND NOT EXISTS (SELECT FROM {merge.rows} m
                              WHERE m.source = b.source AND m.external_id = b.external_id)""")).rowcount
        summary.extra["removed (no longer in the file)"] = removed
        if removed and not merge.changed:
            dataversion.touch(conn, self.table)
        summary.extra["by theme"] = ", ".join(
            f"{theme} {count}" for theme, count in conn.execute(text(
                f"SELECT theme, count(*) FROM {merge.rows} GROUP BY theme ORDER BY theme")))


TARGET = BasemapTarget()
