"""The guess budget through the front ends: device cookies, known addresses, the API's ip.

Found by attacking it (issue 9): the API's ``ip`` field let any API client
take a fresh address per call, and so fresh throttle entries: 40 of 40
guesses were evaluated.  Now untrusted clients share one budget per user
(``auth.guess_budget``, 100 a day), and a browser with a device cookie or an
address the user logged in from keeps its own.
"""

from __future__ import annotations

import base64
import dataclasses

from otpgate.otp.tokens import TokenType
from otpgate.store.records import Pin, UserRecord

from .conftest import API_KEY, KEY, PIN, App, AppFactory, code, csrf_token

KEYED = {"X-API-Key": API_KEY}
HOME = "192.0.2.10"
BUDGET = 100  # AuthSettings().guess_budget


def _basic(password: str, user: str = "alice") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _spend_the_budget_through_the_api(g: App) -> None:
    """The issue's attack: a fresh ``ip`` per call; only the budget's worth is evaluated."""
    answers = []
    for i in range(BUDGET + 20):
        r = g.client.post(
            "/api/v1/check",
            json={"user": "alice", "password": PIN + "000000", "ip": f"10.9.{i // 250}.{i % 250}"},
            headers=KEYED,
        )
        answers.append(r.status_code)
    assert answers[:BUDGET] == [401] * BUDGET
    assert answers[BUDGET:] == [429] * 20


def _login(g: App, ip: str, cookies: dict[str, str], key: bytes = KEY) -> int:
    g.client.cookies.clear()
    page = g.client.get("/login")
    form = {
        "username": "alice",
        "pin": PIN,
        "code": code(g.clock, key),
        "csrf": csrf_token(page.text),
    }
    jar = "; ".join(f"{k}={v}" for k, v in {**page.cookies, **cookies}.items())
    r = g.client.post("/login", data=form, headers={"X-Forwarded-For": ip, "Cookie": jar})
    g.clock.advance(30)  # the next login needs the next code
    return r.status_code


def test_device_cookie_and_known_address_keep_the_user_in(make_gate: AppFactory) -> None:
    g = make_gate()
    # Before the attack: alice signs in at home; her browser gets a device cookie.
    page = g.client.get("/login")
    first = g.client.post(
        "/login",
        data={
            "username": "alice",
            "pin": PIN,
            "code": code(g.clock),
            "csrf": csrf_token(page.text),
        },
        headers={"X-Forwarded-For": HOME},
    )
    assert first.status_code == 303
    device = first.cookies["otpgate_device"]
    assert "HttpOnly" in str(first.headers.get_list("set-cookie"))
    g.clock.advance(30)

    _spend_the_budget_through_the_api(g)

    # A new place without the cookie waits (the price of the scheme) ...
    assert _login(g, "203.0.113.9", {}) == 429
    # ... her browser with its device cookie gets in from anywhere ...
    assert _login(g, "203.0.113.9", {"otpgate_device": device}) == 303
    # ... and so does any browser at home, a known address.
    assert _login(g, HOME, {}) == 303
    other = g.client.post(
        "/api/v1/check",
        json={"user": "alice", "password": PIN + code(g.clock), "ip": HOME},
        headers=KEYED,
    )
    # The API's claimed ip is never a known address, even the right one.
    assert other.status_code == 429


def test_basic_at_auth_earns_a_device_cookie(make_gate: AppFactory) -> None:
    g = make_gate()
    ok = g.client.get(
        "/auth",
        headers={"Authorization": _basic(PIN + code(g.clock)), "X-Forwarded-For": "198.51.100.4"},
    )
    assert ok.status_code == 200
    device = ok.cookies["otpgate_device"]
    g.clock.advance(30)
    _spend_the_budget_through_the_api(g)
    g.client.cookies.clear()
    fresh = {"Authorization": _basic(PIN + code(g.clock)), "X-Forwarded-For": "203.0.113.7"}
    refused = g.client.get("/auth", headers=fresh)
    assert refused.status_code == 401 and int(refused.headers["retry-after"]) > 3600
    with_cookie = g.client.get("/auth", headers={**fresh, "Cookie": f"otpgate_device={device}"})
    assert with_cookie.status_code == 200
    assert with_cookie.headers["remote-user"] == "alice"
    # A forged cookie is no device cookie (from yet another address: the one
    # above is a known address now).
    g.clock.advance(30)
    forged = {"Authorization": _basic(PIN + code(g.clock)), "X-Forwarded-For": "203.0.113.8"}
    forged["Cookie"] = "otpgate_device=" + device[:-3] + "xyz"
    assert g.client.get("/auth", headers=forged).status_code == 401


def test_a_device_cookie_does_not_outlive_the_user_it_was_issued_to(
    make_gate: AppFactory,
) -> None:
    """Issue 17, item 6: a device cookie was bound to the name only, and gave the
    browser of a removed user a budget of its own for the new user of that name."""
    g = make_gate()
    assert _login(g, HOME, {}) == 303
    device = g.client.cookies["otpgate_device"]
    # The administrator removes alice and enrols a new alice (a new random key).
    new_key = bytes(range(20))
    assert g.store.remove("alice")
    g.store.add(UserRecord("alice", TokenType("HOTP", 30, 6), new_key, Pin("plain", PIN)))
    g.clock.advance(30)  # past state_ttl: the gate reads the store again
    _spend_the_budget_through_the_api(g)
    # The old browser waits like any stranger, at the portal and at /auth ...
    assert _login(g, "203.0.113.9", {"otpgate_device": device}, new_key) == 429
    fresh = {
        "Authorization": _basic(PIN + code(g.clock, new_key)),
        "X-Forwarded-For": "203.0.113.7",
    }
    g.client.cookies.clear()
    refused = g.client.get("/auth", headers={**fresh, "Cookie": f"otpgate_device={device}"})
    assert refused.status_code == 401 and "retry-after" in refused.headers


def test_a_device_cookie_stays_good_while_the_record_does(make_gate: AppFactory) -> None:
    # A new serial, a lock lifted, a new PIN: the same token, the same record.
    g = make_gate()
    assert _login(g, HOME, {}) == 303
    device = g.client.cookies["otpgate_device"]
    record = g.store.get("alice")
    assert record is not None
    g.store.replace(dataclasses.replace(record, serial="TOK-1"))
    g.clock.advance(30)
    _spend_the_budget_through_the_api(g)
    assert _login(g, "203.0.113.9", {"otpgate_device": device}) == 303
