"""Flooding the throttle table with junk names frees no guesses (issue 9, item 5).

Found by attacking it: 100,000 requests for ``nobody$i`` from one address
evicted that address's entry for ``jb`` (least recently touched first out),
and the attacker had fresh free guesses on ``jb``.  The table must stay
bounded without letting anyone evict an entry that holds someone back.
"""

from __future__ import annotations

import pytest

from otpgate.config.loader import load_config
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import generate
from otpgate.regulation.throttle import Throttle
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

NOW = 1_700_000_010.0
KEY = bytes(range(1, 21))
ATTACKER = "203.0.113.66"
USER_IP = "192.0.2.10"
WRONG = "4711000000"


def _gate(clock: list[float], **settings: object) -> tuple[Authenticator, MemoryStore]:
    store = MemoryStore()
    ttype = parse_token_type("HOTP/T30")
    store.add(UserRecord("jb", ttype, KEY, Pin("plain", "4711"), UserState()))
    return Authenticator(store, AuthSettings(**settings), clock=lambda: clock[0]), store  # type: ignore[arg-type]


def _guess_until_backoff(a: Authenticator, clock: list[float], counted: int) -> float:
    """Guess on jb from the attacker, waiting out each backoff, until ``counted`` failures."""
    delay = 0.0
    while a.throttle.failures("jb", ATTACKER) < counted:
        d = a.login(a.attempt("jb", WRONG, ATTACKER))
        if d.reason == "throttled":
            assert d.retry_after is not None
            clock[0] += d.retry_after
        else:
            assert d.reason == "no_match", d
            delay = d.retry_after or 0.0
    return delay


def test_the_issues_flood_of_unknown_names_frees_no_guess() -> None:
    clock = [NOW]
    a, store = _gate(clock)
    delay = _guess_until_backoff(a, clock, 8)
    assert delay == 16.0
    blocked_until = clock[0] + delay
    # The flood from the issue: 100,000 junk names from the same address, a
    # millisecond apart (100 s in all, so the backoff above runs out meanwhile).
    for i in range(100_000):
        a.login(a.attempt(f"nobody{i}", WRONG, ATTACKER))
        clock[0] += 0.001
    assert clock[0] > blocked_until
    assert len(a.throttle) <= AuthSettings().throttle_size
    # The count on jb survived: the next guess is counted and backs off
    # further (32 s), it does not start over with free guesses.
    assert a.throttle.failures("jb", ATTACKER) == 8
    d = a.login(a.attempt("jb", WRONG, ATTACKER))
    assert (d.reason, d.retry_after) == ("no_match", 32.0)
    assert a.login(a.attempt("jb", WRONG, ATTACKER)).reason == "throttled"
    # The rightful user, from another address, gets in meanwhile.
    code = generate(store.get("jb").token(), now=clock[0])  # type: ignore[union-attr]
    assert a.login(a.attempt("jb", "4711" + code, USER_IP)).reason == "otp"


def test_junk_from_one_address_counts_once_per_address_not_per_name() -> None:
    clock = [NOW]
    a, _ = _gate(clock, throttle_size=1000)
    for i in range(20_000):
        a.login(a.attempt(f"nobody{i}", WRONG, ATTACKER))
    # One address holds a bounded number of entries, so it cannot fill the table.
    assert len(a.throttle) < 100
    # Past its free names, the address is throttled for every further new
    # name, known or not, before any store read (no way to tell them apart).
    assert a.login(a.attempt("nobody-else", WRONG, ATTACKER)).reason == "throttled"
    assert a.login(a.attempt("jb", WRONG, ATTACKER)).reason == "throttled"
    # Everyone else is unaffected.
    assert a.login(a.attempt("jb", WRONG, USER_IP)).reason == "no_match"


def test_a_flood_from_many_addresses_does_not_evict_an_entry_in_backoff() -> None:
    clock = [NOW]
    a, _ = _gate(clock, throttle_size=1000)
    _guess_until_backoff(a, clock, 8)
    # Someone else's pair, one failure from backoff, and a victim pair in backoff.
    for _ in range(3):
        a.login(a.attempt("jb", WRONG, "198.51.100.7"))
    # 5,000 addresses with two junk names each: ten times the table.
    for n in range(5_000):
        ip = f"10.{n // 250}.{n % 250}.1"
        for name in ("a", "b"):
            a.login(a.attempt(f"junk-{name}{n}", WRONG, ip))
            clock[0] += 0.001
    assert len(a.throttle) <= 1000
    assert a.throttle.failures("jb", ATTACKER) == 8
    assert a.throttle.failures("jb", "198.51.100.7") == 3
    assert a.login(a.attempt("jb", WRONG, "198.51.100.7")).retry_after == 1.0


def test_the_table_stays_bounded_under_a_flood_of_held_entries() -> None:
    th = Throttle(free_failures=1, max_entries=100)
    for i in range(10_000):
        for _ in range(3):  # each pair into backoff: entries that are held
            th.failure(f"user{i}", f"10.0.{i // 200}.{i % 200}", NOW)
    # Held entries are kept past the bound, but not without limit.
    assert len(th) <= 200


def test_the_names_per_address_is_a_setting() -> None:
    clock = [NOW]
    a, _ = _gate(clock, throttle_names_per_address=2)
    for i in range(50):
        a.login(a.attempt(f"nobody{i}", WRONG, ATTACKER))
    assert len(a.throttle) == 3
    config = load_config(None, env={}, overrides={"auth": {"throttle_names_per_address": 8}})
    assert config.auth_settings().throttle_names_per_address == 8
    with pytest.raises(ValueError, match="at least 1"):
        AuthSettings(throttle_names_per_address=0)
