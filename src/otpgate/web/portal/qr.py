"""QR codes for the enrolment page: inline SVG, drawn on the server.

Inline SVG needs nothing from the CSP (no image source, no style attribute:
segno writes presentation attributes only), shows without JavaScript, and
stays dark on light in dark mode (its own light background).
"""

from __future__ import annotations

import segno
from markupsafe import Markup

__all__ = ["qr_svg"]


def qr_svg(text: str, label: str) -> Markup:
    """An accessible ``<svg>`` QR code of ``text``; ``label`` is its text alternative."""
    code = segno.make(text, error="m")
    svg: str = code.svg_inline(
        scale=4, border=3, light="#fff", dark="#000", omitsize=True, svgclass="qr", title=label
    )
    # segno escapes the title; role="img" makes screen readers announce it as one image.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704
