"""The territory the portal runs on: its storage CRS, time zone, name, country and extent.

Chosen by settings (``OVA_STORAGE_CRS``, ``OVA_TIMEZONE``, ``OVA_TERRITORY_NAME``, ``OVA_COUNTRY``)
when the database is created, and recorded in it (table ``territory``, migration ``territory_01``):
a portal or a command started with another CRS than the database's is refused
(:func:`check_database`). The extent is the area of use of the storage CRS (the EPSG database's),
narrowed by the quartiers loaded (:func:`ova.crs.loaded_extent`); requests of any extent — the
whole world of a zoomed-out map — are clipped to it (:func:`clip_lonlat`, :func:`clip_box`) before
they are transformed into the storage CRS, which is undefined far away from its area of use.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyproj

from ova import settings
from ova.errors import OvaError

Box = tuple[float, float, float, float]
#: Metropolitan France and Corsica (lon/lat): the territory of Lambert-93, narrower than its EPSG area of
#: use (which reaches far into the sea), as the loaders always checked.
METROPOLITAN_FRANCE: Box = (-5.6, 41.2, 10.0, 51.3)
#: Extents of storage CRSs narrower than their area of use.
KNOWN_EXTENTS: dict[int, Box] = {settings.STORAGE_SRID: METROPOLITAN_FRANCE}  # Lambert-93
#: Web Mercator's latitude limit (degrees).
MERCATOR_LAT = 85.05112878


class TerritoryMismatch(OvaError):
    """The database was created for another storage CRS than the one configured."""


@dataclass(frozen=True)
class Territory:
    """The configured territory (settings read when it is built, see :func:`current`)."""

    srid: int
    timezone: str
    name: str
    country: str
    commune_code: str | None = None

    @property
    def crs(self) -> pyproj.CRS:
        return _crs(self.srid)

    @property
    def crs_name(self) -> str:
        return self.crs.name

    @property
    def extent(self) -> Box:
        """(west, south, east, north) in degrees: the area of use of the storage CRS (see KNOWN_EXTENTS)."""
        return KNOWN_EXTENTS.get(self.srid) or area_of_use(self.srid)

    @property
    def centre(self) -> tuple[float, float]:
        """(latitude, longitude) a map of the territory opens on (metropolitan France's centre for Lambert-93)."""
        if self.srid == settings.STORAGE_SRID:
            return (46.6, 2.4)
        west, south, east, north = self.extent
        return ((south + north) / 2, (west + east) / 2)

    @property
    def is_french(self) -> bool:
        return self.country == "FR"

    def describe_extent(self, extent: Box | None = None) -> str:
        west, south, east, north = extent or self.extent
        return f"lon {west:.2f} … {east:.2f}, lat {south:.2f} … {north:.2f}"

    def outside(self, extent: Box | None = None) -> str:
        """The words of a rejected point: ``outside the territory (La Réunion, extent lon … lat …)``."""
        return f"outside the territory ({self.name}, extent {self.describe_extent(extent)})"


def current() -> Territory:
    """The territory of the settings now (cheap: the CRS is parsed once per value)."""
    return Territory(srid=settings.storage_srid(), timezone=settings.timezone_name(), name=settings.territory_name(),
                     country=settings.country(), commune_code=settings.commune_code())


@lru_cache(maxsize=None)
def _crs(srid: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(srid)


@lru_cache(maxsize=None)
def area_of_use(srid: int) -> Box:
    """(west, south, east, north) in degrees of the EPSG database's area of use of ``srid``."""
    area = _crs(srid).area_of_use
    return (area.west, area.south, area.east, area.north) if area else (-180.0, -90.0, 180.0, 90.0)


def narrowed_extent(conn, srid: int | None = None) -> Box:
    """The territory's extent narrowed by the loaded quartiers (with a margin), inside the area of use."""
    from ova.crs import loaded_extent

    area = area_of_use(srid or settings.storage_srid())
    loaded = loaded_extent(conn)
    if loaded is None:
        return area
    box = intersect(area, loaded)
    return box or area


def intersect(a: Box, b: Box) -> Box | None:
    """The intersection of two boxes, None when they do not meet."""
    west, south, east, north = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if west > east or south > north:
        return None
    return (west, south, east, north)


def inside(lon, lat, extent: Box) -> np.ndarray:
    """Which points (degrees) lie in ``extent`` (non-finite ones never do)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    west, south, east, north = extent
    return np.isfinite(lon) & np.isfinite(lat) & (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def clip_lonlat(box: Box, srid: int | None = None) -> Box | None:
    """A longitude/latitude box clipped to the territory's extent; None when it misses the territory."""
    return intersect(box, area_of_use(srid or settings.storage_srid()))


@lru_cache(maxsize=64)
def extent_in(target_srid: int, srid: int) -> Box:
    """The territory's extent (area of use of ``srid``) as a box in ``target_srid`` (its bounds)."""
    west, south, east, north = area_of_use(srid)
    if target_srid == 4326:
        return (west, south, east, north)
    if target_srid == 3857:
        south, north = max(south, -MERCATOR_LAT), min(north, MERCATOR_LAT)
    transformer = pyproj.Transformer.from_crs(4326, target_srid, always_xy=True)
    return tuple(float(v) for v in transformer.transform_bounds(west, south, east, north, densify_pts=21))


def clip_box(box: Box, box_srid: int, srid: int | None = None) -> Box | None:
    """``box`` (in ``box_srid``: 4326, 3857 or the storage CRS) clipped to the territory's extent.

    None when the box misses the territory: the request then matches nothing, without a transform.
    """
    return intersect(tuple(float(v) for v in box), extent_in(int(box_srid), srid or settings.storage_srid()))


# --- the territory recorded in the database --------------------------------------------------------

_CHECKED: set[tuple[str, int]] = set()


def recorded(conn) -> dict | None:
    """The territory row of the database (srid, crs_name, timezone, name, country), None before ``territory_01``."""
    from sqlalchemy import text

    if conn.scalar(text("SELECT to_regclass('public.territory')")) is None:
        return None
    row = conn.execute(text("SELECT srid, crs_name, timezone, name, country FROM territory WHERE id = 1")).mappings().first()
    return dict(row) if row else None


def mismatch_message(db_srid: int, db_crs_name: str | None, srid: int) -> str:
    configured = f"EPSG:{srid} ({_crs(srid).name})"
    stored = f"EPSG:{db_srid}" + (f" ({db_crs_name})" if db_crs_name else "")
    return (f"the database was created with the storage CRS {stored} but OVA_STORAGE_CRS is {configured}: "
            f"set OVA_STORAGE_CRS=EPSG:{db_srid} for this database, or create a new database for EPSG:{srid}")


def check_database(bind, key: str | None = None) -> None:
    """Refuse (TerritoryMismatch) a database recorded with another storage CRS than the configured one.

    ``bind`` is an engine or a connection; ``key`` (the URL) avoids asking the same database twice.
    A database not reachable, or not yet migrated, is let through (the migration records it).
    """
    from sqlalchemy.engine import Engine
    from sqlalchemy.exc import OperationalError, ProgrammingError

    srid = settings.storage_srid()
    if key is not None and (key, srid) in _CHECKED:
        return
    try:
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                row = recorded(conn)
        else:
            row = recorded(bind)
    except (OperationalError, ProgrammingError):
        return
    if row is not None and int(row["srid"]) != srid:
        raise TerritoryMismatch(mismatch_message(int(row["srid"]), row["crs_name"], srid))
    if key is not None and row is not None:
        _CHECKED.add((key, srid))
