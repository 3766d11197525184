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
    ids.add(actions.NOT_IN_DIRECTORY)
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


def test_the_audit_view_in_german_has_words_not_log_fields(tmp_path: Path) -> None:
    """Issue 18, item 11: "Von | Von", "reject no_match", "failures 7 -> 0", "accept invited"."""
    from .conftest import csrf_token
    from .test_admin import Admin

    adm = Admin(tmp_path)
    try:
        page = adm.client.get("/login")
        wrong = {"username": "alice", "pin": "1234", "code": "000000"}
        adm.client.post("/login", data={"csrf": csrf_token(page.text), **wrong})
        adm.sign_in()
        adm.post("/admin/users/carol/unlock")
        assert adm.post("/admin/invite", username="dora", **adm.fresh()).status_code == 200
        de = {"Accept-Language": "de"}
        text = adm.client.get("/admin/audit", headers=de).text
    finally:
        adm.client.close()
    heads = re.findall(r'<th scope="col">([^<]+)</th>', text)
    assert len(heads) == len(set(heads)) == 6, heads  # not "Von | Von"
    assert "Ausgeführt von" in heads and "Adresse" in heads
    for words in (
        "Abgelehnt: falscher Code",
        "Angemeldet: PIN und Einmalcode",
        "Benutzer entsperrt",
        "Fehlversuche 7 → 0",
        "Eingeladen",
        "Link für TOTP, gültig 24 h",
        "Registrierungslink erstellt",
        "für einen neuen Benutzer",
        "root (Browser)",
    ):
        assert words in text, words
    cells = " ".join(re.findall(r"<td[^>]*>(.*?)</td>", text, re.S))
    for raw in ("reject", "accept", "no_match", "invited", "unlock", "->", "HOTP/T30", "(web)"):
        assert raw not in cells, raw
