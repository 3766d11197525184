"""Brute force: guessing is slowed per (user, address) and never locks the real user out."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from otpgate.login import rules
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.pins import FAST_TEST_HASHER, PinHasher
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import generate
from otpgate.store.records import Pin, UserRecord, UserState

from .counting_store import CountingStore

NOW = 1_700_000_010.0
KEY = bytes(range(1, 21))
ATTACKER = "203.0.113.66"
USER_IP = "192.0.2.10"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls: Counter[str] = Counter()
    verify, pin_verify = rules.verify, PinHasher.verify

    def counting_verify(*args: Any, **kwargs: Any) -> Any:
        calls["verify"] += 1
        return verify(*args, **kwargs)

    def counting_pin(self: PinHasher, stored: str, pin: str) -> bool:
        calls["pin_hash"] += 1
        return pin_verify(self, stored, pin)

    monkeypatch.setattr(rules, "verify", counting_verify)
    monkeypatch.setattr(PinHasher, "verify", counting_pin)
    return calls


@pytest.mark.parametrize("seconds_between_guesses", [0.0, 1.0])
def test_thousand_guesses_then_the_real_user_gets_in(
    counted: Counter[str], seconds_between_guesses: float
) -> None:
    store = CountingStore()
    store.add(
        UserRecord(
            "alice",
            parse_token_type("HOTP/T30"),
            KEY,
            Pin("hash", FAST_TEST_HASHER.hash("4711")),
            UserState(),
        )
    )
    clock = [NOW]
    a = Authenticator(store, AuthSettings(), clock=lambda: clock[0])
    reasons: Counter[str] = Counter()
    for i in range(1000):
        guess = f"4711{i * 7919 % 10**6:06d}"
        reasons[a.login(a.attempt("alice", guess, ATTACKER)).reason] += 1
        clock[0] += seconds_between_guesses
    evaluated = counted["verify"]
    # 1,000 guesses; only a few dozen reached the store and the OTP check.
    # Measured: 4 with a frozen clock, 13 with a guess per second.
    assert evaluated <= 20, (evaluated, reasons)
    assert store.calls["get"] <= 20
    assert reasons["throttled"] >= 970
    assert counted["pin_hash"] <= 1  # a lucky OTP guess at most pays the hash
    # Meanwhile the real user, from their own address, logs in at once.
    now = clock[0]
    code = generate(store.get("alice").token(), now=now)
    d = a.login(a.attempt("alice", "4711" + code, USER_IP), now=now)
    assert (d.ok, d.reason, d.fresh) == (True, "otp", True)
    # The attacker is still throttled; the real user's success did not free them.
    assert a.login(a.attempt("alice", "4711000000", ATTACKER), now=now).reason == "throttled"


def test_throttled_attempts_are_cheap(counted: Counter[str]) -> None:
    store = CountingStore()
    store.add(UserRecord("bob", parse_token_type("HOTP/T30"), KEY, Pin("plain", "1"), UserState()))
    a = Authenticator(store, AuthSettings(throttle_free_failures=0), clock=lambda: NOW)
    a.login(a.attempt("bob", "1000000", ATTACKER))
    gets, writes = store.calls["get"], store.calls["compare_and_set"]
    for _ in range(500):
        d = a.check_cached(a.attempt("bob", "1000000", ATTACKER))
        assert d is not None and d.reason == "throttled"
        assert a.login(a.attempt("bob", "1000000", ATTACKER)).reason == "throttled"
    assert (store.calls["get"], store.calls["compare_and_set"]) == (gets, writes)


def test_spraying_many_user_names_is_bounded() -> None:
    store = CountingStore()
    a = Authenticator(store, AuthSettings(throttle_size=1000), clock=lambda: NOW)
    for i in range(5000):
        a.login(a.attempt(f"user{i}", "x123456", ATTACKER))
    assert len(a.throttle) <= 1000
