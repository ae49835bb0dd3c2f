"""A small automated accessibility check run in the browser tests (not a full audit)."""

_CHECK_JS = """() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push('html has no lang attribute');
  if (document.querySelectorAll('h1').length !== 1) problems.push('page must have exactly one h1');
  const byId = id => { const el = document.getElementById(id); return el ? el.textContent.trim() : ''; };
  const name = el => {
    const aria = (el.getAttribute('aria-label') || '').trim();
    if (aria) return aria;
    const ids = el.getAttribute('aria-labelledby');
    if (ids) return ids.split(/\\s+/).map(byId).join(' ').trim();
    if (el.labels && el.labels.length) return [...el.labels].map(l => l.textContent).join(' ').trim();
    if (el.tagName === 'IMG') return el.hasAttribute('alt') ? 'alt' : '';
    if ((el.getAttribute('title') || '').trim()) return el.getAttribute('title').trim();
    if (['A', 'BUTTON'].includes(el.tagName)) return el.textContent.trim();
    if (el.type === 'submit' || el.type === 'button') return (el.value || '').trim();
    return '';
  };
  for (const el of document.querySelectorAll('img, input:not([type=hidden]), button, select, textarea, a[href]')) {
    if (!name(el)) problems.push('no accessible name: ' + el.outerHTML.slice(0, 120));
  }
  for (const t of document.querySelectorAll('table')) {
    if (!t.querySelector('th')) problems.push('table without header cells');
  }
  return problems;
}"""


def accessibility_problems(page) -> list[str]:
    """Names every img/input/button/select/link without an accessible name, and page-level misses."""
    return page.evaluate(_CHECK_JS)


def assert_skip_link_works(page) -> None:
    """The first Tab reaches the skip link, and following it moves to the main content."""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
