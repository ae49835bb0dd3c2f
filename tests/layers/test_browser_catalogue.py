"""The catalogue pages in headless Chromium: local assets only, no console error, preview drawn."""
import pytest

pytestmark = pytest.mark.browser


def test_layer_page_preview_draws_features(page, live_server):
    page.goto(live_server + "/catalogue/t-areas")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length >= 80")
    assert page.locator("#feature-count").inner_text() == "80"
    page.watch.assert_clean()


def test_catalogue_search(page, live_server):
    page.goto(live_server + "/catalogue")
    page.fill("#q", "lieux")
    page.click("button[type=submit]")
    assert page.locator(".list-group-item a.fw-bold").all_inner_texts() == ["Lieux de test"]
    page.watch.assert_clean()
