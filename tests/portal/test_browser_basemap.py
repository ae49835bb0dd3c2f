"""The portal's street basemap under the maps, in headless Chromium (screenshots kept in test-artifacts/)."""
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from PIL import Image
from shapely.geometry import box
from sqlalchemy import text

from etl.targets import load
from portal.auth.services import hash_password
from tests.builders import GEODATA, PASSWORD

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EMAIL = "urba-basemap@example.org"
LAND = np.array([242, 239, 233])


@pytest.fixture(scope="module")
def streets(engine, tmp_path_factory):
    """Committed central-Paris streets (and the layer versioning them), Paris and Nantes quartiers."""
    frame = pyogrio.read_dataframe(GEODATA / "basemap" / "paris_voies_ville_de_paris.gpkg")
    path = tmp_path_factory.mktemp("basemap") / "voies_centre.gpkg"
    pyogrio.write_dataframe(frame[frame.intersects(box(2.32, 48.845, 2.38, 48.875))], path, layer="voies")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO layers (slug, title, licence, attribution, producer_id, source_table, geometry_type) "
            "VALUES ('fond-de-plan', 'Fond de plan des rues', 'ODbL 1.0', 'Ville de Paris – opendata.paris.fr (ODbL 1.0)', "
            "(SELECT id FROM producers WHERE slug = 'sig'), 'basemap_features', 'Geometry')"))
        conn.execute(text("INSERT INTO users (email, name, password_hash, role) VALUES (:e, 'Urba', :h, 'urbaniste')"),
                     {"e": EMAIL, "h": hash_password(PASSWORD)})
    load(engine, "basemap", path)
    load(engine, "quartiers", GEODATA / "paris" / "paris_quartiers_administratifs.geojson", preset="paris-quartiers")
    load(engine, "quartiers", GEODATA / "nantes" / "nantes_metropole_quartiers.geojson", preset="nantes-quartiers")
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM basemap_features"))
        conn.execute(text("DELETE FROM layers WHERE slug = 'fond-de-plan'"))
        conn.execute(text("DELETE FROM users WHERE email = :e"), {"e": EMAIL})
        conn.execute(text("DELETE FROM quartiers"))


def _map_screenshot(page, name: str) -> np.ndarray:
    """Wait for the basemap tiles, then screenshot the map; its pixels (RGB)."""
    page.wait_for_function(
        "document.querySelectorAll('.ova-basemap-tiles img.leaflet-tile-loaded').length >= 4 && "
        "document.querySelectorAll('.ova-basemap-tiles img:not(.leaflet-tile-loaded)').length === 0")
    target = ARTIFACTS / f"basemap_{name}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".leaflet-container").first.screenshot(path=str(target))
    return np.asarray(Image.open(target).convert("RGB")).astype(int)


def _street_shares(pixels: np.ndarray) -> tuple[float, float, float]:
    """Shares of the map that are street white, main-street yellow and land colour."""
    white = (pixels.min(axis=2) >= 250).mean()
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    yellow = ((r > 225) & (g > 180) & (r - b > 60)).mean()
    land = (np.abs(pixels - LAND).max(axis=2) <= 3).mean()
    return white, yellow, land


def test_streets_and_names_under_a_quartier_map(page, live_server, streets):
    page.goto(f"{live_server}/quartiers/7510102")  # Halles
    pixels = _map_screenshot(page, "quartier_halles")
    white, yellow, land = _street_shares(pixels)
    assert white > 0.08 and yellow > 0.004 and land > 0.2, f"streets {white:.0%}, main {yellow:.1%}, land {land:.0%}"
    # The tiles are the portal's own, at the size the screen needs, and credited.
    sources = page.evaluate("[...document.querySelectorAll('.ova-basemap-tiles img')].map(i => i.src)")
    assert all("/basemap/16/" in s and "?v=" in s for s in sources)
    assert "Fond de plan : Ville de Paris – opendata.paris.fr" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".ova-basemap-notice").is_hidden()
    page.watch.assert_clean()


def test_nantes_map_says_it_has_no_street_data(page, live_server, streets):
    page.goto(f"{live_server}/?commune=Nantes")
    notice = page.locator(".ova-basemap-notice")
    notice.wait_for()
    assert "Pas de fond de plan des rues ici" in notice.inner_text()
    assert notice.get_attribute("role") == "status"
    # No Paris street is drawn here, so none is credited.
    assert "Fond de plan" not in page.locator(".leaflet-control-attribution").inner_text()
    page.watch.assert_clean()


def test_streets_under_the_zone_editor(page, live_server, streets):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/zones/nouvelle")
    page.evaluate("document.getElementById('zone-map').scrollIntoView()")
    page.evaluate("window.scrollBy(0, -10)")
    pixels = _map_screenshot(page, "zone_editor")
    # The whole of Paris (z12): the boulevards and avenues of the centre stand out in yellow.
    _, yellow, _ = _street_shares(pixels)
    assert yellow > 0.005, f"main streets {yellow:.1%}"
    page.watch.assert_clean()
