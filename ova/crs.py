"""Which CRS do coordinates fit? The diagnosis given when a file's coordinates and its CRS disagree.

French files often carry projected coordinates without saying so (a GeoJSON in Lambert-93 with
no ``crs`` member, a Shapefile without its ``.prj``, a CSV of x/y). :func:`fitting_crs` tries the
CRSs of :data:`CANDIDATES` whose area of use meets the territory and keeps those in which the
coordinates land inside both that area of use and the territory; :func:`diagnosis` turns that into
a sentence ending with the ``--crs`` to pass. The territory is the extent of the quartiers already
loaded (:func:`loaded_extent`), else the area of use of ``storage_srid()``: the first tells Web
Mercator from Lambert-93 and one UTM zone from the next, which the second cannot.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyproj
import shapely

from ova import settings
from ova.errors import DataFileError

#: CRSs tried on coordinates of an unknown or doubtful CRS, most common first (EPSG codes; names and
#: areas of use come from the EPSG database). Metropolitan France: Lambert-93, the nine
#: conic conformal zones CC42–CC50, the old Lambert II étendu (NTF), the UTM zones; the overseas
#: départements' official UTM projections; Web Mercator; WGS 84 itself (degrees in a file that
#: declares a projected CRS).
CANDIDATES: tuple[int, ...] = (
    2154,                                                  # RGF93 v1 / Lambert-93
    3942, 3943, 3944, 3945, 3946, 3947, 3948, 3949, 3950,  # RGF93 v1 / CC42 … CC50
    27572,                                                 # NTF (Paris) / Lambert zone II (« étendu »)
    2975,                                                  # RGR92 / UTM 40S (La Réunion)
    5490,                                                  # RGAF09 / UTM 20N (Guadeloupe, Martinique)
    2972,                                                  # RGFG95 / UTM 22N (Guyane)
    4471,                                                  # RGM04 / UTM 38S (Mayotte)
    4467,                                                  # RGSPM06 / UTM 21N (Saint-Pierre-et-Miquelon)
    32630, 32631, 32632,                                   # WGS 84 / UTM 30N, 31N, 32N
    25832, 25833,                                          # ETRS89 / UTM 32N, 33N (Germany)
    3857,                                                  # WGS 84 / Pseudo-Mercator
    4326,                                                  # WGS 84 (longitude, latitude)
)


def candidates() -> tuple[int, ...]:
    """:data:`CANDIDATES`, the storage CRS (``OVA_STORAGE_CRS``) first when it is not one of them."""
    srid = settings.storage_srid()
    return CANDIDATES if srid in CANDIDATES else (srid,) + CANDIDATES


#: Share of the sampled points that must land inside the candidate's and the territory's extents.
FIT_SHARE = 0.99
_SAMPLE = 2000


@dataclass(frozen=True)
class Fit:
    """A CRS the coordinates fit; ``in_territory`` is False for a CRS of another territory."""

    epsg: int
    name: str
    in_territory: bool

    def __str__(self) -> str:
        return f"EPSG:{self.epsg} ({self.name})"


@lru_cache(maxsize=None)
def _crs(epsg: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(epsg)


@lru_cache(maxsize=None)
def _to_lonlat(epsg: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(_crs(epsg), 4326, always_xy=True)


def area_of_use(epsg: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the EPSG database's area of use of ``epsg``."""
    area = _crs(epsg).area_of_use
    return (area.west, area.south, area.east, area.north) if area else (-180.0, -90.0, 180.0, 90.0)


def territory_extent(srid: int | None = None) -> tuple[float, float, float, float]:
    """The territory's largest extent in degrees: the area of use of the storage CRS."""
    return area_of_use(srid or settings.storage_srid())


#: Margin (degrees, ~10 km) around the loaded quartiers: data may reach a little beyond them.
EXTENT_MARGIN = 0.1


def loaded_extent(conn) -> tuple[float, float, float, float] | None:
    """Extent in degrees of the quartiers in the database, grown by :data:`EXTENT_MARGIN`; None if none."""
    from sqlalchemy import text

    row = conn.execute(text(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
        " SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, :srid), 4326) AS b"
        " FROM quartiers) e WHERE b IS NOT NULL"), {"srid": settings.storage_srid()}).first()
    if row is None or row[0] is None:
        return None
    return (row[0] - EXTENT_MARGIN, row[1] - EXTENT_MARGIN, row[2] + EXTENT_MARGIN, row[3] + EXTENT_MARGIN)


def _inside(lon, lat, box) -> np.ndarray:
    west, south, east, north = box
    return np.isfinite(lon) & np.isfinite(lat) & (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _intersects(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _sample(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) > _SAMPLE:
        pick = np.linspace(0, len(x) - 1, _SAMPLE).astype(int)
        x, y = x[pick], y[pick]
    return x, y


def share_geographic(x, y) -> float:
    """Share of the (sampled) points that are possible longitudes/latitudes (|x| ≤ 180, |y| ≤ 90)."""
    x, y = _sample(x, y)
    if not len(x):
        return 1.0
    return float(((np.abs(x) <= 180) & (np.abs(y) <= 90)).mean())


def looks_geographic(x, y) -> bool:
    """Whether (nearly) every coordinate is a possible longitude/latitude."""
    return share_geographic(x, y) >= FIT_SHARE


def fitting_crs(x, y, *, extent=None, exclude: int | None = None) -> list[Fit]:
    """The candidate CRSs the coordinates ``x``/``y`` fit, those of the territory first.

    A CRS fits when (nearly) all sampled points, read in it, land inside its area of use and
    inside the territory (for a CRS of another territory: inside its own area of use only).
    ``extent`` is the territory (degrees; default :func:`territory_extent`); ``exclude`` (the
    CRS already tried) is left out.
    """
    x, y = _sample(x, y)
    if not len(x):
        return []
    territory = extent or territory_extent()
    degrees = looks_geographic(x, y)  # metres of a projected CRS are never all within ±180/±90
    ours, others = [], []
    for epsg in candidates():
        if epsg == exclude:
            continue
        area = area_of_use(epsg)
        local = _intersects(area, territory)
        if _crs(epsg).is_geographic:
            lon, lat = x, y
        else:
            if degrees:
                continue
            lon, lat = _to_lonlat(epsg).transform(x, y, errcheck=False)
            lon, lat = np.asarray(lon), np.asarray(lat)
        inside = _inside(lon, lat, area) & (_inside(lon, lat, territory) if local else True)
        if inside.mean() >= FIT_SHARE:
            (ours if local else others).append(Fit(epsg, _crs(epsg).name, local))
    return ours + others


def _extent_text(x, y) -> str:
    x, y = _sample(x, y)
    def fmt(v: float) -> str:
        return f"{v:,.0f}".replace(",", " ") if abs(v) >= 1000 else f"{v:.6g}"
    return f"x {fmt(x.min())} … {fmt(x.max())}, y {fmt(y.min())} … {fmt(y.max())}"


def diagnosis(x, y, *, declared: str | None = None, declared_by: str = "", extent=None,
              option: str = "--crs") -> str:
    """A sentence saying which CRS the coordinates look like, and the ``--crs`` to pass.

    ``declared`` is the CRS the file declared or implied (or that the user gave), if any, and
    ``declared_by`` says by whom (`` (declared by the file)``); ``extent`` the territory in
    degrees (see :func:`fitting_crs`); ``option`` names where the user gives a CRS.
    """
    x, y = _sample(x, y)
    if not len(x):
        return ""
    exclude = None
    if declared:
        try:
            exclude = pyproj.CRS.from_user_input(declared).to_epsg()
        except pyproj.exceptions.CRSError:
            exclude = None
    fits = fitting_crs(x, y, extent=extent, exclude=exclude)
    if extent is not None and not any(f.in_territory for f in fits):
        fits = fitting_crs(x, y, exclude=exclude)  # beyond the loaded quartiers: the whole territory
    kind = "longitude/latitude" if looks_geographic(x, y) else "projected (metres)"
    start = f"the coordinates ({_extent_text(x, y)}) look {kind}"
    if declared:
        start += f", not {declared}{declared_by}"
    ours = [f for f in fits if f.in_territory]
    if ours:
        also = f" (or {', '.join(str(f) for f in ours[1:])})" if len(ours) > 1 else ""
        return f"{start}: they fit {ours[0]}{also}; pass {option} EPSG:{ours[0].epsg}"
    if fits:
        return (f"{start}: they fit {fits[0]}, outside the territory; "
                f"pass {option} EPSG:{fits[0].epsg} if that is right")
    tried = ", ".join(f"EPSG:{c}" for c in candidates() if c != exclude)
    return f"{start}: they fit none of the usual CRSs ({tried}); pass the right one with {option}"


def resolve(path, file_crs: str | None, given: str | None, x, y, *, default: str | None = None,
            extent=None, option: str = "--crs") -> tuple[str, str | None]:
    """The CRS of the coordinates ``x``/``y`` (a sample), and a note when the file's was overridden.

    The file's CRS wins, unless it is geographic and most coordinates cannot be degrees (the
    common Lambert-93 GeoJSON without a ``crs`` member, which GDAL reads as WGS 84): then ``given``
    (``--crs``) is used. Then ``given``, then ``default`` (a mapping's ``read.crs``). Without any,
    or with coordinates that cannot be in the CRS, the error says which CRS they fit
    (:func:`ova.crs.diagnosis`). Never guessed silently.
    """
    def parse(crs: str, what: str) -> pyproj.CRS:
        try:
            return pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as err:
            raise DataFileError(path, f"unknown CRS '{crs}' ({what})") from err

    has_coordinates = bool(np.isfinite(np.asarray(x, dtype=float)).any())
    # Most points beyond ±180/±90: the CRS cannot be right (a few such rows are rejected one by one).
    degrees = share_geographic(x, y) >= 0.5
    if file_crs:
        declared = parse(file_crs, "declared by the file")
        # Degrees in a file that declares metres (a wrong .prj) are as impossible as the converse.
        impossible = has_coordinates and (not degrees if declared.is_geographic else looks_geographic(x, y))
        if given:
            wanted = parse(given, option)
            if wanted == declared:
                return file_crs, None
            if impossible:
                return given, f"file-crs={file_crs} ignored (its coordinates do not fit it)"
            raise DataFileError(path, f"the file declares {file_crs} but {option} says {given}")
        if impossible:
            hint = diagnosis(x, y, declared=file_crs, declared_by=" (declared or implied by the file)",
                             extent=extent, option=option)
            raise DataFileError(path, hint, field="geometry")
        return file_crs, None
    if given:
        parse(given, option)
        return given, None
    if default:
        if parse(default, "of the mapping").is_geographic and has_coordinates and not degrees:
            hint = diagnosis(x, y, declared=default, declared_by=" (the mapping's read.crs)", extent=extent,
                             option=option)
            raise DataFileError(path, hint, field="geometry")
        return default, None
    hint = diagnosis(x, y, extent=extent, option=option) if has_coordinates else ""
    raise DataFileError(path, "no CRS in the file" + (f"; {hint}" if hint else f"; give one with {option} EPSG:XXXX"),
                        field="geometry")


def coordinates_sample(geoms: np.ndarray, limit: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """x and y of up to ``limit`` vertices spread over ``geoms`` (missing and empty ones skipped)."""
    present = geoms[~shapely.is_missing(geoms)]
    if len(present) > limit:
        present = present[np.linspace(0, len(present) - 1, limit).astype(int)]
    coords = shapely.get_coordinates(present)
    if len(coords) > limit:
        coords = coords[np.linspace(0, len(coords) - 1, limit).astype(int)]
    return coords[:, 0], coords[:, 1]
