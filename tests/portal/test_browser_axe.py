"""axe-core (WCAG 2.0/2.1 A and AA, the automated part of RGAA 4.1) on every page of the portal.

The pages are those of the access-matrix test (``ACCESS`` in test_access_matrix.py): every GET route
of the URL map that answers HTML, visited by anonymous visitors and by each role with the routes that
role may open, in French and in English. A route added later is checked without touching this file.
"""
from __future__ import annotations

import datetime as dt
import json
import hashlib
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import text

from norms.engine import compute_all
from portal import create_app
from portal.auth.services import hash_password
from tests.builders import PASSWORD, ROLES
from tests.norms.conftest import Fixtures
from tests.portal.a11y import axe_violations, describe
from tests.portal.test_access_matrix import ACCESS, ARGS, ENDPOINT_ARGS, _allowed

pytestmark = pytest.mark.browser
UTC = dt.timezone.utc
#: What a browser asks for when it follows a link (OGC routes answer HTML to it, JSON otherwise).
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: Query strings that show a page with its data (a month with results, a buyer with contracts…).
QUERIES = {
    "norms.dashboard": {"month": "2024-03"},
    "norms.quartier": {"month": "2024-03"},
    "norms.grid": {"year": "2024"},
    "indicators.index": {"indicateur": "incidents", "unite": "T-Q1"},
    "achats.index": {"acheteur": "21440109300015", "du": "2024-01-01", "au": "2024-12-31"},
    "quartiers.search": {"q": "Quartier"},
    "purchases.diagnostic": {"commune": "44109"},
}


@pytest.fixture(scope="module")
def site(engine):
    """Committed data giving every page content: quartiers, zone, norms with every compliance status,
    incidents in every status, indicators, public contracts, a layer and one user per role."""
    from indicators import territory as territory_mod
    from indicators.procurement import load_commune_epci
    from tests.indicators.conftest import delete_territory, insert_procurement, insert_territory
    from tests.indicators.conftest_values import AS_OF

    with engine.begin() as conn:
        ids = insert_territory(conn)
        territory_mod.compute(conn, AS_OF)
        load_commune_epci(conn)
        insert_procurement(conn)
        fx = Fixtures(conn)
        norm = fx.norm("a11y-g48", hours=48, min_sample=2)
        fx.norm("a11y-g24", hours=24, min_sample=50)          # too few cases: insufficient data
        t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
        for hours, q in ((1, "q1"), (100, "q1"), (200, "q1"), (1, "q2"), (2, "q2")):
            fx.incident(t0, t0 + dt.timedelta(hours=hours), quartier_id=ids[q],
                        xy=(652300 + hours + (1000 if q == "q2" else 0), 6862300), simulated=True)
        compute_all(conn, since=dt.date(2024, 3, 1), as_of=dt.datetime(2024, 4, 1, tzinfo=UTC))
        incident = conn.scalar(text(
            "INSERT INTO incidents (source, external_id, category, description, address, reported_at, status, "
            "quartier_id, producer_id, geom) VALUES ('test', 'a11y', 'graffiti', 'Tag sur la façade de M. Martin', "
            "'1 rue de Test', now() - interval '3 days', 'acknowledged', :q, "
            "(SELECT id FROM producers WHERE slug = 'proprete'), ST_SetSRID(ST_MakePoint(652400, 6862400), 2154)) "
            "RETURNING id"), {"q": ids["q1"]})
        conn.execute(text(
            "INSERT INTO layers (slug, title, producer_id, source_table, geometry_type, licence) VALUES "
            "('a11y-layer', 'Couche (test a11y)', (SELECT id FROM producers WHERE slug = 'proprete'), "
            "'incidents', 'Point', 'ODbL')"))
        # Planned purchases of the city, whose buyer the agent's service (propreté) buys for.
        conn.execute(text("UPDATE producers SET buyer_siret = '21440109300015' WHERE slug = 'proprete'"))
        purchase = conn.scalar(text(
            "INSERT INTO planned_purchases (source, external_id, buyer_siret, buyer_name, object, cpv_code, amount, "
            "expected_quarter, expected_on, place_commune, place_quartier, status, geom, place_basis) VALUES "
            "('a11y', 'P1', '21440109300015', 'Ville de Nantes', 'Réfection de la cour de l''école', '45233140', "
            "120000, '2025-T3', '2025-07-01', '75056', 'T-Q1', 'planned', "
            "(SELECT geom FROM quartiers WHERE code = 'T-Q1'), 'quartier') RETURNING id"))
        conn.execute(text(
            "INSERT INTO planned_purchases (source, external_id, buyer_siret, buyer_name, object, cpv_code, amount_min, "
            "amount_max, expected_quarter, place_commune, status, notice_url) VALUES ('a11y', 'P2', '21440109300015', "
            "'Ville de Nantes', 'Nettoyage des vitres', '90911300', 40000, 60000, '2025-T4', '75056', 'published', "
            "'https://marches.example/avis/1')"))
        for role in ROLES:
            conn.execute(text(
                "INSERT INTO users (email, name, password_hash, role, producer_id) VALUES (:e, :n, :h, :r, "
                "(SELECT id FROM producers WHERE slug = 'proprete' AND :agent))"),
                {"e": f"a11y-{role}@example.org", "n": f"Test {role}", "h": hash_password(PASSWORD), "r": role,
                 "agent": role == "agent"})
    yield {"quartier": ids["q1"], "zone": ids["z1"], "norm": norm, "incident": incident, "purchase": purchase}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM planned_purchases WHERE source IN ('a11y', 'portail')"))
        conn.execute(text("UPDATE producers SET buyer_siret = NULL WHERE slug = 'proprete'"))
        conn.execute(text("DELETE FROM users WHERE email LIKE 'a11y-%@example.org'"))
        # The alerts of the incidents the browser tests report (the agent's queue_new messages).
        conn.execute(text("DELETE FROM outbox WHERE recipient LIKE 'a11y-%@example.org'"))
        conn.execute(text("DELETE FROM layers WHERE slug = 'a11y-layer'"))
        conn.execute(text("DELETE FROM compliance_results"))
        conn.execute(text("DELETE FROM norms WHERE code LIKE 'a11y-%'"))
        conn.execute(text("DELETE FROM incidents WHERE quartier_id IN (SELECT id FROM quartiers "
                          "WHERE code IN ('T-Q1', 'T-Q2'))"))   # the ones reported by the browser tests too
        conn.execute(text("DELETE FROM public_contracts WHERE source = 'test'"))
        conn.execute(text("DELETE FROM establishments WHERE source = 'test-decp'"))
        delete_territory(conn)


def page_urls(objects: dict, role: str | None, lang: str) -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET route of the access matrix that ``role`` may open, in ``lang``."""
    app = create_app({"TESTING": True, "SERVER_NAME": "localhost"})
    values = {**ARGS, "code": "T-Q1", "slug": "a11y-layer"}
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        policy = ACCESS.get(rule.endpoint)
        if "GET" not in rule.methods or policy is None or not _allowed(policy, role):
            continue
        args = {**values, **ENDPOINT_ARGS.get(rule.endpoint, {})}
        args = {a: str(args[a]).format(**objects) for a in rule.arguments}
        query = {**QUERIES.get(rule.endpoint, {}), **({"lang": lang} if lang != "fr" else {})}
        with app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, **args).removeprefix("http://localhost")
        urls.append((rule.endpoint, path + ("?" + urlencode(query) if query else "")))
    return urls


#: Keys of the renderings already checked in this run (see ``render_keys``).
_SEEN: set[str] = set()
_VOLATILE = re.compile(r'nonce="[^"]*"|value="[A-Za-z0-9._-]{40,}"|_[0-9a-f]{32}(?![0-9a-f])|href="[^"]*"(?= hreflang=)')
_NAVBAR = re.compile(r'<nav class="navbar.*?</nav>', re.DOTALL)


def render_keys(html: str, role: str | None, error: bool = False) -> set[str]:
    """Keys of a page rendering: its navigation bar, and the rest of the page.

    A logged-in role sees most public pages exactly as an anonymous visitor does, apart from the
    navigation bar (same on all its pages). A page is checked again only when its content or its
    navigation bar has not been checked yet; nonces, CSRF tokens, Folium's random element names,
    the language switch's link (the page's own URL) and the user's own name are left out of the
    comparison. Error pages (one template, a message
    that varies) count as one page.
    """
    html = _VOLATILE.sub("", html)
    if role:
        html = html.replace(f"Test {role}", "").replace(f"({role})", "")
    nav = _NAVBAR.search(html)
    rest = _NAVBAR.sub("", html, count=1)
    digest = lambda text: hashlib.sha1(text.encode()).hexdigest()  # noqa: E731
    return {"nav:" + digest(nav.group(0) if nav else ""), "page:" + ("error" if error else digest(rest))}


def log_in(page, live_server: str, role: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", f"a11y-{role}@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("nav").get_by_text(f"Test {role}").count() == 1, f"login as {role} failed"


def settle(page) -> None:
    """Wait until the maps of the page have drawn what they fetch (remote GeoJSON, charts).

    A map loading by bounding box may keep fetching on a slow machine: after 15 s the page is
    checked as it is (axe then sees fewer features, never a different page).
    """
    if page.locator(".folium-map").count():
        try:
            page.wait_for_load_state("networkidle", timeout=15_000)
        except PlaywrightTimeout:
            pass


@pytest.mark.parametrize("lang", ("fr", "en"))
@pytest.mark.parametrize("role", (None,) + ROLES)
def test_every_page_passes_axe(page, live_server, site, role, lang):
    if role:
        log_in(page, live_server, role)
    report, checked, skipped = {}, [], []
    for endpoint, url in page_urls(site, role, lang):
        answer = page.request.get(live_server + url, max_redirects=0, headers={"Accept": HTML})
        if "text/html" not in answer.headers.get("content-type", "") or answer.status == 204:
            continue
        keys = render_keys(answer.text(), role, error=answer.status >= 400)
        if keys <= _SEEN:
            skipped.append(url)
            continue
        before = len(page.watch.errors)
        page.goto(live_server + url)
        if answer.status >= 400:   # the error page itself is logged as a failed load: expected here
            page.watch.errors[before:] = [e for e in page.watch.errors[before:]
                                          if not e.startswith("Failed to load resource")]
        settle(page)
        violations = axe_violations(page)
        _SEEN.update(keys)
        checked.append(url)
        if violations:
            report[url] = violations
    name = f"axe-{role or 'anonymous'}-{lang}"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(
        {"checked": checked, "same_as_checked": skipped, "violations": {u: {v["id"]: len(v["nodes"]) for v in vs} for u, vs in report.items()}},
        indent=1, ensure_ascii=False))
    assert len(checked) + len(skipped) >= 20, checked
    assert not report, f"{len(report)} of {len(checked)} pages fail axe-core:\n" + "\n".join(
        describe(vs, u) for u, vs in report.items())
    page.watch.assert_clean()
