"""Keyboard only, in headless Chromium: report a problem by its address, read a quartier's compliance,
open a map feature's popup and close it; errors of the report form take the focus.

No click, no ``fill``: focus moves with Tab (``tab_to``) and text is typed key by key.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.portal.a11y import assert_no_axe_violations, assert_skip_link_works
from tests.portal.test_browser_axe import site  # noqa: F401  (the committed data of the axe test)

pytestmark = pytest.mark.browser


def focused(page) -> dict:
    """The focused element: its id, tag, text and accessible label."""
    return page.evaluate("""() => { const e = document.activeElement;
      return {id: e.id, tag: e.tagName, text: (e.textContent || '').trim().slice(0, 200),
              label: e.getAttribute('aria-label') || '', cls: String(e.className && e.className.baseVal !== undefined
                     ? e.className.baseVal : e.className)}; }""")


def tab_to(page, matches, limit: int = 250) -> dict:
    """Press Tab until the focused element satisfies ``matches(focused)``; fail after ``limit`` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if matches(now):
            return now
    raise AssertionError(f"Tab never reached the element (last: {focused(page)})")


def test_report_by_address_with_the_keyboard_only(page, live_server, site, engine):
    page.goto(live_server + "/")
    assert_skip_link_works(page)
    tab_to(page, lambda f: f["tag"] == "A" and f["text"] == "Signaler")
    page.keyboard.press("Enter")
    page.wait_for_url("**/incidents/new")
    page.wait_for_load_state("networkidle")

    tab_to(page, lambda f: f["id"] == "category")
    for _ in range(40):                                    # arrows change a closed <select>
        if page.evaluate("document.activeElement.value") == "graffiti":
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "graffiti"

    tab_to(page, lambda f: f["id"] == "address")
    page.keyboard.type("1 rue de Test")
    page.keyboard.press("Enter")                           # searches the places, does not submit
    page.wait_for_selector("#places button")
    place = tab_to(page, lambda f: f["tag"] == "BUTTON" and "1 rue de Test" in f["text"])
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "description"            # the focus goes on with the form
    assert page.evaluate("document.getElementById('lat').value") != ""
    assert "1 rue de Test" in page.locator("#point-status").inner_text(), place
    page.keyboard.type("Tag au clavier sur la vitrine")
    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Envoyer le signalement")
    page.keyboard.press("Enter")
    page.wait_for_selector("#follow-up-link")
    assert "est enregistré" in page.locator("h1").inner_text()
    with engine.connect() as conn:
        row = conn.execute(text("SELECT i.category, q.code FROM incidents i JOIN quartiers q ON q.id = i.quartier_id "
                                "WHERE i.description = 'Tag au clavier sur la vitrine'")).one()
    assert tuple(row) == ("graffiti", "T-Q1")
    page.watch.assert_clean()


def test_report_errors_take_the_focus_and_are_linked(page, live_server, site):
    page.goto(live_server + "/incidents/new")
    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Envoyer le signalement")
    page.keyboard.press("Enter")                           # nothing filled in
    page.wait_for_selector(".ova-error-summary")
    first = focused(page)
    assert first["id"] == "category"
    described = page.evaluate("""() => { const e = document.activeElement;
      return [e.getAttribute('aria-invalid'),
              (e.getAttribute('aria-describedby') || '').split(' ').map(i => document.getElementById(i)?.textContent.trim())]; }""")
    assert described[0] == "true" and any(described[1]), described
    address_error = page.evaluate(
        "document.getElementById(document.getElementById('address').getAttribute('aria-describedby').split(' ').pop()).textContent")
    assert "Indiquez où est le problème" in address_error
    assert_no_axe_violations(page)
    # The page answered 400 (the form has errors), which Chromium logs; nothing else may be.
    assert page.watch.errors == ["Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]
    page.watch.errors.clear()
    page.watch.assert_clean()


def test_read_a_quartier_compliance_with_the_keyboard_only(page, live_server, site):
    page.goto(live_server + "/")
    tab_to(page, lambda f: f["tag"] == "A" and f["text"] == "Normes")
    page.keyboard.press("Enter")
    page.wait_for_url("**/normes/")
    matrix = page.locator("#compliance-matrix").inner_text()
    assert "Non atteinte" in matrix and "Atteinte" in matrix and "Données insuffisantes" in matrix
    tab_to(page, lambda f: f["tag"] == "A" and f["text"] == "Quartier Un")
    page.keyboard.press("Enter")
    page.wait_for_url("**/normes/quartier/**")
    page.wait_for_load_state("networkidle")
    results = page.locator("#quartier-results").inner_text()
    assert "a11y-g48" in results and "Non atteinte" in results, results   # the status, in words
    assert page.locator("#failing-list tbody a").count() == 2                # the map's points, listed

    # The map's features are reached with Tab; Enter opens the popup and moves the focus into it,
    # Escape closes it and gives the focus back to the feature.
    feature = tab_to(page, lambda f: f["tag"] == "path" and "leaflet-interactive" in f["cls"] and f["label"] not in ("Quartier Un", "Zone Un"))
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content")
    inside = focused(page)
    assert inside["tag"] == "A" and inside["text"] == "Voir le signalement", inside
    assert_no_axe_violations(page)
    page.keyboard.press("Escape")
    page.wait_for_selector(".leaflet-popup", state="detached")
    assert focused(page)["label"] == feature["label"]
    page.watch.assert_clean()


def test_map_pages_can_be_zoomed(page, live_server, site):
    page.goto(live_server + "/")
    viewports = page.evaluate("[...document.querySelectorAll('meta[name=viewport]')].map(m => m.content)")
    assert viewports == ["width=device-width, initial-scale=1"]
    zoom_in = page.locator(".leaflet-control-zoom-in")
    assert zoom_in.get_attribute("aria-label") == "Zoomer"
    assert page.locator(".folium-map").get_attribute("aria-describedby")
    page.watch.assert_clean()
