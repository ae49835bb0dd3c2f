"""Accessibility rules checked on the HTML itself (every page of the access matrix, per role and
language), the accessibility statement and its settings, and the report form's linked errors.

The browser checks (axe-core, keyboard) are in test_browser_axe.py and test_browser_keyboard.py.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import url_for

from portal.accessibility.views import AXE_CORE_VERSION, conformity
from ova.settings import accessibility_rate
from tests.builders import ROLES
from tests.portal.test_access_matrix import ACCESS, ARGS, ENDPOINT_ARGS, _allowed, objects  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SITE_NAME = {"fr": "Portail OVA", "en": "OVA Portal"}


class Page(HTMLParser):
    """What the checks need from a page: lang, title, viewports, h1s, landmarks, first links."""

    def __init__(self, html: str):
        super().__init__()
        self.lang, self.title, self.viewports, self.h1, self.ids = None, "", [], 0, []
        self.links, self.main, self.footer_links, self._in = [], 0, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta" and a.get("name") == "viewport":
            self.viewports.append(a.get("content", ""))
        elif tag == "h1":
            self.h1 += 1
        elif tag == "main":
            self.main += 1
        elif tag == "a":
            self.links.append(a)
            if "footer" in self._in:
                self.footer_links.append(a)

    def handle_endtag(self, tag):
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data):
        if self._in and self._in[-1] == "title":
            self.title += data


def html_pages(app, client, objects, role, lang):
    """(url, Page) of every GET route of the access matrix ``role`` may open that answers HTML."""
    values = {**ARGS, **{"code": "MATRIX", "slug": "matrix-layer"}}
    for rule in app.url_map.iter_rules():
        policy = ACCESS.get(rule.endpoint)
        if "GET" not in rule.methods or policy is None or not _allowed(policy, role):
            continue
        args = {**values, **ENDPOINT_ARGS.get(rule.endpoint, {})}
        args = {a: str(args[a]).format(**objects) for a in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **args, **({"lang": lang} if lang != "fr" else {}))
        response = client.get(url, headers={"Accept": "text/html"})
        if response.mimetype == "text/html" and response.status_code != 204:   # 204: empty tile
            yield url, response.status_code, Page(response.get_data(as_text=True))


#: Every role in French; in English the visitor and the admin, who between them open every page
#: (axe covers every role in both languages).
ROLE_LANGS = [(role, "fr") for role in (None,) + ROLES] + [(None, "en"), ("admin", "en")]


@pytest.mark.parametrize("role, lang", ROLE_LANGS)
def test_every_page_is_zoomable_titled_and_structured(app, login_as, objects, role, lang):
    client = app.test_client() if role is None else login_as(role)
    failures, seen = [], 0
    for url, status, page in html_pages(app, client, objects, role, lang):
        seen += 1
        problems = []
        if page.viewports != ["width=device-width, initial-scale=1"]:
            problems.append(f"viewport {page.viewports}")   # one, that lets the browser zoom
        if page.lang != lang:
            problems.append(f"lang {page.lang!r}")
        title = page.title.strip()
        site = SITE_NAME[lang]
        if not title.endswith(f" · {site}") or title.startswith(f"{site} ·"):
            problems.append(f"title {title!r} does not say where one is")
        if page.h1 != 1:
            problems.append(f"{page.h1} h1")
        if page.main != 1 or "main" not in page.ids:
            problems.append("no <main id=main>")
        if not page.links or page.links[0].get("href") != "#main":
            problems.append("the first link is not the skip link")
        if not any(a.get("href", "").startswith("/accessibilite") for a in page.footer_links):
            problems.append("no link to /accessibilite in the footer")
        duplicates = {i for i in page.ids if page.ids.count(i) > 1}
        if duplicates:
            problems.append(f"duplicate ids {sorted(duplicates)}")
        if problems:
            failures.append(f"{url} ({status}): {'; '.join(problems)}")
    assert seen >= 10
    assert not failures, "\n".join(failures)


def test_statement_follows_the_rgaa_model(client):
    html = client.get("/accessibilite").get_data(as_text=True)
    for heading in ("État de conformité", "Résultats des tests", "Contenus non accessibles",
                    "Non-conformités connues", "Dérogations pour charge disproportionnée",
                    "Établissement de cette déclaration", "Retour d’information et contact", "Voies de recours"):
        assert heading in html, heading
    assert "<strong>non conforme</strong>" in html           # no audit: the RGAA mention is "non conforme"
    assert "Aucun audit de conformité RGAA complet" in html
    assert "Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07" in html
    assert "https://formulaire.defenseurdesdroits.fr/" in html
    assert f"axe-core</span> {AXE_CORE_VERSION}" in html
    assert "OVA_ACCESSIBILITY_CONTACT" in html                # says the contact is not configured
    assert 'Accessibilité : non conforme</a>' in client.get("/login").get_data(as_text=True)
    english = client.get("/accessibilite?lang=en").get_data(as_text=True)
    assert "Accessibility statement" in english and "<strong>not compliant</strong>" in english


def test_statement_shows_the_audit_and_contact_of_the_settings(app):
    app.config.update(ACCESSIBILITY_AUDIT_RATE=82.5, ACCESSIBILITY_AUDIT_DATE="12 novembre 2026",
                      ACCESSIBILITY_AUDITOR="Cabinet <Audit>", ACCESSIBILITY_CONTACT="a11y@ville.example",
                      ACCESSIBILITY_ENTITY="Ville de Test")
    html = app.test_client().get("/accessibilite").get_data(as_text=True)
    assert "<strong>partiellement conforme</strong>" in html
    assert "12 novembre 2026" in html and "Cabinet &lt;Audit&gt;" in html and "82,5" in html
    assert 'href="mailto:a11y@ville.example"' in html and "Ville de Test s’engage" in html
    assert "Accessibilité : partiellement conforme" in html


@pytest.mark.parametrize("rate, level", [(None, "none"), (0, "none"), (49.9, "none"), (50, "partial"),
                                         (99.9, "partial"), (100, "total")])
def test_conformity_level_follows_the_rgaa_thresholds(rate, level):
    assert conformity(rate) == level


@pytest.mark.parametrize("raw", ["beaucoup", "120", "-1"])
def test_bad_audit_rate_is_refused_with_the_setting_named(raw):
    with pytest.raises(ValueError, match="OVA_ACCESSIBILITY_AUDIT_RATE: .* is not a rate from 0 to 100"):
        accessibility_rate(raw, "OVA_ACCESSIBILITY_AUDIT_RATE")
    assert accessibility_rate("87,5 %".replace(" ", "")) == 87.5


def test_axe_core_version_is_the_vendored_one():
    pinned = re.search(r"^AXE_CORE_VERSION=(\S+)", (ROOT / "scripts/vendor_assets.sh").read_text(), re.M).group(1)
    header = (ROOT / "portal/static/vendor/axe-core/axe.min.js").read_text()[:200]
    assert pinned == AXE_CORE_VERSION and f"axe v{AXE_CORE_VERSION}" in header
    assert (ROOT / "portal/static/vendor/axe-core/LICENSE").read_text().startswith("Mozilla Public License")


def test_forms_have_no_time_limit(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None   # a CSRF token never expires while the session lasts


def test_report_without_a_place_puts_a_linked_error_on_the_address(client, territory):
    response = client.post("/incidents/new", data={"category": "graffiti", "description": "Un tag"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    field = re.search(r'<input[^>]*id="address"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    assert described == ["address-help", "address-error"]
    assert re.search(r'id="address-error">Indiquez où est le problème', html)
    assert '<a class="alert-link" href="#address">' in html              # the summary links to the field


def test_report_by_typed_address_alone(client, connection, territory):
    from tests.builders import add_incident

    add_incident(connection, territory, address="12 rue de la Cité", x=652000, y=6861500)
    response = client.post("/incidents/new", data={"category": "graffiti", "description": "Tag au 12",
                                                   "address": "12 rue de la Cité"})
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    unknown = client.post("/incidents/new", data={"category": "graffiti", "description": "Tag",
                                                  "address": "Nulle part du tout"})
    assert unknown.status_code == 400
    html = unknown.get_data(as_text=True)
    assert re.search(r'id="address-error">[^<]*adresse inconnue', html)   # on the field, not a loose flash


def test_map_pages_drop_folium_viewport_and_get_keyboard_support(client, territory):
    html = client.get("/incidents/new").get_data(as_text=True)
    assert "user-scalable" not in html and "maximum-scale" not in html
    assert "OVA.accessibleMap(" in html and '"zoomIn": "Zoomer"' in html
