"""The pages' languages: English (the message ids themselves) and German.

A catalogue is a plain dict from the English text to its translation, so a
missing entry shows English rather than nothing, and a test can check that
every text the templates use is translated.  The language comes from the
``Accept-Language`` header unless ``web.language`` fixes one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from ._catalog_de import DE
from ._labels_de import LABELS_DE

__all__ = ["CATALOGUES", "LANGUAGES", "choose", "translator"]

LANGUAGES: Final = ("en", "de")
# The portal's texts and the labels of what the gate records (otpgate.web.labels).
CATALOGUES: Final[Mapping[str, Mapping[str, str]]] = {"en": {}, "de": {**DE, **LABELS_DE}}
_MAX_HEADER: Final = 512


def choose(accept_language: str | None, fixed: str = "") -> str:
    """The language to answer in: ``fixed`` if set, else the browser's best supported one."""
    if fixed in LANGUAGES:
        return fixed
    best, best_q = "en", 0.0
    for position, part in enumerate((accept_language or "")[:_MAX_HEADER].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if not 0 < q <= 1:
            continue
        # Earlier entries win ties (the header's order is the user's order).
        q -= position * 1e-6
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def translator(lang: str) -> Callable[..., str]:
    """``_(text, **values)``: the translation of ``text``, with ``{name}`` values filled in."""
    catalogue = CATALOGUES.get(lang, {})

    def _(text: str, **values: object) -> str:
        out = catalogue.get(text, text)
        return out.format(**values) if values else out

    return _
