"""Basemap tiles: cold render time and size per zoom, as ratios of a raw ST_AsMVT of the same streets.

    source var/demo.env && .venv/bin/python bench/basemap.py [--tiles 12] [--browser]

Needs the streets loaded (``ova load basemap``, done by ``make demo``) and the catalogue layer
``fond-de-plan`` (``ova layers seed``). For each zoom 12–18 it draws ``--tiles`` tiles at random
(seeded) inside central Paris and measures, in the same run and on the same connection:

- the reference: one bare ``ST_AsMVT`` of the streets of the tile (the stored Web Mercator
  geometry, no property but the name), what a minimal vector-tile server would do;
- the portal's raster tile (``layers.basemap.render_tile``), at 256 px and at 512 px (@2x), cold
  (no cache: rendered each time);
- the portal's vector tile of the same layer (``/tiles/fond-de-plan``, ``layers.tiles``), cold.

``--browser`` then opens the same three views (z13, z15, z17 over Châtelet) in headless Chromium
with each basemap, the raster one and the vector one drawn by Leaflet.VectorGrid (width by street
type; it cannot write names), cold caches on both sides, and prints the time until every tile is
drawn and the bytes transferred.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/etl.py would hide the etl package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import morecantile
from sqlalchemy import create_engine, text

from layers import basemap
from layers.catalogue import source_of
from layers.tiles import render_tile as render_mvt
from layers.tiles import tile_bounds
from ova.db import normalise_url
from ova.settings import database_url

TMS = morecantile.tms.get("WebMercatorQuad")
CENTRAL = (2.30, 48.835, 2.40, 48.885)  # west, south, east, north
VIEWS = {13: (48.8584, 2.3470), 15: (48.8584, 2.3470), 17: (48.8584, 2.3470)}

RAW_MVT = text("""
SELECT ST_AsMVT(q, 'streets', 4096, 'geom') FROM (
  SELECT name, ST_AsMVTGeom(geom_3857, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), 4096, 64, true) AS geom
  FROM basemap_features WHERE geom_3857 && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857)) q
WHERE q.geom IS NOT NULL""")


def _tiles(z: int, n: int, rng: random.Random) -> list[tuple[int, int, int]]:
    west, south, east, north = CENTRAL
    found = {(t.z, t.x, t.y) for t in TMS.tiles(west, south, east, north, [z])}
    return rng.sample(sorted(found), min(n, len(found)))


def _timed(fn) -> tuple[float, int, float]:
    """Wall milliseconds, bytes, and milliseconds of this process's CPU (the drawing, without the
    database's share and without the time spent waiting for a core on a busy machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    size = len(fn())
    return (time.perf_counter() - start) * 1000, size, (time.process_time() - cpu) * 1000


def bench_tiles(conn, n: int) -> None:
    rng = random.Random(42)
    layer = conn.execute(text("SELECT * FROM layers WHERE slug = :s"), {"s": basemap.LAYER_SLUG}).first()
    source = source_of(conn, layer) if layer else None
    print(f"{'z':>2} {'tiles':>5} | {'raw ST_AsMVT':>16} | {'raster 256 px':>27} | {'raster @2x':>27} | "
          f"{'vector /tiles':>27}")
    head = f"{'ms med/max':>10} {'KB':>5} {'cpu':>4} {'×ref':>5}"
    print(f"{'':>2} {'':>5} | {'ms med/max':>10} {'KB':>5} | {head} | {head} | {head}")
    worst = 0.0
    for z in range(12, 19):
        results = {"raw": [], "png": [], "png2": [], "mvt": []}
        for _, x, y in _tiles(z, n, rng):
            x0, y0, x1, y1 = tile_bounds(z, x, y)
            results["raw"].append(_timed(lambda: bytes(conn.execute(
                RAW_MVT, {"x0": x0, "y0": y0, "x1": x1, "y1": y1}).scalar() or b"")))
            results["png"].append(_timed(lambda: basemap.render_tile(conn, z, x, y, 1)))
            results["png2"].append(_timed(lambda: basemap.render_tile(conn, z, x, y, 2)))
            if source is not None:
                results["mvt"].append(_timed(lambda: render_mvt(conn, source, layer.slug, z, x, y)))
        ref = statistics.median(t for t, *_ in results["raw"])

        def cell(kind: str, ratio: bool = True) -> str:
            if not results[kind]:
                return f"{'—':>10} {'':>5} {'':>4}" + (f" {'':>5}" if ratio else "")
            times = [t for t, *_ in results[kind]]
            kb = statistics.median(s for _, s, _ in results[kind]) / 1024
            out = f"{statistics.median(times):>4.0f}/{max(times):>5.0f} {kb:>5.1f}"
            if kind != "raw":
                out += f" {statistics.median(c for *_, c in results[kind]):>4.0f}"
            return out + (f" {statistics.median(times) / ref:>5.1f}" if ratio else "")

        worst = max(worst, *(t for kind in ("png", "png2") for t, *_ in results[kind]))
        print(f"{z:>2} {len(results['raw']):>5} | {cell('raw', False)} | {cell('png')} | {cell('png2')} | "
              f"{cell('mvt')}")
    print(f"slowest cold raster tile: {worst:.0f} ms (budget 300 ms)")


_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script src="/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"></script>
<style>html,body,#m{margin:0;height:100%}</style></head><body><div id="m"></div></body></html>"""

_START = """([kind, lat, lon, z, version]) => new Promise(done => {
  const map = L.map('m', {zoomControl: false}).setView([lat, lon], z);
  const t0 = performance.now();
  let layer;
  if (kind === 'raster') {
    layer = L.tileLayer('/basemap/{z}/{x}/{y}{r}.png?v=' + version, {maxZoom: 20});
  } else {
    const width = {1: [2, 4, 8, 14], 2: [1, 2, 5, 10], 3: [0.5, 1, 3, 6]};
    layer = L.vectorGrid.protobuf('/tiles/fond-de-plan/{z}/{x}/{y}.pbf?v=' + version, {
      rendererFactory: L.canvas.tile, maxZoom: 20,
      vectorTileLayerStyles: {'fond-de-plan': (p, zoom) => ({
        weight: width[p.rank][Math.max(0, Math.min(3, Math.floor((zoom - 12) / 2)))],
        color: p.rank === 1 ? '#f0c45a' : '#bdb6ac'})}});
  }
  layer.on('load', () => requestAnimationFrame(() => done({
    ms: performance.now() - t0,
    bytes: performance.getEntriesByType('resource').filter(e => /basemap|tiles/.test(e.name))
             .reduce((s, e) => s + e.encodedBodySize, 0),
    tiles: performance.getEntriesByType('resource').filter(e => /basemap|tiles/.test(e.name)).length})));
  layer.addTo(map);
})"""


def bench_browser(url: str) -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from portal import create_app

    app = create_app({"DATABASE_URL": url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with create_engine(normalise_url(url)).connect() as conn:
        version = basemap.version(conn)
    print("\nIn Chromium, 1280×800, cold caches (server and browser), median of 3:")
    print(f"{'view':>8} | {'raster (names)':>24} | {'VectorGrid (no names)':>24} | raster/vector time")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        for z, (lat, lon) in VIEWS.items():
            row = {}
            for kind in ("raster", "vector"):
                runs = []
                for _ in range(3):
                    for cache in ("ova_basemap_cache", "ova_tile_cache"):
                        if cache in app.extensions:
                            app.extensions[cache].clear()
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.route(base + "/__bench__", lambda r: r.fulfill(body=_PAGE, content_type="text/html"))
                    page.goto(base + "/__bench__")
                    runs.append(page.evaluate(_START, [kind, lat, lon, z, version]))
                    context.close()
                runs.sort(key=lambda r: r["ms"])
                row[kind] = runs[1]
            r, v = row["raster"], row["vector"]
            print(f"{'z' + str(z):>8} | {r['ms']:>6.0f} ms {r['bytes'] / 1024:>6.0f} KB {r['tiles']:>3} t | "
                  f"{v['ms']:>6.0f} ms {v['bytes'] / 1024:>6.0f} KB {v['tiles']:>3} t | {r['ms'] / v['ms']:>5.2f}")
        browser.close()
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=12, help="tiles per zoom (default 12)")
    parser.add_argument("--browser", action="store_true", help="also compare raster and vector in Chromium")
    args = parser.parse_args()
    url = database_url()
    with create_engine(normalise_url(url)).connect() as conn:
        count = conn.scalar(text("SELECT count(*) FROM basemap_features"))
        if not count:
            raise SystemExit("no basemap loaded: run `ova load basemap geodata/basemap/paris_voies_ville_de_paris.gpkg`")
        print(f"{count} basemap features; {args.tiles} random central-Paris tiles per zoom, cold\n")
        bench_tiles(conn, args.tiles)
    if args.browser:
        bench_browser(url)


if __name__ == "__main__":
    main()
