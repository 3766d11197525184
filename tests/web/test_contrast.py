"""WCAG contrast of the pages' colours, computed from the style sheet itself."""

from __future__ import annotations

import re

import pytest

from otpgate.web.templating import CSS


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def palette(scheme: str) -> dict[str, str]:
    light, _, dark = CSS.partition("@media (prefers-color-scheme:dark)")
    block = light if scheme == "light" else dark
    found = re.findall(r"--([a-z-]+):#([0-9a-f]{6}|[0-9a-f]{3})\b", block)
    # #fff is #ffffff.
    return {name: "#" + (v if len(v) == 6 else "".join(c * 2 for c in v)) for name, v in found}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_field_borders_and_text_meet_wcag(scheme: str) -> None:
    p = palette(scheme)
    # Input borders are the controls' boundaries: 3:1 (WCAG 1.4.11), on the card and the page.
    assert contrast(p["field"], p["card"]) >= 3.0
    assert contrast(p["field"], p["bg"]) >= 3.0
    # Text: 4.5:1 (WCAG 1.4.3).
    for fg, bg in [
        ("fg", "card"),
        ("muted", "card"),
        ("accent", "card"),
        ("accent-fg", "accent"),
        ("err", "err-bg"),
        ("ok", "ok-bg"),
        ("err", "card"),
    ]:
        assert contrast(p[fg], p[bg]) >= 4.5, (fg, bg, contrast(p[fg], p[bg]))


def test_the_old_borders_were_too_faint() -> None:
    # What issue 11 measured, so the check above is known to catch it.
    assert contrast("#c9d0db", "#ffffff") < 3.0 and contrast("#3a4252", "#1c212b") < 3.0
