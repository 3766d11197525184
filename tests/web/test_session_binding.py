"""A session belongs to one user record of one gate instance, not just to a name.

The attack (issue 9, item 4): a session cookie survived ``user remove`` and
``user add`` of the same name (200), and two gates sharing a session secret
accepted each other's users.
"""

from __future__ import annotations

import dataclasses

from itsdangerous import URLSafeSerializer

from otpgate.otp.tokens import TokenType
from otpgate.store.records import Pin, UserRecord

from .conftest import KEY, PIN, SECRET, T0, AppFactory, make_store
from .conftest import App as G

COOKIE = "otpgate_session"


def cookie_of(gate: G) -> str:
    assert gate.login().status_code == 303
    return gate.client.cookies[COOKIE]


def auth_with(gate: G, value: str) -> int:
    return gate.client.get("/auth", headers={"Cookie": f"{COOKIE}={value}"}).status_code


def test_a_user_removed_and_added_again_needs_a_new_login(gate: G) -> None:
    value = cookie_of(gate)
    assert auth_with(gate, value) == 200
    # The administrator removes alice and enrols a new alice (a new random key).
    assert gate.store.remove("alice")
    new_key = bytes(range(20))
    gate.store.add(UserRecord("alice", TokenType("HOTP", 30, 6), new_key, Pin("plain", PIN)))
    gate.clock.advance(3)  # past state_ttl: the gate reads the store again
    assert auth_with(gate, value) == 401


def test_a_new_token_for_the_same_user_ends_the_session(gate: G) -> None:
    value = cookie_of(gate)
    record = gate.store.get("alice")
    assert record is not None
    gate.store.replace(dataclasses.replace(record, key=bytes(range(20))))
    gate.clock.advance(3)
    assert auth_with(gate, value) == 401


def test_the_same_record_keeps_its_session_across_processes(make_gate: AppFactory) -> None:
    a = make_gate()
    value = cookie_of(a)
    b = make_gate(store=a.store, clock=a.clock)
    assert auth_with(b, value) == 200


def test_gates_with_their_own_stores_do_not_accept_each_others_users(
    make_gate: AppFactory,
) -> None:
    # The same secret, the same user name, the same key even (a copied users
    # file): a gate of another instance refuses the cookie.
    a = make_gate(store=make_store())
    value = cookie_of(a)
    other_realm = make_gate(store=make_store(), clock=a.clock, realm="intranet")
    assert auth_with(other_realm, value) == 401
    other_instance = make_gate(store=make_store(), clock=a.clock, instance="staging")
    assert auth_with(other_instance, value) == 401
    other_users = make_store()
    other_users.remove("alice")
    other_users.add(UserRecord("alice", TokenType("HOTP", 30, 6), KEY[::-1], Pin("plain", PIN)))
    assert auth_with(make_gate(store=other_users, clock=a.clock), value) == 401


def test_a_cookie_from_before_the_binding_is_refused(gate: G) -> None:
    # What gates before this change issued: the user, times and address only.
    old = URLSafeSerializer([SECRET.encode()], salt="otpgate.session.v1").dumps(
        ["alice", T0, T0, "testclient"]
    )
    assert auth_with(gate, old) == 401


def test_the_cookie_does_not_carry_the_key(gate: G) -> None:
    value = cookie_of(gate)
    payload = URLSafeSerializer([SECRET.encode()], salt="otpgate.session.v2").loads(value)
    text = repr(payload)
    for form in (KEY.hex(), KEY.decode("latin-1"), repr(KEY)):
        assert form not in text
