"""Every text of the admin pages has a German translation with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

from otpgate.web import i18n
from otpgate.web._catalog_de import DE
from otpgate.web.admin import actions, users
from otpgate.web.admin._catalog_de import ADMIN_DE
from otpgate.web.admin.render import translator

ROOT = Path(i18n.__file__).parent
_CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
# Labels handed to _() from a list or a dict in a template: ("value", "Label"), "key": "Label".
_LABELS = re.compile(r'\("[a-z]+", "([^"]+)"\)|"[a-z-]+": "([^"]+)"')
# Message ids in the admin code: what step_up, the guard and the pages pass on.
_CODE = re.compile(
    r'(?:return|msg =|error=|text=|_empty\(ctx,|_refusal\(request, \d+,) *"([A-Z][^"]+)"'
)


def admin_ids() -> set[str]:
    ids: set[str] = set()
    for path in (ROOT / "templates" / "admin").glob("*.html"):
        text = path.read_text()
        for pattern in (_CALL, _LABELS):
            ids |= {a or b for a, b in pattern.findall(text)}
    for path in (ROOT / "admin").glob("*.py"):
        ids |= set(_CODE.findall(path.read_text()))
    ids |= set(users.DONE.values()) | {actions.TROUBLE, actions.BAD_NAME, actions.EXISTS}
    return ids | {"Not allowed", "this process only", "Redis"}


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_admin_text_is_translated() -> None:
    ids = admin_ids()
    assert len(ids) > 100
    missing = sorted(i for i in ids if i not in ADMIN_DE and i not in DE)
    assert missing == []
    for english in ids:
        german = ADMIN_DE.get(english) or DE[english]
        assert fields(german) == fields(english), english
    assert sorted(ADMIN_DE.keys() - ids) == []  # nothing stale


def test_translator() -> None:
    assert translator("de")("Users in name order; {n} on this page.", n=3).endswith(
        "3 auf dieser Seite."
    )
    assert translator("de")("Sign out") == DE["Sign out"]  # the portal's own
    assert translator("en")("Unlock") == "Unlock"
