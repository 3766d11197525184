"""``/account``'s new app is kept only once a code from it confirms it (adversarial).

The key waits sealed, single use, bound to the user and the session, for ten
minutes; a wrong code lets the user try again (a few times, each counted by
the Regulator), never unlimited; abandoned keys expire and leave no token.
"""

from __future__ import annotations

import re
from typing import Any

from otpgate.accounts.pending_apps import TRIES, TTL
from otpgate.otp.keys import decode_key
from otpgate.otp.tokens import TokenType
from otpgate.store.records import Pin, UserRecord

from .conftest import KEY, PIN, App, AppFactory, code, csrf_token
from .test_selfservice_pages import account_post, post, signed_in


def _tokens(g: App, user: str = "alice") -> list[str]:
    record = g.store.get(user)
    assert record is not None
    return [t.meta.name for t in record.tokens()]


def _start(g: App, name: str = "Tablet") -> tuple[Any, bytes, str]:
    """Ask for a new app (PIN and a fresh code); the confirm page, the new key, the handle."""
    r = account_post(g, action="token_add", name=name, pin=PIN, code=code(g.clock))
    assert r.status_code == 200, r.text
    return r, *_shown(r)


def _shown(r: Any) -> tuple[bytes, str]:
    key = re.search(r'id="key">([A-Z2-7 ]+)<', r.text)
    handle = re.search(r'name="pending" value="([^"]+)"', r.text)
    assert key is not None and handle is not None, r.text
    return decode_key(key.group(1).replace(" ", ""), "base32"), handle.group(1)


def _confirm(g: App, page: Any, handle: str, typed: str) -> Any:
    return post(g, "/account", page, action="token_confirm", pending=handle, code=typed)


def _login(g: App, key: bytes) -> int:
    page = g.client.get("/login")
    fields = {
        "username": "alice",
        "pin": PIN,
        "code": code(g.clock, key),
        "csrf": csrf_token(page.text),
    }
    status: int = g.client.post("/login", data=fields).status_code
    return status


def test_asking_for_an_app_keeps_no_token_until_its_code(gate: App) -> None:
    signed_in(gate)
    r, key, _handle = _start(gate)
    assert r.headers["cache-control"] == "no-store" and '<svg role="img"' in r.text
    assert "Confirm with a code from the new app" in r.text
    assert _tokens(gate) == ["token"]  # nothing kept yet
    # The shown key does not sign in: a key nobody scanned leaves nothing behind.
    gate.client.cookies.clear()
    assert _login(gate, key) == 401
    assert _tokens(gate) == ["token"]


def test_a_code_from_the_new_app_keeps_it_and_cannot_be_replayed(gate: App) -> None:
    signed_in(gate)
    r, key, handle = _start(gate)
    done = _confirm(gate, r, handle, code(gate.clock, key))
    assert done.status_code == 200 and "The new app has been added." in done.text
    assert _tokens(gate) == ["token", "Tablet"]
    record = gate.store.get("alice")
    assert record is not None and record.more[0].key == key
    # The confirming code is used up: it signs nobody in.
    gate.client.cookies.clear()
    assert _login(gate, key) == 401
    gate.clock.advance(30)
    assert _login(gate, key) == 303


def test_the_handle_is_single_use(gate: App) -> None:
    signed_in(gate)
    r, key, handle = _start(gate)
    assert _confirm(gate, r, handle, code(gate.clock, key)).status_code == 200
    gate.clock.advance(30)
    again = _confirm(gate, r, handle, code(gate.clock, key))
    assert again.status_code == 410 and "no longer valid" in again.text
    assert _tokens(gate) == ["token", "Tablet"]


def test_a_wrong_code_lets_the_user_retry_with_the_same_key(gate: App) -> None:
    signed_in(gate)
    r, key, handle = _start(gate)
    wrong = _confirm(gate, r, handle, code(gate.clock, KEY))  # the old app's code
    assert wrong.status_code == 400 and "not a current code of the new app" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    same_key, new_handle = _shown(wrong)
    assert same_key == key and new_handle != handle
    assert _tokens(gate) == ["token"]
    # The used handle is gone; the new one takes the right code.
    assert _confirm(gate, wrong, handle, code(gate.clock, key)).status_code == 410
    wrong = _confirm(gate, wrong, new_handle, "000000")
    assert wrong.status_code in (400, 429)
    gate.clock.advance(60)  # past any throttle the wrong codes started
    _, newest = _shown(wrong)
    assert _confirm(gate, wrong, newest, code(gate.clock, key)).status_code == 200
    assert _tokens(gate) == ["token", "Tablet"]


def test_wrong_codes_are_bounded_and_counted(gate: App) -> None:
    signed_in(gate)
    r, key, handle = _start(gate)
    page, statuses = r, []
    for _ in range(TRIES):
        gate.clock.advance(60)  # past the throttle: only the tries bound this
        page = _confirm(gate, page, handle, "123456")
        statuses.append(page.status_code)
        if page.status_code == 410:
            break
        _, handle = _shown(page)
    assert statuses == [400] * (TRIES - 1) + [410]
    # The key is gone: even its right code keeps nothing now.
    assert _confirm(gate, page, handle, code(gate.clock, key)).status_code == 410
    assert _tokens(gate) == ["token"]
    # Each wrong code was a counted guess: the pair's throttle holds the next sign-in.
    gate.client.cookies.clear()
    assert _login(gate, KEY) == 429


def test_a_wrong_code_is_throttled_like_a_sign_in(gate: App) -> None:
    signed_in(gate)
    r, key, handle = _start(gate)
    page = r
    for wrong in ("123456", "234567", "345678", "456789"):  # free failures, then a backoff
        page = _confirm(gate, page, handle, wrong)
        assert page.status_code == 400
        _, handle = _shown(page)
    page = _confirm(gate, page, handle, "654321")  # at once: the throttle answers first
    assert page.status_code == 429 and page.headers.get("retry-after")
    # The throttled answer judged nothing and kept the key: it still confirms.
    _, handle = _shown(page)
    gate.clock.advance(60)
    assert _confirm(gate, page, handle, code(gate.clock, key)).status_code == 200


def test_the_pending_key_expires(gate: App) -> None:
    signed_in(gate)
    r, key, handle = _start(gate)
    gate.clock.advance(TTL)
    late = _confirm(gate, r, handle, code(gate.clock, key))
    assert late.status_code == 410 and _tokens(gate) == ["token"]


def test_another_users_or_sessions_handle_is_refused(make_gate: AppFactory) -> None:
    g = make_gate()
    g.store.add(UserRecord("bob", TokenType("HOTP", 30, 6), bytes(range(20)), Pin("plain", PIN)))
    signed_in(g)
    _, key, handle = _start(g)
    # Another session of the same user (another browser, or after a PIN change).
    g.client.cookies.clear()
    g.clock.advance(30)
    assert g.login().status_code == 303
    page = g.client.get("/account")
    assert _confirm(g, page, handle, code(g.clock, key)).status_code == 410
    # The handle was used up by the refusal: alice's first browser cannot use it either.
    assert _tokens(g) == ["token"]
    # bob, with alice's handle of a second pending key.
    g.clock.advance(30)
    _r, key, handle = _start(g)
    g.client.cookies.clear()
    g.clock.advance(30)
    page = g.client.get("/login")
    fields = {"username": "bob", "pin": PIN, "csrf": csrf_token(page.text)}
    fields["code"] = code(g.clock, bytes(range(20)))
    assert g.client.post("/login", data=fields).status_code == 303
    page = g.client.get("/account")
    assert _confirm(g, page, handle, code(g.clock, key)).status_code == 410
    assert _tokens(g) == ["token"] and _tokens(g, "bob") == ["token"]


def test_made_up_or_missing_handles_are_refused(gate: App) -> None:
    signed_in(gate)
    page = gate.client.get("/account")
    for handle in ("", "x" * 65, "nope", "ä" * 10):
        r = _confirm(gate, page, handle, "123456")
        assert r.status_code == 410, handle
    # Without a session: sign in first, nothing judged.
    gate.client.cookies.clear()
    r = gate.client.post("/account", data={"action": "token_confirm", "pending": "x"})
    assert r.status_code in (303, 403)


def test_the_shared_state_holds_the_key_sealed(gate: App) -> None:
    signed_in(gate)
    _, key, _ = _start(gate)
    single = gate.authenticator.state._single  # type: ignore[attr-defined]
    held = b"".join(v for v, _ in single._entries.values())
    assert key not in held and key.hex().encode() not in held and b"alice" not in held


def test_the_confirm_page_in_german(gate: App) -> None:
    signed_in(gate)
    page = gate.client.get("/account", headers={"Accept-Language": "de"})
    fields = {"action": "token_add", "name": "Tablet", "pin": PIN, "code": code(gate.clock)}
    r = gate.client.post(
        "/account",
        data={"csrf": csrf_token(page.text), **fields},
        headers={"Accept-Language": "de"},
    )
    assert r.status_code == 200
    assert "Mit einem Code der neuen App bestätigen" in r.text
    assert "Bestätigen und App hinzufügen" in r.text


def test_odd_codes_are_wrong_codes_never_a_traceback(gate: App) -> None:
    signed_in(gate)
    r, _, handle = _start(gate)
    page = r
    for odd in ("٣٣٣٣٣٣", "\x00" * 6, "1" * 5000, "12 34 56", ""):
        gate.clock.advance(60)  # past the throttle
        page = _confirm(gate, page, handle, odd)
        assert page.status_code in (400, 410), odd
        if page.status_code == 410:
            break
        _, handle = _shown(page)
    assert _tokens(gate) == ["token"]
