"""``/account``'s authenticators: listed, an app added, renamed, removed (never the last)."""

from __future__ import annotations

import re
from typing import Any

from otpgate.otp.tokens import parse_token_type, parse_uri
from otpgate.otp.verify import generate
from otpgate.store.authenticators import OtpToken, TokenMeta

from .conftest import PIN, App, AppFactory, code, csrf_token
from .test_selfservice_pages import account_post, post, signed_in

SPARE_KEY = bytes(range(40, 60))


def _spare(g: App) -> str:
    kept = g.store.add_token(
        "alice", OtpToken(parse_token_type("HOTP/E"), SPARE_KEY, TokenMeta(name="Schrank"))
    )
    return kept.meta.id


def test_the_page_lists_every_authenticator(gate: App) -> None:
    _spare(gate)
    signed_in(gate)
    text = gate.client.get("/account").text
    assert "Your authenticators" in text
    assert ">Schrank</td>" in text and "HOTP: a new code at each press" in text
    assert "TOTP: a new code every 30 seconds" in text
    assert 'name="action" value="token_remove"' in text  # two: one may go
    assert SPARE_KEY.hex() not in text
    german = gate.client.get("/account", headers={"Accept-Language": "de"}).text
    assert "Ihre Authenticatoren" in german and "Authenticator entfernen" in german


def test_with_one_authenticator_there_is_no_remove_form(gate: App) -> None:
    signed_in(gate)
    text = gate.client.get("/account").text
    assert "Your authenticators" in text and 'value="token_remove"' not in text


def test_add_an_app_after_pin_and_a_fresh_code(gate: App) -> None:
    signed_in(gate)
    r = account_post(gate, action="token_add", name="Zweithandy", pin="0000", code=code(gate.clock))
    assert r.status_code == 401 and len(gate.store.get("alice").tokens()) == 1  # type: ignore[union-attr]
    gate.clock.advance(30)
    r = account_post(gate, action="token_add", name="Zweithandy", pin=PIN, code=code(gate.clock))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert '<svg role="img"' in r.text and "Zweithandy" in r.text
    uri = re.search(r'id="uri"><a href="([^"]+)"', r.text)
    pending = re.search(r'name="pending" value="([^"]+)"', r.text)
    assert uri is not None and pending is not None
    parsed = parse_uri(uri.group(1).replace("&amp;", "&"))
    # Kept once a code from the new app confirms it (test_account_new_app.py: the rules).
    fields = {"action": "token_confirm", "pending": pending.group(1)}
    done = post(gate, "/account", r, code=code(gate.clock, parsed.key), **fields)
    assert done.status_code == 200 and "The new app has been added." in done.text
    record = gate.store.get("alice")
    assert record is not None and [t.meta.name for t in record.tokens()] == ["token", "Zweithandy"]
    assert record.more[0].key == parsed.key
    # The new app signs in with its next code.
    gate.clock.advance(30)
    gate.client.cookies.clear()
    page = gate.client.get("/login")
    new_code = generate(record.more[0].token(), now=gate.clock())
    fields = {"username": "alice", "pin": PIN, "code": new_code, "csrf": csrf_token(page.text)}
    assert gate.client.post("/login", data=fields).status_code == 303


def test_an_app_needs_a_name(gate: App) -> None:
    signed_in(gate)
    r = account_post(gate, action="token_add", name="", pin=PIN, code=code(gate.clock))
    assert r.status_code == 400 and 'id="ta-name-error"' in r.text
    # The code was not spent on a refused form.
    r = account_post(gate, action="token_add", name="ok", pin=PIN, code=code(gate.clock))
    assert r.status_code == 200


def test_rename(gate: App) -> None:
    spare = _spare(gate)
    signed_in(gate)
    r = account_post(gate, action="token_rename", token=spare, name="Im Safe")
    assert r.status_code == 200 and "The name has been changed." in r.text
    assert gate.store.get("alice").more[0].meta.name == "Im Safe"  # type: ignore[union-attr]
    r = account_post(gate, action="token_rename", token=spare, name="a\x07b")
    assert r.status_code == 400
    r = account_post(gate, action="token_rename", token="nope", name="x")
    assert r.status_code == 404


def test_remove_needs_pin_and_code_and_never_takes_the_last(gate: App) -> None:
    spare = _spare(gate)
    signed_in(gate)
    r = account_post(gate, action="token_remove", token=spare, pin="0000", code=code(gate.clock))
    assert r.status_code == 401 and len(gate.store.get("alice").tokens()) == 2  # type: ignore[union-attr]
    gate.clock.advance(30)
    r = account_post(gate, action="token_remove", token=spare, pin=PIN, code=code(gate.clock))
    assert r.status_code == 200 and "it no longer signs you in" in r.text
    record = gate.store.get("alice")
    assert record is not None and record.more == ()
    gate.clock.advance(30)
    r = account_post(
        gate, action="token_remove", token=record.meta.id, pin=PIN, code=code(gate.clock)
    )
    assert r.status_code == 409 and "only authenticator" in r.text
    assert gate.store.get("alice") is not None


def test_removing_the_first_keeps_this_browser_signed_in(make_gate: AppFactory) -> None:
    g = make_gate()
    spare_id = _spare(g)
    signed_in(g)
    other = g.client.cookies["otpgate_session"]
    first = g.store.get("alice").meta.id  # type: ignore[union-attr]
    r = account_post(g, action="token_remove", token=first, pin=PIN, code=code(g.clock))
    assert r.status_code == 200, r.text
    record = g.store.get("alice")
    assert record is not None and record.meta.id == spare_id
    # Every other session was bound to the removed token; this browser has a new one.
    # At once in this process (other processes: within state_ttl, with Redis at once).
    g.clock.advance(0.5)
    assert g.client.get("/auth", headers={"Cookie": f"otpgate_session={other}"}).status_code == 401
    assert g.client.get("/auth").status_code == 200


def test_the_pages_keep_a_strict_csp_and_no_script(gate: App) -> None:
    _spare(gate)
    signed_in(gate)
    page: Any = gate.client.get("/account")
    r = account_post(gate, action="token_add", name="neu", pin=PIN, code=code(gate.clock))
    for response in (page, r):
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "<script" not in response.text and " style=" not in response.text
