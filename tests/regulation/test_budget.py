"""The per-user guess budget and the clients it trusts (issue 9, guessing over addresses)."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer

from otpgate.regulation.budget import Client, GuessBudget
from otpgate.web.devices import DeviceCodec

T = 1_700_000_000.0
DAY = 86_400.0
HOME = "192.0.2.10"


def attackers(n: int) -> list[Client]:
    return [Client(f"10.{i // 250}.{i % 250}.7") for i in range(n)]


def test_untrusted_clients_share_one_budget_per_user() -> None:
    b = GuessBudget(guesses=100, window=DAY)
    crowd = attackers(1000)
    for i, client in enumerate(crowd[:100]):
        assert b.retry_after("alice", client, T + i) is None
        b.failure("alice", client, T + i)
    # Spent: every untrusted client is refused, a fresh address too, until
    # the oldest failure leaves the window.
    for client in (crowd[100], crowd[999], Client("198.51.100.1")):
        assert b.retry_after("alice", client, T + 100) == pytest.approx(DAY - 100)
    assert b.retry_after("alice", crowd[0], T + DAY - 0.5) == pytest.approx(0.5)
    assert b.retry_after("alice", crowd[0], T + DAY) is None  # one guess back
    # Other users are not affected.
    assert b.retry_after("bob", crowd[100], T + 100) is None


def test_a_known_address_keeps_its_own_budget() -> None:
    b = GuessBudget(guesses=5, window=DAY, trusted_for=30 * DAY)
    home = Client(HOME)
    b.success("alice", home, T)
    for client in attackers(5):
        b.failure("alice", client, T + 1)
    assert b.retry_after("alice", attackers(6)[5], T + 2) is not None
    # Strangers spent theirs; home is trusted and untouched.
    assert b.trusted("alice", home, T + 2)
    assert b.retry_after("alice", home, T + 2) is None
    # Home's own failures (typos) spend only home's budget ...
    for _ in range(5):
        b.failure("alice", home, T + 3)
    assert b.retry_after("alice", home, T + 4) is not None
    # ... and a success from home clears them.
    b.success("alice", home, T + 5)
    assert b.retry_after("alice", home, T + 5) is None
    # IPv6: the same /64 is the same place.
    b.success("alice", Client("2001:db8:1:2::1"), T)
    assert b.trusted("alice", Client("2001:db8:1:2:ffff::9"), T + 1)
    assert not b.trusted("alice", Client("2001:db8:1:3::1"), T + 1)
    # Trust ends trusted_for after the last success.
    assert not b.trusted("alice", home, T + 5 + 30 * DAY)
    assert not b.trusted("bob", home, T + 6)


def test_a_claimed_address_is_never_trusted() -> None:
    b = GuessBudget(guesses=3)
    b.success("alice", Client(HOME), T)
    # The API's ip field: anyone with an API key could claim the user's address.
    claimed = Client(HOME, proven=False)
    assert not b.trusted("alice", claimed, T + 1)
    for _ in range(3):
        b.failure("alice", claimed, T + 1)
    assert b.retry_after("alice", Client("203.0.113.1"), T + 2) is not None
    assert b.retry_after("alice", Client(HOME), T + 2) is None
    # And a success with a claimed address makes nothing trusted.
    b.success("bob", Client("198.51.100.9", proven=False), T)
    assert not b.trusted("bob", Client("198.51.100.9"), T + 1)


def test_a_device_cookie_keeps_its_own_budget_from_any_address() -> None:
    b = GuessBudget(guesses=3)
    for client in attackers(3):
        b.failure("alice", client, T)
    phone = Client("203.0.113.50", device="n0nce")  # a mobile network, never seen
    assert b.retry_after("alice", Client("203.0.113.50"), T + 1) is not None
    assert b.retry_after("alice", phone, T + 1) is None
    for _ in range(3):
        b.failure("alice", phone, T + 2)
    assert b.retry_after("alice", phone, T + 3) is not None  # its own lockout
    assert b.retry_after("alice", Client("203.0.113.50", device="other"), T + 3) is None


def test_junk_names_cannot_push_out_a_real_users_spent_budget() -> None:
    b = GuessBudget(guesses=3, max_entries=100)
    for client in attackers(3):
        b.failure("alice", client, T)
    junk = Client("203.0.113.1")
    for i in range(10_000):
        for _ in range(3):
            b.failure(f"nobody{i}", junk, T, known=False)
    assert b.retry_after("alice", Client("198.51.100.1"), T + 1) is not None
    # Names that do not exist are refused the same way while remembered (no
    # difference in the answer tells which names exist).
    assert b.retry_after("nobody9999", Client("198.51.100.1"), T + 1) is not None


def test_off_and_validation() -> None:
    b = GuessBudget(guesses=0)
    for client in attackers(500):
        b.failure("alice", client, T)
    assert b.retry_after("alice", Client("198.51.100.1"), T) is None
    with pytest.raises(ValueError):
        GuessBudget(guesses=-1)


def test_forget() -> None:
    b = GuessBudget(guesses=1)
    b.success("alice", Client(HOME), T)
    b.failure("alice", Client("203.0.113.1"), T)
    b.forget("alice")
    assert b.retry_after("alice", Client("203.0.113.1"), T) is None
    assert not b.trusted("alice", Client(HOME), T)


def test_device_cookies() -> None:
    codec = DeviceCodec([b"s" * 32], lifetime=30 * DAY)
    value = codec.issue("alice", "bind-1", T)
    claim = codec.claim(value, "alice", T + 1)
    assert claim is not None and len(claim.nonce) >= 16 and claim.binding == "bind-1"
    assert codec.issue("alice", "bind-1", T) != value  # a new nonce per login
    # Bound to the user, the secret, and a lifetime (honoured up to exactly its end).
    assert codec.claim(value, "bob", T + 1) is None
    assert codec.claim(value, "alice", T + 30 * DAY) == claim
    assert codec.claim(value, "alice", T + 30 * DAY + 1) is None
    assert codec.claim(codec.issue("alice", "b", T + 3600), "alice", T) is None  # from the future
    assert DeviceCodec([b"x" * 32], 30 * DAY).claim(value, "alice", T) is None
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert codec.claim(tampered, "alice", T) is None
    for junk in (None, "", "x" * 5000, "not.a.cookie"):
        assert codec.claim(junk, "alice", T) is None
    # A cookie of the first version (no binding) is no device cookie.
    old = URLSafeSerializer([b"s" * 32], salt="otpgate.device.v1").dumps(["alice", "n" * 16, T])
    assert codec.claim(old, "alice", T + 1) is None
    # Rotation: a cookie signed with the old secret still counts.
    rotated = DeviceCodec([b"s" * 32, b"n" * 32], 30 * DAY)
    assert rotated.claim(value, "alice", T + 1) == claim


def test_the_stored_last_address_is_trusted_in_every_process() -> None:
    b = GuessBudget(guesses=1, trusted_for=30 * DAY)
    b.failure("alice", Client("203.0.113.1"), T)
    # Another process accepted alice from home an hour ago; this one reads it.
    b.seen("alice", HOME, T - 3600, T)
    assert b.retry_after("alice", Client(HOME), T) is None
    assert b.retry_after("alice", Client("203.0.113.2"), T) is not None
    # Too old, or nothing stored: nothing trusted.
    b.seen("bob", HOME, T - 31 * DAY, T)
    b.seen("bob", None, None, T)
    assert not b.trusted("bob", Client(HOME), T)
    # An older stored login does not shorten a newer trust.
    b.success("carol", Client(HOME), T)
    b.seen("carol", HOME, T - 29 * DAY, T)
    assert b.trusted("carol", Client(HOME), T + 29.5 * DAY)
