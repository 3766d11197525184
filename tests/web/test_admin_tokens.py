"""``/admin``: a user's authenticators listed, one removed after a step-up, never the last.

Tokens and passkeys alike: the user page lists both (kind, name, created,
last used) and removes a passkey with the same step-up, audited with its kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from otpgate.otp.tokens import parse_token_type
from otpgate.store.authenticators import OtpToken, TokenMeta
from otpgate.store.passkeys import Passkey, new_passkey_id

from .test_admin import Admin

SPARE_KEY = bytes(range(40, 60))


@pytest.fixture
def adm(tmp_path: Path) -> Admin:
    return Admin(tmp_path)


def _spare(adm: Admin) -> str:
    token = OtpToken(
        parse_token_type("HOTP/E"), SPARE_KEY, TokenMeta(name="Schrank"), serial="YK-7"
    )
    return adm.store.add_token("alice", token).meta.id


def test_the_user_page_lists_the_authenticators(adm: Admin) -> None:
    spare = _spare(adm)
    adm.sign_in()
    page = adm.client.get("/admin/users/alice")
    assert page.status_code == 200 and "Authenticators" in page.text
    assert ">Schrank</td>" in page.text and ">YK-7</td>" in page.text
    assert f"remove-token?token={spare}" in page.text
    assert SPARE_KEY.hex() not in page.text
    german = adm.client.get("/admin/users/alice", headers={"Accept-Language": "de"}).text
    assert "Authenticatoren" in german


def test_removing_one_needs_a_step_up(adm: Admin) -> None:
    spare = _spare(adm)
    adm.sign_in()
    form = adm.client.get(f"/admin/users/alice/remove-token?token={spare}")
    assert form.status_code == 200 and 'name="pin"' in form.text
    assert f'<option value="{spare}" selected>' in form.text
    r = adm.post("/admin/users/alice/remove-token", token=spare, pin="4321", code="000000")
    assert r.status_code == 403 and len(adm.store.get("alice").tokens()) == 2  # type: ignore[union-attr]
    r = adm.post("/admin/users/alice/remove-token", token=spare, **adm.fresh())
    assert r.status_code == 303 and r.headers["location"].endswith("done=token-removed")
    assert adm.store.get("alice").more == ()  # type: ignore[union-attr]
    [line] = [x for x in adm.admin_lines() if x["action"] == "remove_token"]
    assert line["user"] == "alice" and line["detail"] == f"HOTP {spare}" and line["actor"] == "root"


def test_the_last_one_stays(adm: Admin) -> None:
    adm.sign_in()
    page = adm.client.get("/admin/users/alice")
    assert "remove-token" not in page.text  # one authenticator: no link
    only = adm.store.get("alice").meta.id  # type: ignore[union-attr]
    r = adm.post("/admin/users/alice/remove-token", token=only, **adm.fresh())
    assert r.status_code == 409 and "only authenticator" in r.text
    assert adm.store.get("alice") is not None


def _passkey(adm: Admin, name: str = "Laptop", used: float | None = None) -> Passkey:
    cred = b"\x03" * 16
    key = Passkey(
        new_passkey_id(), "alice", cred, b"\xa5" + cred, 0, ("usb",), "0" * 36, name, 1.7e9, used
    )
    adm.store.add_passkey(key)
    return key


def test_the_user_page_lists_passkeys_with_the_tokens(adm: Admin) -> None:
    key = _passkey(adm, "Laptop <b>", used=1.75e9)
    adm.sign_in()
    page = adm.client.get("/admin/users/alice").text
    assert ">Laptop &lt;b&gt;</td>" in page and ">Passkey</td>" in page
    assert "2023-11-14 22:13" in page and "2025-06-15 15:06" in page  # created, last used
    assert f"remove-token?token={key.id}" in page
    # Oldest first: the passkey (2023) before alice's token (created when the test started).
    assert page.index("Laptop &lt;b&gt;") < page.index("remove-token?token=" + _first(adm))
    form = adm.client.get(f"/admin/users/alice/remove-token?token={key.id}").text
    assert f'<option value="{key.id}" selected>' in form and "(WEBAUTHN)" in form


def _first(adm: Admin) -> str:
    return adm.store.get("alice").meta.id  # type: ignore[union-attr]


def test_a_passkey_is_removed_after_a_step_up_and_audited(adm: Admin) -> None:
    key = _passkey(adm)
    adm.sign_in()
    r = adm.post("/admin/users/alice/remove-token", token=key.id, pin="4321", code="000000")
    assert r.status_code == 403 and adm.store.passkeys("alice") == [key]
    r = adm.post("/admin/users/alice/remove-token", token=key.id, **adm.fresh())
    assert r.status_code == 303 and r.headers["location"].endswith("done=token-removed")
    assert adm.store.passkeys("alice") == []
    [line] = [x for x in adm.admin_lines() if x["action"] == "remove_token"]
    assert line["detail"] == f"WEBAUTHN {key.id}" and line["actor"] == "root"


def test_the_last_authenticator_of_any_kind_stays(adm: Admin) -> None:
    key = _passkey(adm)
    adm.sign_in()
    # The only token goes: alice keeps her passkey.
    r = adm.post("/admin/users/alice/remove-token", token=_first(adm), **adm.fresh())
    assert r.status_code == 303
    record = adm.store.get("alice")
    assert record is not None and record.tokens() == ()
    page = adm.client.get("/admin/users/alice")
    assert page.status_code == 200 and "remove-token" not in page.text  # the last: no link
    adm.clock.advance(30)
    r = adm.post("/admin/users/alice/remove-token", token=key.id, **adm.fresh())
    assert r.status_code == 409 and "only authenticator" in r.text
    assert adm.store.passkeys("alice") == [key]
    # A passkey-only user in the list: no token kind shown, no traceback.
    assert adm.client.get("/admin?q=alice").status_code == 200
