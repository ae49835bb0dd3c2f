"""The portal's own basemap: raster street tiles, their cache and ETags, the vector layer, the map config."""
import io

import mapbox_vector_tile
import morecantile
import numpy as np
import pyogrio
import pytest
from PIL import Image
from shapely.geometry import box
from sqlalchemy import text

from etl.targets import load
from layers import basemap
from tests.builders import GEODATA

VOIES = GEODATA / "basemap" / "paris_voies_ville_de_paris.gpkg"
TMS = morecantile.tms.get("WebMercatorQuad")
CHATELET = (2.3470, 48.8584)  # rue de Rivoli, place du Châtelet


@pytest.fixture(scope="module")
def central_voies(tmp_path_factory):
    """The shipped streets of central Paris (1er–4e and around), as a smaller GeoPackage."""
    frame = pyogrio.read_dataframe(VOIES)
    central = frame[frame.intersects(box(2.325, 48.845, 2.375, 48.870))]
    path = tmp_path_factory.mktemp("basemap") / "voies_centre.gpkg"
    pyogrio.write_dataframe(central, path, layer="voies")
    return path, len(central)


@pytest.fixture
def streets(connection, central_voies):
    """Central streets loaded, with the catalogue layer that versions the basemap."""
    connection.execute(text(
        "INSERT INTO layers (slug, title, licence, attribution, producer_id, source_table, geometry_type) "
        "VALUES ('fond-de-plan', 'Fond de plan des rues', 'ODbL 1.0', 'Ville de Paris – opendata.paris.fr (ODbL 1.0)', "
        "(SELECT id FROM producers WHERE slug = 'sig'), 'basemap_features', 'Geometry')"))
    load(connection, "basemap", central_voies[0])
    return central_voies


def _tile(z, lon=CHATELET[0], lat=CHATELET[1]):
    t = TMS.tile(lon, lat, z)
    return t.z, t.x, t.y


def _png(response) -> Image.Image:
    assert response.status_code == 200 and response.mimetype == "image/png"
    return Image.open(io.BytesIO(response.data)).convert("RGBA")


def test_central_paris_tile_draws_streets_and_their_names(client, streets):
    z, x, y = _tile(17)
    image = _png(client.get(f"/basemap/{z}/{x}/{y}.png"))
    assert image.size == (256, 256)
    pixels = np.asarray(image)
    opaque = pixels[..., 3] > 200
    drawn = opaque.mean()
    text_pixels = int((opaque & (pixels[..., :3].max(axis=2) < 90)).sum())
    assert drawn > 0.25, f"streets cover only {drawn:.0%} of the tile"
    assert text_pixels > 60, "no street name written"
    # The high-density version is the same map at 512 px.
    assert _png(client.get(f"/basemap/{z}/{x}/{y}@2x.png")).size == (512, 512)


@pytest.mark.parametrize("z", range(12, 19))
def test_every_readable_zoom_draws_streets(client, streets, z):
    image = _png(client.get("/basemap/{}/{}/{}.png".format(*_tile(z))))
    assert (np.asarray(image)[..., 3] > 200).sum() > 500


def test_central_paris_vector_tile_holds_named_streets(client, streets):
    z, x, y = _tile(16)
    response = client.get(f"/tiles/fond-de-plan/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    layer = mapbox_vector_tile.decode(response.data)["fond-de-plan"]
    names = {f["properties"]["name"] for f in layer["features"]}
    assert {"Rue de Rivoli", "Place du Châtelet", "Boulevard de Sébastopol"} <= names
    kinds = {f["properties"]["name"]: f["properties"]["rank"] for f in layer["features"]}
    assert kinds["Boulevard de Sébastopol"] == 1 and kinds["Rue de Rivoli"] == 2


def test_a_tile_outside_the_street_data_is_transparent(client, streets):
    z, x, y = _tile(15, -1.5536, 47.2184)  # Nantes: no street data
    response = client.get(f"/basemap/{z}/{x}/{y}.png")
    assert response.data == basemap.empty_tile()
    assert _png(response).getextrema()[3] == (0, 0)


def test_tiles_are_cached_and_a_reload_invalidates_them(app, client, connection, streets, tmp_path):
    z, x, y = _tile(16)
    version = basemap.version(connection)
    first = client.get(f"/basemap/{z}/{x}/{y}.png?v={version}")
    assert first.headers["Cache-Control"] == "public, max-age=86400"
    assert client.get(f"/basemap/{z}/{x}/{y}.png").headers["Cache-Control"] == "public, max-age=60"
    again = client.get(f"/basemap/{z}/{x}/{y}.png", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert app.extensions["ova_basemap_cache"].hits >= 1
    # A reload without the boulevard de Sébastopol bumps the version: new ETag, new image.
    frame = pyogrio.read_dataframe(streets[0])
    newer = tmp_path / "voies.gpkg"
    pyogrio.write_dataframe(frame[frame["l_longmin"] != "Boulevard de Sébastopol"], newer, layer="voies")
    summary = load(connection, "basemap", newer)
    assert summary.extra["removed (no longer in the file)"] == 1
    assert basemap.version(connection) == version + 1
    after = client.get(f"/basemap/{z}/{x}/{y}.png", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    assert after.data != first.data


@pytest.mark.parametrize("url", ["/basemap/25/0/0.png", "/basemap/3/9/0.png"])
def test_tiles_off_the_grid_are_refused(client, url):
    assert client.get(url).status_code == 400


def test_every_map_gets_the_portal_basemap_with_its_attribution(client, connection, streets):
    connection.execute(text("UPDATE layers SET attribution = '<img src=x onerror=alert(1)> Ville' "
                            "WHERE slug = 'fond-de-plan'"))
    page = client.get("/").text
    assert "OVABasemap.basemap(" in page and "/static/js/ova-basemap.js" in page
    assert "/basemap/{z}/{x}/{y}{r}.png?v=" in page
    # The producers' attribution is escaped before Leaflet writes it as HTML.
    assert "Fond de plan : \\u0026lt;img src=x onerror=alert(1)\\u0026gt; Ville" in page
    assert "<img src=x" not in page
    # The covered area, so that maps elsewhere (Nantes) say there are no streets.
    config = client.application.extensions["ova_basemap_config"]
    (entry,) = config.values()
    ((west, south, east, north),) = entry["coverage"]
    assert 2.22 < west < 2.33 and 48.81 < south < 48.85 and 2.37 < east < 2.47 and 48.87 < north < 48.91


def test_basemap_url_replaces_the_portal_basemap(db_url, connection, streets):
    from portal import create_app, database

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x",
                      "BASEMAP_URL": "https://data.geopf.fr/wmts?layer=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2"
                                     "&style=normal&tilematrixset=PM&Service=WMTS&Request=GetTile&Version=1.0.0"
                                     "&Format=image/png&TileMatrix={z}&TileCol={x}&TileRow={y}",
                      "BASEMAP_ATTRIBUTION": "© IGN – Plan IGN"})
    database.bind(app, connection)
    try:
        page = app.test_client().get("/").text
    finally:
        database.dispose(app)
    assert "TileMatrix={z}\\u0026TileCol={x}" in page or "TileMatrix={z}&TileCol={x}" in page
    assert "Plan IGN" in page and "/basemap/{z}" not in page
