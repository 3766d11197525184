"""A user enrolled with a passkey through the portal holds no OTP key (issue 20).

The enrolment page shows the invitation's key as a QR code before the user
picks a passkey instead; a code from that key must not open ``/auth``
(Basic) afterwards: refused like a wrong code, never a 500.  On ``/account``
the last authenticator, of whatever kind, is refused with the page's own
message (not a store error).
"""

from __future__ import annotations

from otpgate.login import recovery
from otpgate.otp.algorithms import totp
from soft_authenticator import SoftAuthenticator, challenge_of

from .conftest import PIN, App, code
from .test_forward_auth import basic
from .test_passkeys_web import ORIGIN, add_on_account, options, pk_gate  # noqa: F401
from .test_selfservice_pages import NEW_PIN, choose_pin, invite, post, scan


def test_the_key_the_enrolment_page_showed_opens_nothing(pk_gate: App) -> None:  # noqa: F811
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    token = invite(g, "dora")
    assert choose_pin(g, token).status_code == 303
    page, shown = scan(g, token)  # the QR code the page showed
    handle, opts = options(g, page, "enrol", token=token)
    answer = soft.create(challenge_of(opts))
    done = post(
        g, f"/enrol/{token}", page, step="passkey", name="Phone", handle=handle, credential=answer
    )
    assert done.status_code == 200, done.text
    record = g.store.get("dora")
    assert record is not None and record.tokens() == ()
    g.client.cookies.clear()
    for _ in range(3):
        g.clock.advance(30)
        r = g.client.get(
            "/auth", headers={"Authorization": basic("dora", NEW_PIN + totp(shown, g.clock()))}
        )
        assert r.status_code == 401 and "remote-user" not in r.headers
    wrong = g.client.get("/auth", headers={"Authorization": basic("alice", PIN + "000000")})
    assert wrong.status_code == 401


def test_account_refuses_the_last_passkey_with_its_message(pk_gate: App) -> None:  # noqa: F811
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    assert add_on_account(g, soft).status_code == 200
    (pk,) = g.store.passkeys("alice")
    page = g.client.get("/account")
    # The token goes elsewhere meanwhile (another tab, an administrator).
    only = g.store.get("alice")
    assert only is not None
    assert g.store.remove_token("alice", only.first().meta.id)
    [spare] = recovery.generate(1)
    g.store.set_recovery_codes("alice", [recovery.digest("alice", spare)])
    fields = {"action": "token_remove", "token": pk.id, "pin": PIN, "code": spare}
    r = post(g, "/account", page, **fields)
    assert r.status_code == 409 and "only authenticator" in r.text
    assert g.store.passkeys("alice") == [pk]


def test_account_removes_the_only_token_of_a_user_with_a_passkey(pk_gate: App) -> None:  # noqa: F811
    """The removal form is offered (two authenticators), and after it the page still works."""
    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    assert add_on_account(g, soft).status_code == 200
    page = g.client.get("/account")
    assert 'value="token_remove"' in page.text
    only = g.store.get("alice")
    assert only is not None
    g.clock.advance(30)
    fields = {"action": "token_remove", "token": only.first().meta.id, "pin": PIN}
    r = post(g, "/account", page, code=code(g.clock), **fields)
    assert r.status_code == 200, r.text
    record = g.store.get("alice")
    assert record is not None and record.tokens() == ()
    # This browser keeps a session; the page lists the passkey and offers no removal.
    again = g.client.get("/account")
    assert again.status_code == 200 and "Laptop" in again.text
    assert 'value="token_remove"' not in again.text


def test_a_passkey_only_user_adds_an_app_and_still_signs_in_with_the_passkey(
    pk_gate: App,  # noqa: F811
) -> None:
    """The first token of a passkey-only user changes what sessions are bound to: the
    sign-ins after it (passkey alone, and PIN + the new app's code) must hold on /account."""
    from .test_account_new_app import _shown
    from .test_passkey_step_up import _step_up
    from .test_passkeys_web import passkey_login

    g, soft = pk_gate, SoftAuthenticator(origin=ORIGIN)
    token = invite(g, "dora")
    assert choose_pin(g, token).status_code == 303
    page, _enrol_key = scan(g, token)
    handle, opts = options(g, page, "enrol", token=token)
    answer = soft.create(challenge_of(opts))
    fields = {"step": "passkey", "name": "Phone", "handle": handle, "credential": answer}
    assert post(g, f"/enrol/{token}", page, **fields).status_code == 200
    g.client.cookies.clear()
    assert passkey_login(g, soft).status_code == 303
    page = g.client.get("/account")
    assert page.status_code == 200 and "dora" in page.text
    step = _step_up(g, page, soft)
    r = post(g, "/account", page, action="token_add", name="Tablet", pin=NEW_PIN, **step)
    assert r.status_code == 200 and "Confirm with a code from the new app" in r.text
    key, handle = _shown(r)
    g.clock.advance(30)
    done = post(g, "/account", r, action="token_confirm", pending=handle, code=totp(key, g.clock()))
    assert done.status_code == 200 and "The new app has been added." in done.text, done.text
    # This browser's session goes on, also once every cached read is stale.
    g.clock.advance(600)
    assert g.client.get("/account").status_code == 200, "the session that added the app holds"
    g.client.cookies.clear()
    assert passkey_login(g, soft).status_code == 303
    g.clock.advance(600)
    assert g.client.get("/account").status_code == 200, "the passkey's new session holds"
