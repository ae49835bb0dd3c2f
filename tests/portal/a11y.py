"""Accessibility checks of the browser tests: axe-core's WCAG 2.0/2.1 A and AA rules, the skip link.

axe-core is vendored (``portal/static/vendor/axe-core``, written by ``scripts/vendor_assets.sh``)
and injected as a same-origin script, which the portal's CSP (``script-src 'self'``) allows.
"""
from __future__ import annotations

from urllib.parse import urlsplit

#: The axe-core rule tags RGAA 4.1 maps to: WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
AXE_PATH = "/static/vendor/axe-core/axe.min.js"

_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                              summary: (n.failureSummary || '').slice(0, 300)}))}));
}"""


def axe_violations(page) -> list[dict]:
    """Run axe-core's WCAG 2.0/2.1 A/AA rules on the page as it is now; return the violations.

    Each violation is ``{"id", "impact", "help", "nodes": [{"target", "html", "summary"}]}``.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
        page.add_script_tag(url=origin + AXE_PATH)
    return page.evaluate(_RUN_AXE, list(WCAG_TAGS))


def describe(violations: list[dict], where: str = "") -> str:
    """A readable report of ``violations`` (rule, impact, help, the first nodes) for an assertion message."""
    lines = []
    for v in violations:
        lines.append(f"{where} {v['id']} ({v['impact']}, {len(v['nodes'])} node(s)): {v['help']}")
        for n in v["nodes"][:3]:
            lines.append(f"    {n['target']}: {n['html']}")
            if n["summary"]:
                lines.append("      " + n["summary"].replace("\n", " / "))
    return "\n".join(lines)


def assert_no_axe_violations(page, where: str = "") -> None:
    """Fail with a readable report when axe-core finds any WCAG 2.0/2.1 A/AA violation on the page."""
    violations = axe_violations(page)
    assert not violations, "axe-core violations:\n" + describe(violations, where or page.url)


def assert_skip_link_works(page) -> None:
    """The first Tab reaches the skip link, and following it moves to the main content."""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
