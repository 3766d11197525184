"""A step-up with the PIN and a passkey instead of a fresh code, on /account and /admin.

Adversarial: user verification required, the challenge single use and bound
to the user and to the step-up (a step-up's assertion does not sign in, a
sign-in's does not confirm a change), the same throttle, guess budget and
audit as a code step-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from soft_authenticator import UP, UV, SoftAuthenticator, challenge_of

from .conftest import PIN, App, csrf_token
from .test_admin import ROOT_KEY, Admin
from .test_passkeys_web import ORIGIN, PASSKEYS, add_on_account, options, passkey_login, pk_gate
from .test_selfservice_pages import post

__all__ = ["pk_gate"]  # the fixture, used by name


def _step_up(g: App, page: Any, soft: SoftAuthenticator, flags: int = UP | UV) -> dict[str, str]:
    """The step-up fields: a step-up challenge answered by ``soft``."""
    handle, opts = options(g, page, "step-up")
    assert opts["userVerification"] == "required"
    return {"step_handle": handle, "step_credential": soft.get(challenge_of(opts), flags=flags)}


def _registered(g: App) -> SoftAuthenticator:
    soft = SoftAuthenticator(origin=ORIGIN)
    assert add_on_account(g, soft).status_code == 200
    return soft


def test_account_changes_with_the_pin_and_a_passkey(pk_gate: App) -> None:
    g = pk_gate
    soft = _registered(g)
    page = g.client.get("/account")
    assert "Confirm with PIN and passkey" in page.text and 'name="step_credential"' in page.text
    r = post(g, "/account", page, action="codes", pin=PIN, **_step_up(g, page, soft))
    assert r.status_code == 200 and "New recovery codes" in r.text
    page = g.client.get("/account")
    r = post(
        g, "/account", page, action="token_add", name="Tablet", pin=PIN, **_step_up(g, page, soft)
    )
    assert r.status_code == 200 and "Confirm with a code from the new app" in r.text


def test_a_passkey_step_up_adds_a_second_passkey(pk_gate: App) -> None:
    """Both ceremonies in one form: the step-up's assertion, then the new passkey."""
    g = pk_gate
    soft = _registered(g)
    page = g.client.get("/account")
    # Without JavaScript the button is disabled and says why; the code step-up stays.
    assert 'data-passkey="step-up" data-options="passkey/options"' in page.text
    assert "Passkeys need JavaScript" in page.text
    second = SoftAuthenticator(origin=ORIGIN)
    handle, opts = options(g, page, "register")
    fields = {"handle": handle, "credential": second.create(challenge_of(opts))}
    fields.update(_step_up(g, page, soft))
    r = post(g, "/account", page, action="passkey", name="Phone", pin=PIN, **fields)
    assert r.status_code == 200 and "Your passkey has been added." in r.text
    assert sorted(p.name for p in g.store.passkeys("alice")) == ["Laptop", "Phone"]


def test_without_passkeys_there_is_no_passkey_step_up(pk_gate: App) -> None:
    g = pk_gate
    assert g.login().status_code == 303
    page = g.client.get("/account")
    assert "Confirm with PIN and passkey" not in page.text


def test_a_step_up_needs_user_verification_and_the_pin(pk_gate: App) -> None:
    g = pk_gate
    soft = _registered(g)
    page = g.client.get("/account")
    r = post(g, "/account", page, action="codes", pin=PIN, **_step_up(g, page, soft, flags=UP))
    assert r.status_code == 401 and "New recovery codes" not in r.text
    r = post(g, "/account", page, action="codes", pin="0000", **_step_up(g, page, soft))
    assert r.status_code == 401
    r = post(g, "/account", page, action="codes", pin="", **_step_up(g, page, soft))
    assert r.status_code == 401


def test_the_step_up_challenge_is_single_use(pk_gate: App) -> None:
    g = pk_gate
    soft = _registered(g)
    page = g.client.get("/account")
    fields = _step_up(g, page, soft)
    assert post(g, "/account", page, action="codes", pin=PIN, **fields).status_code == 200
    assert post(g, "/account", page, action="codes", pin=PIN, **fields).status_code == 401


def test_a_step_up_assertion_does_not_sign_in_and_a_sign_in_does_not_step_up(
    pk_gate: App,
) -> None:
    g = pk_gate
    soft = _registered(g)
    page = g.client.get("/account")
    fields = _step_up(g, page, soft)
    g.client.cookies.clear()
    login = g.client.get("/login")
    data = {"handle": fields["step_handle"], "credential": fields["step_credential"]}
    data.update(username="alice", pin=PIN, rd="", csrf=csrf_token(login.text))
    assert g.client.post("/passkey", data=data).status_code == 401
    data.pop("username"), data.pop("pin")
    assert g.client.post("/passkey", data=data).status_code == 401  # nor without a name
    # A sign-in's challenge, answered, does not confirm a change.
    assert passkey_login(g, soft).status_code == 303
    page = g.client.get("/account")
    handle, opts = options(g, page, "login", username="alice")
    answer = soft.get(challenge_of(opts))
    fields = {"step_handle": handle, "step_credential": answer}
    r = post(g, "/account", page, action="codes", pin=PIN, **fields)
    assert r.status_code == 401


def test_another_users_step_up_or_passkey_is_refused(pk_gate: App) -> None:
    from otpgate.otp.tokens import TokenType
    from otpgate.store.records import Pin, UserRecord

    g = pk_gate
    soft = _registered(g)  # alice's passkey
    g.store.add(UserRecord("bob", TokenType("HOTP", 30, 6), bytes(range(20)), Pin("plain", PIN)))
    page = g.client.get("/account")
    fields = _step_up(g, page, soft)
    # bob's session with alice's step-up challenge and passkey.
    g.client.cookies.clear()
    from .conftest import code

    login = g.client.get("/login")
    data = {"username": "bob", "pin": PIN, "code": code(g.clock, bytes(range(20)))}
    assert g.client.post("/login", data={**data, "csrf": csrf_token(login.text)}).status_code == 303
    page = g.client.get("/account")
    assert post(g, "/account", page, action="codes", pin=PIN, **fields).status_code == 401
    # bob's own step-up challenge answered by alice's passkey.
    assert (
        post(g, "/account", page, action="codes", pin=PIN, **_step_up(g, page, soft)).status_code
        == 401
    )


def test_step_up_options_need_a_session(pk_gate: App) -> None:
    g = pk_gate
    page = g.client.get("/login")
    assert post(g, "/passkey/options", page, purpose="step-up").status_code == 403


def test_wrong_passkey_step_ups_are_throttled_like_codes(pk_gate: App) -> None:
    g = pk_gate
    soft = _registered(g)
    page = g.client.get("/account")
    statuses = []
    for _ in range(5):
        r = post(g, "/account", page, action="codes", pin="0000", **_step_up(g, page, soft))
        statuses.append(r.status_code)
    assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429
    # The throttled pair waits even with the right PIN.
    r = post(g, "/account", page, action="codes", pin=PIN, **_step_up(g, page, soft))
    assert r.status_code == 429


def test_a_step_up_is_audited_like_a_sign_in(pk_gate: App, tmp_path: Path) -> None:
    from otpgate.audit.writer import AuditLog

    g = pk_gate
    soft = _registered(g)
    g.authenticator.audit = AuditLog(str(tmp_path / "audit.log"))
    page = g.client.get("/account")
    assert (
        post(g, "/account", page, action="codes", pin=PIN, **_step_up(g, page, soft)).status_code
        == 200
    )
    lines = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    assert any(x.get("reason") == "passkey" and x.get("user") == "alice" for x in lines), lines


# -- /admin ------------------------------------------------------------------------------


def _admin_with_passkey(tmp: Path) -> tuple[Admin, SoftAuthenticator]:
    adm = Admin(tmp, **PASSKEYS)
    adm.sign_in()
    soft = SoftAuthenticator(origin=ORIGIN)
    page = adm.client.get("/account")
    r = adm.client.post(
        "/passkey/options", data={"csrf": csrf_token(page.text), "purpose": "register"}
    )
    got = r.json()
    fields = {"action": "passkey", "name": "Key", "handle": got["handle"]}
    fields["credential"] = soft.create(challenge_of(got["publicKey"]))
    step = adm.fresh()
    r = adm.client.post("/account", data={"csrf": csrf_token(page.text), **fields, **step})
    assert r.status_code == 200 and "Your passkey has been added." in r.text
    return adm, soft


def _admin_step_up(adm: Admin, path: str, soft: SoftAuthenticator, **kw: Any) -> dict[str, str]:
    page = adm.client.get(path)
    r = adm.client.post(
        "/passkey/options", data={"csrf": csrf_token(page.text), "purpose": "step-up"}
    )
    got = r.json()
    answer = soft.get(challenge_of(got["publicKey"]), **kw)
    return {"step_handle": got["handle"], "step_credential": answer}


def test_an_administrator_steps_up_with_pin_and_passkey(tmp_path: Path) -> None:
    adm, soft = _admin_with_passkey(tmp_path)
    try:
        path = "/admin/users/alice/remove"
        page = adm.client.get(path)
        assert "Confirm with PIN and passkey" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert 'src="../../../static/passkeys.js"' in page.text
        # No user verification, or a wrong PIN: refused.
        r = adm.post(path, pin="4321", **_admin_step_up(adm, path, soft, flags=UP))
        assert r.status_code == 403 and adm.store.get("alice") is not None
        r = adm.post(path, pin="0000", **_admin_step_up(adm, path, soft))
        assert r.status_code == 403 and adm.store.get("alice") is not None
        r = adm.post(path, pin="4321", **_admin_step_up(adm, path, soft))
        assert r.status_code == 303 and adm.store.get("alice") is None
        assert ROOT_KEY.hex() not in adm.audit_path.read_text()
    finally:
        adm.client.close()


def test_admin_pages_without_passkeys_load_no_script(tmp_path: Path) -> None:
    adm = Admin(tmp_path)
    try:
        adm.sign_in()
        page = adm.client.get("/admin/users/alice/remove")
        assert (
            "<script" not in page.text
            and "script-src" not in page.headers["content-security-policy"]
        )
        assert "Confirm with PIN and passkey" not in page.text
    finally:
        adm.client.close()


# -- conditional mediation on /login ------------------------------------------------------


def test_the_user_name_field_offers_passkeys_in_autofill(pk_gate: App, gate: App) -> None:
    page = pk_gate.client.get("/login")
    assert 'autocomplete="username webauthn"' in page.text
    js = pk_gate.client.get("/static/passkeys.js").text
    assert 'mediation: "conditional"' in js and "isConditionalMediationAvailable" in js
    assert "AbortController" in js and ".abort()" in js
    # Without passkeys the field is a plain user name.
    assert 'autocomplete="username"' in gate.client.get("/login").text
