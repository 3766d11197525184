"""Rules every page state must keep in a real browser (issue 18, items 10 and 13).

Called by the Playwright tests after each step, so a page that scrolls
sideways on a phone, or shows an error whose title does not say so, fails
the step where it happens.
"""

from __future__ import annotations

from typing import Any

PHONE = 390
# The title's prefix when a page shows an error (role="alert"), per language.
ERROR_PREFIX = {"en": "Error:", "de": "Fehler:"}


def check_page(page: Any, lang: str = "en") -> None:
    """No sideways scrolling at the viewport's width; "Error:" in the title iff an alert shows."""
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        raise AssertionError(f"{page.url}: {scroll} px wide at {width} px: {widest(page)}")
    alerts = page.get_by_role("alert").count()
    title = page.title()
    assert title.startswith(ERROR_PREFIX[lang]) == (alerts > 0), (page.url, title, alerts)


def widest(page: Any) -> str:
    """The element that sticks out furthest to the right (for a failure message)."""
    found: str = page.evaluate(
        """() => {
        let best = null, right = 0;
        for (const e of document.querySelectorAll('body *')) {
            const r = e.getBoundingClientRect().right;
            if (r > right) { right = r; best = e; }
        }
        return best ? best.tagName + '#' + best.id + '.' + best.className + ' ' + right : '';
    }"""
    )
    return found


def focus_ring(page: Any) -> tuple[str, str]:
    """The focused element's outline (width, style)."""
    ring: list[str] = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineWidth, s.outlineStyle]; }"
    )
    return ring[0], ring[1]


def focused(page: Any) -> dict[str, str]:
    """Tag, id, text and href of the focused element."""
    info: dict[str, str] = page.evaluate(
        "() => { const e = document.activeElement; return {tag: e.tagName, id: e.id,"
        " text: (e.innerText || '').trim(), href: e.getAttribute('href') || ''}; }"
    )
    return info
