"""The portal's own basemap: street-map raster tiles rendered from ``basemap_features``.

Why raster rendered here rather than vector tiles drawn by the browser: the only vector renderer
the portal ships (Leaflet.VectorGrid) draws no text, and a street map without street names is
not one; server-side the names are placed once per tile, with a halo and without collisions, and
any client (Leaflet, QGIS, a phone) shows the same map from a plain XYZ URL. Measured in
Chromium on the same views (``bench/basemap.py --browser``, README "Basemap"): 2 to 27 times
fewer bytes than VectorGrid's tiles, drawn sooner at z13 and later at z15–z17 (cold caches).

One SQL statement per tile (PostGIS clips, transforms to Web Mercator and snaps to the pixel
grid with ``ST_AsMVTGeom``), then Pillow draws: polygons (green spaces, water, buildings), street
casings then fills by rank (width by street type and zoom), then names along the longest straight
run of each street at high zooms. Lines of 256 px tiles are drawn at twice the size and reduced
(anti-aliasing); names are drawn at the final size. The page's land colour is the map
container's background (``ova.css``): tiles are transparent around the streets.
"""
from __future__ import annotations

import functools
import io
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import text

from layers.tiles import tile_bounds
from ova.errors import InvalidInput
from ova.settings import basemap_font

LOGGER = logging.getLogger(__name__)

TILE_SIZE = 256
#: Zooms the basemap is drawn at (below: the city is a few pixels wide; above: Leaflet upscales).
MIN_ZOOM, MAX_ZOOM = 11, 19
#: Supersampling factor of lines and polygons, by tile scale: 256 px tiles are drawn at 512 and
#: reduced (anti-aliasing); 512 px tiles, for screens of twice the density, are drawn as they are.
SUPERSAMPLE = {1: 2, 2: 1}
#: Pixels of margin around a tile whose features are fetched (wide lines crossing the edge).
MARGIN = 24

#: Slug of the catalogue layer over ``basemap_features``: its ``data_version`` (bumped by every
#: ``ova load basemap`` in the load's transaction) keys the tile cache and the ETags.
LAYER_SLUG = "fond-de-plan"

POLYGON_FILL = {"green": (205, 232, 192, 255), "water": (170, 211, 223, 255), "buildings": (217, 208, 201, 255)}
WATER_LINE = (150, 195, 215, 255)
#: Street colours by rank: (casing, fill).
STREET_COLOURS = {1: ((214, 178, 96, 255), (252, 231, 160, 255)),
                  2: ((196, 190, 180, 255), (255, 255, 255, 255)),
                  3: ((204, 199, 190, 255), (255, 255, 255, 255))}
#: Until streets have casings (z14), white hairlines vanish on the land colour: the street
#: grid is drawn in grey and the main streets in a deeper yellow.
THIN_STREET_COLOURS = {1: (240, 196, 90, 255), 2: (190, 184, 174, 255), 3: (206, 201, 193, 255)}
LABEL_COLOUR = (51, 51, 51, 255)
HALO = (255, 255, 255, 235)


@dataclass(frozen=True)
class ZoomStyle:
    """Street widths (pixels at 256 px tiles) by rank, and which ranks are named, at one zoom."""

    widths: dict[int, float]
    named_ranks: tuple[int, ...] = ()
    font_size: int = 11


#: Streets widen with the zoom about like their real width does (a boulevard ~30 m, a rue ~12 m,
#: a passage ~6 m), capped so that names stay readable. Like tippecanoe's drop by zoom, a tile
#: shows only what its scale can carry: boulevards and avenues at z11–z12 (600 lines instead of
#: 2 500 in a z12 tile of central Paris), the rues from z13, passages and villas from z14; names
#: of the main streets from z15, of all from z17.
ZOOM_STYLES = {
    11: ZoomStyle({1: 1.0}),
    12: ZoomStyle({1: 1.6}),
    13: ZoomStyle({1: 2.4, 2: 0.9}),
    14: ZoomStyle({1: 3.6, 2: 1.8, 3: 0.9}),
    15: ZoomStyle({1: 6.0, 2: 3.2, 3: 1.8}, named_ranks=(1,), font_size=11),
    16: ZoomStyle({1: 10.0, 2: 6.0, 3: 3.6}, named_ranks=(1, 2), font_size=11),
    17: ZoomStyle({1: 16.0, 2: 11.0, 3: 7.0}, named_ranks=(1, 2, 3), font_size=12),
    18: ZoomStyle({1: 26.0, 2: 18.0, 3: 12.0}, named_ranks=(1, 2, 3), font_size=13),
    19: ZoomStyle({1: 40.0, 2: 28.0, 3: 18.0}, named_ranks=(1, 2, 3), font_size=14),
}

_TILE_SQL = """
SELECT theme, rank, name, short_name,
       ST_AsBinary(ST_AsMVTGeom(ST_Simplify(geom_3857, :tolerance, true), ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857),
                                :extent, :buffer, true)) AS wkb
FROM basemap_features
WHERE geom_3857 && ST_MakeEnvelope(:mx0, :my0, :mx1, :my1, 3857)
  AND (theme <> 'streets' OR rank <= :max_rank)
ORDER BY CASE theme WHEN 'green' THEN 0 WHEN 'water' THEN 1 WHEN 'buildings' THEN 2 ELSE 3 END, rank DESC, id
"""


def version(conn) -> int | None:
    """The basemap's data version (its catalogue layer's ``data_version``), None when not declared."""
    return conn.scalar(text("SELECT data_version FROM layers WHERE slug = :slug"), {"slug": LAYER_SLUG})


def attribution(conn) -> str | None:
    """The attribution of the loaded basemap data (its catalogue layer's), None without one."""
    return conn.scalar(text("SELECT attribution FROM layers WHERE slug = :slug"), {"slug": LAYER_SLUG})


def coverage(conn) -> list[list[float]]:
    """WGS 84 boxes ``[west, south, east, north]`` of the loaded basemap, one per source."""
    rows = conn.execute(text(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
        "SELECT ST_Transform(ST_SetSRID(ST_Extent(geom_3857)::geometry, 3857), 4326) AS b "
        "FROM basemap_features GROUP BY source) e ORDER BY 1"))
    return [[round(v, 5) for v in row] for row in rows]


_FONTS: dict[int, ImageFont.FreeTypeFont] = {}
_EMPTY: dict[int, bytes] = {}


def _font(size: int) -> ImageFont.FreeTypeFont:
    """The labels' font at ``size`` pixels: DejaVu Sans (``fonts-dejavu-core``, installed by setup),
    or the file named by ``OVA_BASEMAP_FONT``. Pillow's built-in font has no accented capitals
    nor "é" in every size, hence a real one; without it names are still drawn (with a warning)."""
    if size not in _FONTS:
        path = basemap_font()
        try:
            _FONTS[size] = ImageFont.truetype(path, size)
        except OSError:
            LOGGER.warning("basemap font %s not found (apt install fonts-dejavu-core, or set "
                           "OVA_BASEMAP_FONT): street names use Pillow's font, without some accents", path)
            _FONTS[size] = ImageFont.load_default(size)
    return _FONTS[size]


@functools.lru_cache(maxsize=50_000)
def _text_width(label: str, size: int) -> float:
    """Width in pixels of ``label`` at ``size`` (names repeat from tile to tile: measured once)."""
    return _font(size).getlength(label)


@functools.lru_cache(maxsize=4096)
def _stamp(label: str, size: int, scale: int) -> Image.Image:
    """``label`` written with its halo on a transparent image (rotated per street by the caller)."""
    font = _font(size)
    ascent, descent = font.getmetrics()
    pad = 2 * scale
    stamp = Image.new("RGBA", (math.ceil(_text_width(label, size)) + 2 * pad, ascent + descent + 2 * pad), (0, 0, 0, 0))
    ImageDraw.Draw(stamp).text((pad, pad), label, font=font, fill=LABEL_COLOUR, stroke_width=scale + 1, stroke_fill=HALO)
    return stamp


def empty_tile(scale: int = 1) -> bytes:
    """A transparent PNG tile (outside the data)."""
    if scale not in _EMPTY:
        buffer = io.BytesIO()
        Image.new("RGBA", (TILE_SIZE * scale,) * 2, (0, 0, 0, 0)).save(buffer, "PNG", optimize=True)
        _EMPTY[scale] = buffer.getvalue()
    return _EMPTY[scale]


@dataclass
class Feature:
    """One feature of a tile: its attributes and the flat pixel coordinates of its paths."""

    theme: str
    rank: int
    name: str | None
    short_name: str | None
    polygonal: bool
    length: float
    #: Each line or polygon ring as a flat list ``[x0, y0, x1, y1, …]`` (what Pillow draws fastest).
    paths: list = field(default_factory=list)


def fetch(conn, z: int, x: int, y: int, extent: int, margin_px: int) -> list[Feature]:
    """Features of tile z/x/y in pixels of an ``extent``-wide tile (y down), in drawing order."""
    style = ZOOM_STYLES[z]
    x0, y0, x1, y1 = tile_bounds(z, x, y)
    m = (x1 - x0) * margin_px / TILE_SIZE
    rows = conn.execute(text(_TILE_SQL), {
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "mx0": x0 - m, "my0": y0 - m, "mx1": x1 + m, "my1": y1 + m,
        "extent": extent, "buffer": int(extent * margin_px / TILE_SIZE), "max_rank": max(style.widths),
        "tolerance": (x1 - x0) / extent / 2,  # half a drawing pixel: invisible, and fewer points to draw
    }).all()
    rows = [r for r in rows if r.wkb is not None]
    if not rows:
        return []
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
    kinds = shapely.get_type_id(geoms)
    polygonal = (kinds == 3) | (kinds == 6)
    features = [Feature(r.theme, r.rank, r.name, r.short_name, bool(p), float(n))
                for r, p, n in zip(rows, polygonal, shapely.length(geoms))]
    # Every line and polygon ring of every feature as one coordinate array, split once.
    parts, owner = shapely.get_parts(geoms, return_index=True)
    ring_parts = shapely.get_type_id(parts) == 3
    rings, ring_of = shapely.get_rings(parts[ring_parts], return_index=True)
    paths = np.concatenate([parts[~ring_parts], rings])
    path_owner = np.concatenate([owner[~ring_parts], owner[ring_parts][ring_of]])
    coords, path_index = shapely.get_coordinates(paths, return_index=True)
    if not len(coords):
        return features
    cuts = np.flatnonzero(np.diff(path_index)) + 1
    for path_no, chunk in zip(path_index[np.r_[0, cuts]], np.split(coords, cuts)):
        if len(chunk) >= 2:
            features[path_owner[path_no]].paths.append(chunk.ravel().tolist())
    return features


def _draw_geometries(features: list[Feature], style: ZoomStyle, size: int, k: float) -> Image.Image:
    """Polygons and street lines at ``size`` pixels (``k`` pixels per 256-tile pixel)."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    streets = []
    for f in features:
        if f.theme == "streets":
            streets.append(f)
        elif f.polygonal:
            fill = POLYGON_FILL.get(f.theme, POLYGON_FILL["buildings"])
            for path in f.paths:  # holes filled too: courtyards and islands are small at these zooms
                draw.polygon(path, fill=fill)
        else:
            for path in f.paths:
                draw.line(path, fill=WATER_LINE, width=max(1, round(2 * k)), joint="curve")
    casing = 0.8 * k if style.widths[1] >= 3 else 0  # casings only once streets are wide
    for layer in (("casing", "fill") if casing else ("fill",)):
        for f in streets:
            width = style.widths.get(f.rank)
            if not width:
                continue
            colour = (STREET_COLOURS[f.rank][0 if layer == "casing" else 1] if casing
                      else THIN_STREET_COLOURS[f.rank])
            w = max(1, round(width * k + (2 * casing if layer == "casing" else 0)))
            ink = draw._getink(colour)[0]
            for path in f.paths:
                # Round joints and caps only where a square corner would show (wide lines);
                # thin lines go straight to Pillow's C drawing (ImageDraw.line's own Python
                # costs as much as the drawing for the thousands of short streets of a tile).
                if w > 7:
                    draw.line(path, fill=colour, width=w, joint="curve")
                else:
                    draw.draw.draw_lines(path, ink, w)
                if w > 4:
                    r = w / 2
                    for cx, cy in ((path[0], path[1]), (path[-2], path[-1])):
                        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    return image


def _straight_run(path: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray] | None:
    """End points of the longest nearly straight run of ``path`` (after simplification)."""
    simple = np.asarray(shapely.simplify(shapely.LineString(path), tolerance).coords)
    if len(simple) < 2:
        return None
    lengths = np.hypot(*(simple[1:] - simple[:-1]).T)
    i = int(np.argmax(lengths))
    return simple[i], simple[i + 1]


def _place_labels(image: Image.Image, features: list[Feature], style: ZoomStyle, scale: int, k: float) -> int:
    """Write street names along their longest straight run, inside the tile, without overlaps.

    The full name when it fits, else the short one ("Bd de Sébastopol"); important streets
    first. Only names wholly inside the tile are written, so none is cut at a tile edge.
    """
    size = image.size[0]
    taken: list[tuple[float, float, float, float]] = []
    candidates = [f for f in features
                  if f.theme == "streets" and f.rank in style.named_ranks and (f.short_name or f.name)]
    candidates.sort(key=lambda f: (f.rank, -f.length))
    pad = 2 * scale
    for f in candidates:
        runs = []
        for path in f.paths:
            run = _straight_run(np.asarray(path).reshape(-1, 2) * (scale / k), tolerance=1.5 * scale)
            if run is not None:
                runs.append(run)
        if not runs:
            continue
        (ax, ay), (bx, by) = max(runs, key=lambda r: math.dist(r[0], r[1]))
        length = math.hypot(bx - ax, by - ay)
        label = next((n for n in (f.name, f.short_name)
                      if n and _text_width(n, style.font_size * scale) + 6 * scale <= length), None)
        if label is None:
            continue
        if bx < ax:  # read left to right
            ax, ay, bx, by = bx, by, ax, ay
        angle = math.degrees(math.atan2(by - ay, bx - ax))
        stamp = _stamp(label, style.font_size * scale, scale)
        # The box of the rotated name, checked before paying for the rotation.
        cos, sin = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
        half_w = (stamp.width * cos + stamp.height * sin) / 2 - pad
        half_h = (stamp.width * sin + stamp.height * cos) / 2 - pad
        cx, cy = (ax + bx) / 2, (ay + by) / 2
        inner = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        if inner[0] < 0 or inner[1] < 0 or inner[2] > size or inner[3] > size:
            continue
        if any(not (inner[2] < t[0] or inner[0] > t[2] or inner[3] < t[1] or inner[1] > t[3]) for t in taken):
            continue
        rotated = stamp.rotate(-angle, resample=Image.BICUBIC, expand=True)
        image.alpha_composite(rotated, (round(cx - rotated.width / 2), round(cy - rotated.height / 2)))
        taken.append(inner)
    return len(taken)


def render_tile(conn, z: int, x: int, y: int, scale: int = 1) -> bytes:
    """PNG bytes of basemap tile z/x/y (``scale`` 2 for high-density screens: 512 px)."""
    if scale not in (1, 2):
        raise InvalidInput("scale must be 1 or 2")
    tile_bounds(z, x, y)  # checks the grid
    if z not in ZOOM_STYLES:
        return empty_tile(scale)
    style = ZOOM_STYLES[z]
    size = TILE_SIZE * scale
    big = size * SUPERSAMPLE[scale]
    features = fetch(conn, z, x, y, big, MARGIN)
    if not features:
        return empty_tile(scale)
    k = big / TILE_SIZE
    image = _draw_geometries(features, style, big, k)
    if big != size:
        image = image.reduce(big // size)  # a box filter: as smooth as Lanczos here, 20× faster
    if style.named_ranks:
        _place_labels(image, features, style, scale, k)
    buffer = io.BytesIO()
    # A street map has few colours: a 64-colour palette (alpha kept) is a third of the bytes.
    image.quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()
