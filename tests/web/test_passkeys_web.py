"""Passkeys through the portal's HTTP (a software authenticator stands in for the browser's).

Registration on /account (after the PIN and a fresh code) and from an
invitation; sign-in with user name + PIN + passkey and with the passkey
alone; the same session cookie as a code sign-in; the pages without
JavaScript; passkeys off without an RP ID.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from otpgate.store.passkeys import PasskeyStore
from soft_authenticator import UP, SoftAuthenticator, challenge_of

from .conftest import PIN, App, AppFactory, code, csrf_token
from .test_selfservice_pages import NEW_PIN, choose_pin, invite, post

ORIGIN = "https://auth.example.com"
PASSKEYS = {"webauthn_rp_id": "example.com", "webauthn_origins": [ORIGIN]}


@pytest.fixture
def pk_gate(make_gate: AppFactory) -> App:
    return make_gate(**PASSKEYS)


def options(g: App, page: Any, purpose: str, **fields: str) -> tuple[str, dict[str, Any]]:
    r = post(g, "/passkey/options", page, purpose=purpose, **fields)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    got = r.json()
    return got["handle"], got["publicKey"]


def add_on_account(g: App, soft: SoftAuthenticator, name: str = "Laptop") -> Any:
    """Sign in with a code, then register ``soft`` on /account."""
    assert g.login().status_code == 303
    page = g.client.get("/account")
    handle, opts = options(g, page, "register")
    g.clock.advance(30)  # a fresh code for the step-up
    return post(
        g,
        "/account",
        page,
        action="passkey",
        name=name,
        pin=PIN,
        code=code(g.clock),
        handle=handle,
        credential=soft.create(challenge_of(opts)),
    )


def passkey_login(
    g: App, soft: SoftAuthenticator, user: str = "", pin: str = "", ip: str = "", **kw: Any
) -> Any:
    page = g.client.get("/login")
    handle, opts = options(g, page, "login", username=user)
    answer = soft.get(challenge_of(opts), **kw)
    fields = {"handle": handle, "credential": answer, "rd": "", "csrf": csrf_token(page.text)}
    if user:
        fields.update(username=user, pin=pin)
    headers = {"X-Forwarded-For": ip} if ip else {}
    return g.client.post("/passkey", data=fields, headers=headers)


def test_the_pages_work_without_javascript_and_say_so(pk_gate: App, make_gate: AppFactory) -> None:
    page = pk_gate.client.get("/login")
    assert '<script src="static/passkeys.js" defer></script>' in page.text
    assert "Passkeys need JavaScript" in page.text
    assert page.text.count('data-passkey="') == 2 and page.text.count("disabled>") == 2
    assert "RADIUS (VPN, Wi-Fi) and PAM (SSH) cannot use a passkey" in page.text
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "<script>" not in page.text
    )
    js = pk_gate.client.get("/static/passkeys.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "navigator.credentials" in js.text
    # Without an RP ID (and portal_url a path), no passkeys anywhere.
    off = make_gate()
    page = off.client.get("/login")
    assert "passkey" not in page.text.lower() and "<script" not in page.text
    assert off.client.post("/passkey/options").status_code == 404
    assert off.client.get("/static/passkeys.js").status_code == 404


def test_register_on_account_then_sign_in_both_ways(pk_gate: App) -> None:
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    done = add_on_account(g, soft)
    assert done.status_code == 200 and "Your passkey has been added." in done.text
    assert "<td>Laptop</td>" in done.text
    g.client.cookies.clear()
    r = passkey_login(g, soft, "alice", PIN, flags=UP)
    assert r.status_code == 303 and "otpgate_session" in r.headers.get("set-cookie", "")
    g.client.cookies.clear()
    r = passkey_login(g, soft)  # no user name, no PIN: the authenticator verified the user
    assert r.status_code == 303 and "otpgate_session" in r.headers["set-cookie"]
    assert g.client.get("/account").status_code == 200  # signed in as alice
    store: PasskeyStore = g.store
    (pk,) = store.passkeys("alice")
    assert pk.sign_count == 2 and pk.last_used == g.clock()


def test_registration_needs_the_pin_and_a_fresh_code(pk_gate: App) -> None:
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    assert g.login().status_code == 303
    page = g.client.get("/account")
    handle, opts = options(g, page, "register")
    answer = soft.create(challenge_of(opts))
    fields = {"action": "passkey", "name": "Laptop", "handle": handle, "credential": answer}
    r = post(g, "/account", page, pin="9999", code=code(g.clock, offset=1), **fields)
    assert r.status_code == 401
    r = post(g, "/account", page, pin=PIN, code=code(g.clock), **fields)  # the login's code
    assert r.status_code == 401
    assert g.store.passkeys("alice") == []
    # Options for registration need a session.
    g.client.cookies.clear()
    page = g.client.get("/login")
    assert post(g, "/passkey/options", page, purpose="register").status_code == 403


def test_refusals_show_the_login_form_again(pk_gate: App) -> None:
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    add_on_account(g, soft)
    g.client.cookies.clear()
    r = passkey_login(g, soft, "alice", "0000")
    assert r.status_code == 401 and "The passkey, user name or PIN was not accepted." in r.text
    evil = SoftAuthenticator(origin="https://auth.example.com.evil.net", key=soft.key)
    evil.credential_id, evil.count = soft.credential_id, soft.count
    r = passkey_login(g, evil, "alice", PIN)
    assert r.status_code == 401  # a phishing site's origin
    page = g.client.get("/login")
    r = post(g, "/passkey", page, handle="x", credential="{")
    assert r.status_code == 401
    r = g.client.post("/passkey", data={"handle": "x", "credential": "{}"})
    assert r.status_code == 403  # no CSRF token


def test_enrol_from_an_invitation_with_a_passkey(pk_gate: App) -> None:
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    token = invite(g, "dora")
    assert choose_pin(g, token).status_code == 303
    page = g.client.get(f"/enrol/{token}")
    assert "Or use a passkey instead of an app" in page.text
    assert '<script src="../static/passkeys.js" defer></script>' in page.text
    # Options before the PIN is chosen, or for another link, are refused.
    handle, opts = options(g, page, "enrol", token=token)
    assert opts["user"]["name"] == "dora"
    answer = soft.create(challenge_of(opts))
    done = post(
        g, f"/enrol/{token}", page, step="passkey", name="Phone", handle=handle, credential=answer
    )
    assert done.status_code == 200, done.text
    assert "Your passkey is registered." in done.text
    assert [p.name for p in g.store.passkeys("dora")] == ["Phone"]
    again = post(
        g, f"/enrol/{token}", page, step="passkey", name="Phone", handle=handle, credential=answer
    )
    assert again.status_code == 410  # the link is used
    g.client.cookies.clear()
    r = passkey_login(g, soft, "dora", NEW_PIN)
    assert r.status_code == 303


def test_an_unfinished_link_gets_no_passkey_options(pk_gate: App) -> None:
    g = pk_gate
    token = invite(g, "erik")
    page = g.client.get(f"/enrol/{token}")
    r = post(g, "/passkey/options", page, purpose="enrol", token=token)  # no PIN chosen yet
    assert r.status_code == 403
    r = post(g, "/passkey/options", page, purpose="enrol", token="nonsense")
    assert r.status_code == 403
    r = post(g, "/passkey/options", page, purpose="other")
    assert r.status_code == 400


def test_options_do_not_tell_which_names_have_passkeys(pk_gate: App) -> None:
    g = pk_gate
    page = g.client.get("/login")
    shapes = []
    for name in ("alice", "nobody"):
        _, opts = options(g, page, "login", username=name)
        shapes.append(sorted(json.dumps(c, sort_keys=True) for c in opts["allowCredentials"]))
    assert len(shapes[0]) == len(shapes[1]) == 1 and shapes[0] != shapes[1]


def test_remove_a_passkey_after_the_pin_and_a_fresh_code(pk_gate: App) -> None:
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    add_on_account(g, soft)
    (pk,) = g.store.passkeys("alice")
    page = g.client.get("/account")
    # One list and one removal form for every kind of authenticator.
    assert f'<option value="{pk.id}">Laptop (Passkey)</option>' in page.text
    g.clock.advance(30)
    fields = {"action": "token_remove", "token": pk.id, "pin": PIN}
    wrong = post(g, "/account", page, code="000000", **fields)
    assert wrong.status_code == 401 and g.store.passkeys("alice") == [pk]
    other = post(g, "/account", page, **{**fields, "token": "nope"}, code=code(g.clock))
    assert other.status_code == 404 and g.store.passkeys("alice") == [pk]
    g.clock.advance(30)
    done = post(g, "/account", page, code=code(g.clock), **fields)
    assert done.status_code == 200 and "it no longer signs you in" in done.text
    assert g.store.passkeys("alice") == []
    g.client.cookies.clear()
    assert passkey_login(g, soft).status_code == 401  # gone for good


def test_an_enrolment_with_a_taken_passkey_keeps_the_link(pk_gate: App) -> None:
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    add_on_account(g, soft)  # alice's
    g.client.cookies.clear()
    token = invite(g, "dora")
    assert choose_pin(g, token).status_code == 303
    page = g.client.get(f"/enrol/{token}")
    handle, opts = options(g, page, "enrol", token=token)
    taken = post(
        g,
        f"/enrol/{token}",
        page,
        step="passkey",
        name="Phone",
        handle=handle,
        credential=soft.create(challenge_of(opts)),
    )
    assert taken.status_code == 400 and "could not be added" in taken.text
    assert g.store.get("dora") is None
    assert g.client.get(f"/enrol/{token}").status_code == 200  # the link still works


def test_a_gate_without_passkeys_never_loads_the_webauthn_library() -> None:
    import subprocess
    import sys

    code_ = (
        "import sys, otpgate.web, otpgate.cli\n"
        "from otpgate.web import create_app\n"
        "assert 'webauthn' not in sys.modules, 'loaded'\n"
        "import otpgate.login.passkeys\n"
        "assert 'webauthn' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code_], check=True)


def test_the_device_cookie_keeps_a_passkey_sign_in_out_of_a_spent_budget(pk_gate: App) -> None:
    from .test_budget_web import _spend_the_budget_through_the_api

    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    done = add_on_account(g, soft)  # signed in with a code: this browser has a device cookie
    assert done.status_code == 200
    device = g.client.cookies["otpgate_device"]
    _spend_the_budget_through_the_api(g)
    away = "203.0.113.9"  # not where alice signed in from
    g.client.cookies.clear()
    assert passkey_login(g, soft, ip=away).status_code == 429  # a stranger's browser waits
    g.client.cookies.clear()
    g.client.cookies.set("otpgate_device", device)
    assert passkey_login(g, soft, ip=away).status_code == 303  # alice's own browser does not


def test_a_passkey_is_renamed_on_the_account_page_like_a_token(pk_gate: App) -> None:
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    add_on_account(g, soft)
    (pk,) = g.store.passkeys("alice")
    page = g.client.get("/account")
    assert f'name="token" value="{pk.id}"' in page.text  # its row has the rename form
    r = post(g, "/account", page, action="token_rename", token=pk.id, name="Work laptop")
    assert r.status_code == 200 and "The name has been changed." in r.text
    assert [p.name for p in g.store.passkeys("alice")] == ["Work laptop"]
    bad = post(g, "/account", page, action="token_rename", token=pk.id, name="x\x07")
    assert bad.status_code == 400 and [p.name for p in g.store.passkeys("alice")] == ["Work laptop"]
