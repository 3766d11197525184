"""Languages: every text translated, the language chosen from the browser or fixed."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from otpgate.web import i18n
from otpgate.web._catalog_de import DE
from otpgate.web.portal import messages

TEMPLATES = Path(i18n.__file__).parent / "templates"
_CALL = re.compile(r'_\("((?:[^"\\]|\\.)*)"')


def template_ids() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        found |= set(_CALL.findall(path.read_text()))
    return found


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_text_has_a_german_translation_with_the_same_placeholders() -> None:
    ids = template_ids() | set(messages.ALL)
    assert len(ids) > 80
    missing = sorted(ids - DE.keys())
    assert missing == []
    for english in ids:
        assert fields(DE[english]) == fields(english), english
    # Nothing stale either.
    assert sorted(DE.keys() - ids) == []


@pytest.mark.parametrize(
    ("header", "fixed", "lang"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "", "de"),
        ("en-US,en;q=0.9,de;q=0.8", "", "en"),
        ("fr-FR,fr;q=0.9,de;q=0.5", "", "de"),
        ("fr", "", "en"),
        ("de;q=0", "", "en"),
        ("de;q=abc, en", "", "en"),
        ("*", "", "en"),
        (None, "", "en"),
        ("", "", "en"),
        ("en, de", "", "en"),
        ("de, en", "", "de"),
        ("de-AT", "en", "en"),
        ("en", "de", "de"),
        ("x" * 10_000 + ",de", "", "en"),
    ],
)
def test_language_choice(header: str | None, fixed: str, lang: str) -> None:
    assert i18n.choose(header, fixed) == lang


def test_translator_fills_values() -> None:
    de = i18n.translator("de")
    assert de(messages.THROTTLED, n=5) == "Zu viele Versuche. Versuchen Sie es in 5 s wieder."
    assert i18n.translator("en")(messages.THROTTLED, n=5) == "Too many attempts. Try again in 5 s."
    assert i18n.translator("xx")("Sign in") == "Sign in"
