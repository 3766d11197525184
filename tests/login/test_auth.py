"""The login decision: PIN, OTP, linger, replay, lock, recovery, audit, malformed input."""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpgate.audit.writer import AuditLog
from otpgate.errors import StoreError
from otpgate.login import authenticator as auth_module
from otpgate.login import recovery
from otpgate.login.authenticator import Authenticator, AuthSettings, Decision
from otpgate.login.linger import LingerMemory
from otpgate.login.pins import FAST_TEST_HASHER, HtpasswdChecker, PinHasher
from otpgate.otp.keys import encode_base32
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import generate
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

from .counting_store import CountingStore

NOW = 1_700_000_010.0  # a time step starts at 1_700_000_010
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"
OTHER_IP = "198.51.100.7"


def make_store(
    pin: Pin | None = None, ttype: str = "HOTP/T30", user: str = "alice"
) -> CountingStore:
    pin = Pin("plain", PIN) if pin is None else pin
    store = MemoryStore()
    store.add(UserRecord(user, parse_token_type(ttype), KEY, pin, UserState(), serial="S-1"))
    return CountingStore(store)


def otp(store: Any, now: float = NOW, user: str = "alice", **kw: Any) -> str:
    record = store.get(user)
    if record.token_type.is_event:
        return generate(record.token(), counter=record.state.token.counter + kw.get("ahead", 0))
    return generate(record.token(), now=now, pin=kw.get("pin", ""))


def make_auth(store: Any, **settings: Any) -> Authenticator:
    return Authenticator(store, AuthSettings(**settings), clock=lambda: NOW)


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts argon2 verifications."""
    calls: Counter[str] = Counter()
    original = PinHasher.verify

    def counting(self: PinHasher, stored: str, pin: str) -> bool:
        calls["verify"] += 1
        return original(self, stored, pin)

    monkeypatch.setattr(PinHasher, "verify", counting)
    return calls


# --- the basic decision ----------------------------------------------------------------------


def test_right_pin_and_otp_is_accepted_and_state_written() -> None:
    store = make_store()
    a = make_auth(store)
    code = otp(store)
    d = a.login(a.attempt("alice", PIN + code, IP), now=NOW)
    assert d == Decision(True, "alice", "otp", None, True)
    st = store.get("alice").state
    assert (st.last_otp, st.last_auth, st.last_ip, st.failures) == (code, NOW, IP, 0)
    assert st.token.last_step is not None


def test_wrong_otp_is_counted_and_never_hashes_the_pin(hash_calls: Counter[str]) -> None:
    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a = make_auth(store)
    wrong = f"{(int(otp(store)) + 1) % 10**6:06d}"
    d = a.login(a.attempt("alice", PIN + wrong, IP), now=NOW)
    assert (d.ok, d.reason) == (False, "no_match")
    assert store.get("alice").state.failures == 1
    assert hash_calls["verify"] == 0


def test_hashed_pin_checked_after_the_otp_matches(hash_calls: Counter[str]) -> None:
    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a = make_auth(store)
    assert a.login(a.attempt("alice", PIN + otp(store), IP), now=NOW).ok
    assert hash_calls["verify"] == 1


def test_right_otp_wrong_pin_consumes_the_otp() -> None:
    store = make_store()
    a = make_auth(store)
    code = otp(store)
    d = a.login(a.attempt("alice", "0000" + code, IP), now=NOW)
    assert (d.ok, d.reason) == (False, "bad_pin")
    st = store.get("alice").state
    assert st.failures == 1 and st.token.last_step is not None and st.last_otp is None
    # The same code cannot be tried again with another PIN guess, nor the right one.
    again = a.login(a.attempt("alice", PIN + code, IP), now=NOW + 1)
    assert (again.ok, again.reason) == (False, "replayed")


def test_event_token_counter_moves_and_look_ahead() -> None:
    store = make_store(ttype="HOTP/E")
    a = make_auth(store, max_linger=0)
    assert a.login(a.attempt("alice", PIN + otp(store, ahead=3), IP)).ok
    assert store.get("alice").state.token.counter == 4
    assert a.login(a.attempt("alice", PIN + otp(store), IP)).reason == "otp"
    assert store.get("alice").state.token.counter == 5


def test_no_pin_user_must_send_the_otp_alone() -> None:
    store = make_store(Pin("none"))
    a = make_auth(store, max_linger=0)
    code = otp(store)
    assert a.login(a.attempt("alice", "1" + code, IP)).reason == "bad_pin"
    store.inner.replace(replace(store.get("alice"), state=UserState()))
    # A process that read the used step keeps it used (LingerMemory.no_step_back);
    # a fresh one reads the reset state.
    assert a.login(a.attempt("alice", code, IP)).reason == "replayed"
    fresh = make_auth(store, max_linger=0)
    assert fresh.login(fresh.attempt("alice", code, IP)).ok


def test_unknown_user() -> None:
    a = make_auth(make_store())
    d = a.login(a.attempt("mallory", PIN + "123456", IP))
    assert (d.ok, d.reason, d.user) == (False, "unknown_user", None)


def test_fall_through_does_not_throttle_unknown_users() -> None:
    store = make_store()
    a = make_auth(store, fall_through=True)
    for _ in range(10):
        assert a.login(a.attempt("bob", "x123456", IP)).reason == "unknown_user"
    b = make_auth(store)
    reasons = [b.login(b.attempt("bob", "x123456", IP)).reason for _ in range(10)]
    assert "throttled" in reasons


# --- replay and double submit ----------------------------------------------------------------


def test_replay_without_linger_is_rejected_and_not_counted() -> None:
    store = make_store()
    a = make_auth(store, max_linger=0)
    code = otp(store)
    assert a.login(a.attempt("alice", PIN + code, IP), now=NOW).ok
    for i in range(5):  # a nervous user clicking several times
        d = a.login(a.attempt("alice", PIN + code, IP), now=NOW + i)
        assert (d.ok, d.reason) == (False, "replayed")
    assert store.get("alice").state.failures == 0
    assert a.throttle.failures("alice", IP) == 0
    assert a.check_cached(a.attempt("alice", PIN + code, IP), now=NOW + 6) is None


def test_earlier_code_after_newer_one_is_a_replay() -> None:
    store = make_store()
    a = make_auth(store, max_linger=0)
    old = otp(store, NOW)
    new = otp(store, NOW + 30)
    assert a.login(a.attempt("alice", PIN + new, IP), now=NOW + 30).ok
    assert a.login(a.attempt("alice", PIN + old, IP), now=NOW + 31).reason == "replayed"


def test_double_submit_lingers_without_write_or_hash(hash_calls: Counter[str]) -> None:
    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a = make_auth(store)
    code = otp(store)
    assert a.login(a.attempt("alice", PIN + code, IP), now=NOW).fresh
    writes, reads = store.calls["compare_and_set"], store.calls["get"]
    d = a.login(a.attempt("alice", PIN + code, IP), now=NOW + 0.5)
    assert d == Decision(True, "alice", "linger", None, False)
    assert store.calls["compare_and_set"] == writes
    assert store.calls["get"] == reads  # the read from the login is still fresh
    assert hash_calls["verify"] == 1


def test_lost_race_is_decided_again_and_never_accepts_twice() -> None:
    store = make_store()
    other = make_auth(store, max_linger=0)
    a = make_auth(store, max_linger=0)
    code = otp(store)
    original = store.inner.compare_and_set
    raced: list[Decision] = []
    started: list[bool] = []

    def racing_cas(*args: Any) -> Any:
        if not started:  # another gate wins between our read and our write
            started.append(True)
            raced.append(other.login(other.attempt("alice", PIN + code, OTHER_IP), now=NOW))
        return original(*args)

    store.inner.compare_and_set = racing_cas
    d = a.login(a.attempt("alice", PIN + code, IP), now=NOW)
    assert raced[0].ok and raced[0].fresh
    assert (d.ok, d.reason) == (False, "replayed")


# --- linger ----------------------------------------------------------------------------------


def test_fixed_linger_window() -> None:
    store = make_store()
    a = make_auth(store, max_linger=600)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).fresh
    for t in (1, 300, 599):
        d = a.login(a.attempt("alice", pw, IP), now=NOW + t)
        assert (d.ok, d.reason, d.fresh) == (True, "linger", False)
    # Fixed: re-use does not extend it.  The browser re-sending the expired
    # credentials is not counted as guessing.
    for t in (601, 602, 700, 1000):
        assert a.login(a.attempt("alice", pw, IP), now=NOW + t).reason == "replayed"
    assert a.throttle.failures("alice", IP) == 0
    assert store.get("alice").state.failures == 0


def test_sliding_idle_window() -> None:
    store = make_store()
    a = make_auth(store, max_idle=60)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    for t in (50, 100, 150, 200):  # each use slides the window
        assert a.login(a.attempt("alice", pw, IP), now=NOW + t).reason == "linger"
    assert not a.login(a.attempt("alice", pw, IP), now=NOW + 261).ok


def test_linger_off_with_zero() -> None:
    store = make_store()
    a = make_auth(store, max_linger=0)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    assert not a.login(a.attempt("alice", pw, IP), now=NOW + 1).ok


def test_logout_on_ip_change() -> None:
    store = make_store()
    a = make_auth(store, logout_on_ip_change=True)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    assert a.login(a.attempt("alice", pw, OTHER_IP), now=NOW + 1).reason == "replayed"
    assert a.login(a.attempt("alice", pw, IP), now=NOW + 2).reason == "linger"
    b = make_auth(store)  # without the option another address may linger
    assert b.login(b.attempt("alice", pw, OTHER_IP), now=NOW + 3).reason == "linger"


def test_empty_password_from_last_address_logs_out() -> None:
    store = make_store()
    a = make_auth(store)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    # From elsewhere an empty password changes nothing and is not counted.
    d = a.login(a.attempt("alice", "", OTHER_IP), now=NOW + 1)
    assert (d.ok, d.reason) == (False, "malformed")
    assert a.throttle.failures("alice", OTHER_IP) == 0
    assert a.login(a.attempt("alice", pw, IP), now=NOW + 2).reason == "linger"
    d = a.login(a.attempt("alice", "", IP), now=NOW + 3)
    assert (d.ok, d.reason) == (False, "logout")
    assert not a.login(a.attempt("alice", pw, IP), now=NOW + 4).ok
    assert not a.session_valid("alice", NOW, now=NOW + 5)
    assert a.session_valid("alice", NOW + 3, now=NOW + 5)


def test_logout_reaches_other_processes_within_state_ttl() -> None:
    store = make_store()
    a, b = make_auth(store, state_ttl=2), make_auth(store, state_ttl=2)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    assert b.login(b.attempt("alice", pw, IP), now=NOW + 1).reason == "linger"
    a.logout("alice", now=NOW + 2)
    assert store.get("alice").state.revoked_before == NOW + 2
    # b's cached read is stale after state_ttl: it re-reads and sees the logout.
    assert b.check_cached(b.attempt("alice", pw, IP), now=NOW + 4) is None
    assert not b.login(b.attempt("alice", pw, IP), now=NOW + 4).ok


def test_linger_across_processes_from_the_stored_last_otp(hash_calls: Counter[str]) -> None:
    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a, b = make_auth(store), make_auth(store)
    code = otp(store)
    assert a.login(a.attempt("alice", PIN + code, IP), now=NOW).ok
    writes = store.calls["compare_and_set"]
    d = b.login(b.attempt("alice", PIN + code, IP), now=NOW + 10)
    assert (d.ok, d.reason, d.fresh) == (True, "linger", False)
    assert store.calls["compare_and_set"] == writes
    # Once per process: b answers the next re-use from memory.
    assert b.login(b.attempt("alice", PIN + code, IP), now=NOW + 11).reason == "linger"
    assert hash_calls["verify"] == 2
    # A lingering OTP is no free PIN oracle: a wrong PIN with it is a counted failure.
    d = b.login(b.attempt("alice", "9999" + code, IP), now=NOW + 12)
    assert (d.ok, d.reason) == (False, "bad_pin")
    assert store.get("alice").state.failures == 1
    # ... and it ends the cross-process linger of that code (b still knows it in memory).
    c = make_auth(store)
    assert c.login(c.attempt("alice", PIN + code, IP), now=NOW + 13).reason == "replayed"
    assert b.login(b.attempt("alice", PIN + code, IP), now=NOW + 13).reason == "linger"


def test_admin_changes_end_lingering() -> None:
    store = make_store()
    a = make_auth(store, state_ttl=2)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    record = store.get("alice")
    store.inner.replace(replace(record, pin=Pin("plain", "5555")))
    assert not a.login(a.attempt("alice", pw, IP), now=NOW + 3).ok


def test_check_cached_answers_without_the_store() -> None:
    store = make_store()
    a = make_auth(store)
    pw = PIN + otp(store)
    assert a.check_cached(a.attempt("alice", pw, IP), now=NOW) is None
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok

    def store_access() -> int:  # otp_tag is a digest, stamp a stat: not store accesses
        return sum(n for name, n in store.calls.items() if name not in ("otp_tag", "stamp"))

    before = store_access()
    assert a.check_cached(a.attempt("alice", pw, IP), now=NOW + 1) == Decision(
        True, "alice", "linger"
    )
    assert a.check_cached(a.attempt("alice", PIN + "000000", IP), now=NOW + 1) is None
    for _ in range(5):
        a.login(a.attempt("alice", "1" + pw[1:-1] + "x", OTHER_IP), now=NOW + 1)
    d = a.check_cached(a.attempt("alice", "whatever", OTHER_IP), now=NOW + 1)
    assert d is not None and d.reason == "throttled" and d.retry_after
    assert store_access() - before <= 5  # only the failing attempts read
    # A stale read is not trusted by the fast path.
    assert a.check_cached(a.attempt("alice", pw, IP), now=NOW + 10) is None


# --- locks -----------------------------------------------------------------------------------


def test_hard_failure_limit_unlocks_itself() -> None:
    store = make_store()
    a = make_auth(store, max_otp_failures=3, failure_unlock_after=100, throttle_free_failures=50)
    for i in range(3):
        assert a.login(a.attempt("alice", PIN + "000000", IP), now=NOW + i).reason == "no_match"
    assert store.get("alice").state.locked_until == NOW + 2 + 100
    d = a.login(a.attempt("alice", PIN + otp(store, NOW + 5), OTHER_IP), now=NOW + 5)
    assert (d.ok, d.reason) == (False, "locked")
    assert d.retry_after == pytest.approx(97)
    assert not a.session_valid("alice", NOW - 100, now=NOW + 5)
    later = NOW + 120
    assert a.login(a.attempt("alice", PIN + otp(store, later), OTHER_IP), now=later).ok
    st = store.get("alice").state
    assert st.failures == 0 and st.locked_until is None


def test_one_guess_per_unlock_period_after_the_limit() -> None:
    store = make_store()
    a = make_auth(store, max_otp_failures=2, failure_unlock_after=60, throttle_free_failures=50)
    for i in range(2):
        a.login(a.attempt("alice", PIN + "000000", IP), now=NOW + i)
    assert a.login(a.attempt("alice", PIN + "000000", IP), now=NOW + 70).reason == "no_match"
    assert a.login(a.attempt("alice", PIN + "000000", IP), now=NOW + 71).reason == "locked"


def test_unlock_zero_means_permanent_like_the_reference() -> None:
    store = make_store()
    a = make_auth(store, max_otp_failures=1, failure_unlock_after=0)
    a.login(a.attempt("alice", PIN + "000000", IP), now=NOW)
    assert math.isinf(store.get("alice").state.locked_until)
    d = a.login(a.attempt("alice", PIN + otp(store, NOW + 10**6), IP), now=NOW + 10**6)
    assert (d.reason, d.retry_after) == ("locked", None)


def test_admin_lock_and_session_valid_caching() -> None:
    store = make_store()
    a = make_auth(store, state_ttl=2)
    assert a.session_valid("alice", NOW, now=NOW)
    reads = store.calls["get"]
    assert a.session_valid("alice", NOW, now=NOW + 1)
    assert store.calls["get"] == reads  # cached read
    record = store.get("alice")
    store.inner.replace(
        replace(record, state=replace(record.state, locked_until=math.inf, revoked_before=NOW + 1))
    )
    assert not a.session_valid("alice", NOW, now=NOW + 3)
    assert not a.session_valid("nobody", NOW, now=NOW + 3)
    assert (
        a.login(a.attempt("alice", PIN + otp(store, NOW + 3), IP), now=NOW + 3).reason == "locked"
    )


# --- recovery codes --------------------------------------------------------------------------


def test_recovery_codes_are_single_use_and_need_the_pin() -> None:
    store = make_store()
    a = make_auth(store, max_linger=0)
    codes = recovery.generate(3)
    store.set_recovery_codes("alice", [recovery.digest("alice", c) for c in codes])
    d = a.login(a.attempt("alice", PIN + codes[0], IP), now=NOW)
    assert (d.ok, d.reason, d.fresh) == (True, "recovery", True)
    assert store.get("alice").state.last_auth == NOW
    assert a.login(a.attempt("alice", PIN + codes[0], IP), now=NOW + 1).reason == "no_match"
    # Lower case, without dashes.
    compact = codes[1].replace("-", "").lower()
    assert a.login(a.attempt("alice", PIN + compact, IP), now=NOW + 2).reason == "recovery"
    # A wrong PIN uses the code up, like an OTP.
    assert a.login(a.attempt("alice", "0000" + codes[2], IP), now=NOW + 3).reason == "bad_pin"
    assert a.login(a.attempt("alice", PIN + codes[2], IP), now=NOW + 4).reason == "no_match"


def test_recovery_code_format() -> None:
    codes = recovery.generate(100)
    assert len(set(codes)) == 100
    for c in codes:
        assert len(c) == 19 and c.count("-") == 3
        assert recovery.split_password("pin" + c) == ("pin", c)
    assert recovery.split_password("1234" + "123456") is None
    assert recovery.digest("alice", codes[0]) != recovery.digest("bob", codes[0])
    with pytest.raises(ValueError):
        recovery.generate(0)


# --- PIN kinds and token kinds ---------------------------------------------------------------


def test_motp_whole_password_is_the_code() -> None:
    store = make_store(Pin("plain", "1234"), ttype="MOTP")
    store.inner.replace(replace(store.get("alice"), key=bytes.fromhex("0123456789abcdef")))
    a = make_auth(store, max_linger=0)
    good = otp(store, pin="1234")
    wrong_pin = otp(store, pin="9999")
    assert a.login(a.attempt("alice", wrong_pin, IP), now=NOW).reason == "no_match"
    assert a.login(a.attempt("alice", good, IP), now=NOW).ok
    assert a.login(a.attempt("alice", good, IP), now=NOW).reason == "replayed"


def test_delegated_pin_via_htpasswd(tmp_path: Path) -> None:
    import base64
    import hashlib

    import bcrypt

    ht = tmp_path / "htpasswd"
    sha = base64.b64encode(hashlib.sha1(b"sha-pin", usedforsecurity=False).digest()).decode()
    bc = bcrypt.hashpw(b"bcrypt-pin", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")
    ht.write_text(
        f"alice:{bc}\nbob:{{SHA}}{sha}\ncarol:$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0\n"
        "dave:plaintext\n"
    )
    checker = HtpasswdChecker(ht)
    assert checker.check("alice", "bcrypt-pin") is True
    assert checker.check("alice", "wrong") is False
    assert checker.check("bob", "sha-pin") is True
    assert checker.check("carol", "password") is True
    assert checker.check("carol", "Password") is False
    assert checker.check("dave", "plaintext") is False  # plain entries are refused
    assert checker.check("zed", "x") is None

    store = make_store(Pin("delegated"))
    a = Authenticator(store, AuthSettings(max_linger=0), pin_checker=checker)
    assert a.login(a.attempt("alice", "wrong" + otp(store, NOW), IP), now=NOW).reason == "bad_pin"
    assert a.login(a.attempt("alice", "bcrypt-pin" + otp(store, NOW + 30), IP), now=NOW + 30).ok
    # Without a checker a delegated PIN never matches.
    b = Authenticator(store, AuthSettings(max_linger=0))
    d = b.login(b.attempt("alice", "bcrypt-pin" + otp(store, NOW + 60), IP), now=NOW + 60)
    assert d.reason == "bad_pin"


def test_htpasswd_file_is_reread_when_changed(tmp_path: Path) -> None:
    import os

    ht = tmp_path / "htpasswd"
    ht.write_text("carol:$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0\n")
    checker = HtpasswdChecker(ht)
    assert checker.check("carol", "password")
    ht.write_text("carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n")  # "password"
    os.utime(ht, ns=(1, 1))
    assert checker.check("carol", "password")
    ht.unlink()
    assert checker.check("carol", "password") is None


def test_broken_pin_checker_denies() -> None:
    class Broken:
        def check(self, user: str, pin: str) -> bool | None:
            raise RuntimeError("LDAP is down")

    store = make_store(Pin("delegated"))
    a = Authenticator(store, AuthSettings(), pin_checker=Broken())
    assert a.login(a.attempt("alice", "x" + otp(store, NOW), IP), now=NOW).reason == "bad_pin"


# --- the store failing -----------------------------------------------------------------------


def _failing(method: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise StoreError(f"{method}: disk full")

    return fail


def test_store_write_failure_denies() -> None:
    store = make_store()
    store.inner.compare_and_set = _failing("compare_and_set")
    a = make_auth(store)
    code = otp(store)
    d = a.login(a.attempt("alice", PIN + code, IP), now=NOW)
    assert (d.ok, d.reason) == (False, "store_error")
    # Nothing was cached from the failed login either.
    assert a.check_cached(a.attempt("alice", PIN + code, IP), now=NOW + 1) is None


def test_store_read_failure_denies() -> None:
    store = make_store()
    store.inner.get = _failing("get")
    a = make_auth(store)
    assert a.login(a.attempt("alice", PIN + "123456", IP)).reason == "store_error"
    assert not a.session_valid("alice", NOW)


def test_logout_raises_store_errors() -> None:
    store = make_store()
    store.inner.compare_and_set = _failing("compare_and_set")
    with pytest.raises(StoreError):
        make_auth(store).logout("alice")


# --- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "",
        "1",
        "4711",
        "4711\x00123456",
        "4711123\x0056",
        "4711\udcff\udcfe",
        "\udcff" * 10,
        "4711" + "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
        "4711" + "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits
        "4711" + "12345 ",
        "4711" + "-12345",
        "x" * 100_000,
        "\n\r\t" * 5,
        "🙂" * 8,
    ],
)
def test_malformed_passwords_are_rejected_cleanly(password: str) -> None:
    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a = make_auth(store)
    d = a.login(a.attempt("alice", password, IP))
    assert not d.ok
    assert d.reason in ("malformed", "no_match", "bad_pin")
    cached = a.check_cached(a.attempt("alice", password, IP))
    assert cached is None or not cached.ok


@pytest.mark.parametrize("user", ["", "a" * 1000, "\x00", "al\udcffice", "alice\n"])
def test_odd_user_names(user: str) -> None:
    a = make_auth(make_store())
    d = a.login(a.attempt(user, PIN + "123456", IP))
    assert not d.ok and d.reason in ("malformed", "unknown_user")


def test_non_string_input_is_refused() -> None:
    a = make_auth(make_store())
    assert a.login(a.attempt(None, "x", IP)).reason == "malformed"  # type: ignore[arg-type]
    assert a.login(a.attempt("alice", b"4711123456", IP)).reason == "malformed"  # type: ignore[arg-type]
    assert a.check_cached(a.attempt("alice", None, IP)) is None  # type: ignore[arg-type]


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="max_linger"):
        AuthSettings(max_linger=-1)
    with pytest.raises(ValueError, match="max_otp_failures"):
        AuthSettings(max_otp_failures=-2)
    with pytest.raises(ValueError, match="max_idle"):
        AuthSettings(max_idle=float("nan"))


# --- audit -----------------------------------------------------------------------------------


def test_audit_lines_carry_no_secrets(tmp_path: Path) -> None:
    store = make_store(Pin("plain", "s3cretPIN"))
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    a = Authenticator(store, AuthSettings(max_linger=0), audit=log, clock=lambda: NOW)
    codes = recovery.generate(2)
    store.set_recovery_codes("alice", [recovery.digest("alice", c) for c in codes])
    secrets_seen = ["s3cretPIN", KEY.hex(), encode_base32(KEY), codes[0], codes[1]]
    attempts = [
        ("s3cretPIN" + otp(store, NOW), NOW),
        ("s3cretPIN" + otp(store, NOW), NOW + 1),
        ("wrongPIN" + otp(store, NOW + 30), NOW + 30),
        ("s3cretPIN" + "000000", NOW + 31),
        ("s3cretPIN" + codes[0], NOW + 32),
        ("s3cretPIN" + codes[1].lower(), NOW + 33),
    ]
    for pw, t in attempts:
        a.login(a.attempt("alice", pw, IP), now=t)
        secrets_seen.append(pw)
        secrets_seen.append(pw[-6:])
    a.login(a.attempt("nobody", "s3cretPIN123456", IP), now=NOW + 40)
    log.close()
    text = path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [x["reason"] for x in lines] == [
        "otp",
        "replayed",
        "bad_pin",
        "no_match",
        "recovery",
        "recovery",
        "unknown_user",
    ]
    for secret in secrets_seen:
        assert secret not in text, secret
    first = lines[0]
    assert first["ts"] == "2023-11-14T22:13:30.000Z"
    assert first["user"] == "alice" and first["ip"] == IP and first["result"] == "accept"
    assert first["token"] == "HOTP/T30" and first["serial"] == "S-1" and first["fresh"] is True
    assert set(first) <= {"ts", "user", "ip", "result", "reason", "fresh", "token", "serial"}
    assert path.stat().st_mode & 0o777 == 0o600


def test_audit_to_a_stream_and_linger_lines_are_optional() -> None:
    buf = io.StringIO()
    store = make_store()
    a = Authenticator(store, AuthSettings(), audit=AuditLog(buf))
    pw = PIN + otp(store)
    a.login(a.attempt("alice", pw, IP), now=NOW)
    a.login(a.attempt("alice", pw, IP), now=NOW + 1)
    assert len(buf.getvalue().splitlines()) == 1
    buf2 = io.StringIO()
    b = Authenticator(store, AuthSettings(audit_linger=True), audit=AuditLog(buf2))
    b.login(b.attempt("alice", pw, IP), now=NOW + 2)
    assert json.loads(buf2.getvalue())["reason"] == "linger"
    with pytest.raises(ValueError):
        AuditLog(io.StringIO()).write(NOW, password="x")


def test_close_closes_store_and_audit(tmp_path: Path) -> None:
    store = make_store()
    log = AuditLog(tmp_path / "a.log")
    Authenticator(store, audit=log).close()
    assert store.calls["close"] == 1
    log.write(NOW, user="x")  # a closed log does not raise
    assert auth_module.Authenticator is Authenticator


def test_long_pin_that_ends_like_a_recovery_code_is_still_an_otp() -> None:
    store = make_store(Pin("plain", "abcdefghijkl"))
    a = make_auth(store)
    # A time whose code uses only the digits 2-7, which base32 shares.
    t = next(NOW + 30 * k for k in range(1000) if set(otp(store, NOW + 30 * k)) <= set("234567"))
    pw = "abcdefghijkl" + otp(store, t)
    assert recovery.split_password(pw) is not None  # it does look like one
    assert a.login(a.attempt("alice", pw, IP), now=t).reason == "otp"


def test_recovery_code_ending_in_digits_is_tried_after_the_otp() -> None:
    store = make_store()
    a = make_auth(store, max_linger=0)
    code = "ABCDEFGHJK234567"  # its last six characters look like an OTP
    store.set_recovery_codes("alice", [recovery.digest("alice", code)])
    d = a.login(a.attempt("alice", PIN + code, IP), now=NOW)
    assert (d.ok, d.reason) == (True, "recovery")
    assert store.get("alice").state.failures == 0


def test_check_cached_does_not_throttle_a_known_credential() -> None:
    store = make_store()
    a = make_auth(store, throttle_free_failures=0)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    # A guesser behind the same address (NAT) gets that address throttled...
    a.login(a.attempt("alice", PIN + "000000", IP), now=NOW + 1)
    bad = a.check_cached(a.attempt("alice", PIN + "000000", IP), now=NOW + 1)
    assert bad is not None and bad.reason == "throttled"
    # ...but the real user's lingering credential still works, also after the read expires.
    assert a.check_cached(a.attempt("alice", pw, IP), now=NOW + 1.5) == Decision(
        True, "alice", "linger"
    )
    assert a.check_cached(a.attempt("alice", pw, IP), now=NOW + 30) is None
    assert a.login(a.attempt("alice", pw, IP), now=NOW + 30).reason == "linger"


def test_locked_account_is_answered_from_the_recent_read() -> None:
    store = make_store()
    a = make_auth(store, max_otp_failures=1, failure_unlock_after=60, throttle_free_failures=99)
    a.login(a.attempt("alice", PIN + "000000", IP), now=NOW)
    assert a.login(a.attempt("alice", PIN + "000000", IP), now=NOW + 0.5).reason == "locked"
    reads = store.calls["get"]
    for _ in range(100):
        assert a.login(a.attempt("alice", PIN + "000000", OTHER_IP), now=NOW + 1).reason == "locked"
    assert store.calls["get"] == reads


def test_unexpected_store_exception_is_a_refusal() -> None:
    store = make_store()

    def boom(*args: Any) -> Any:
        raise RuntimeError("driver bug")

    store.inner.get = boom
    auth = make_auth(store)
    d = auth.login(auth.attempt("alice", PIN + "123456", IP))
    assert (d.ok, d.reason) == (False, "store_error")


@settings(max_examples=300, deadline=None)
@given(password=st.text(max_size=40), user=st.sampled_from(["alice", "bob", ""]))
def test_random_passwords_are_never_accepted(password: str, user: str) -> None:
    store = make_store()
    a = make_auth(store, throttle_free_failures=10**6)
    d = a.login(a.attempt(user, password, IP), now=NOW)
    assert not d.ok
    assert d.reason in ("malformed", "no_match", "bad_pin", "unknown_user", "replayed")


@pytest.mark.parametrize("linger", [0.0, 600.0])
def test_threads_racing_with_one_code_consume_it_once(linger: float) -> None:
    import threading

    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a = make_auth(store, max_linger=linger)
    pw = PIN + otp(store)
    barrier = threading.Barrier(16)
    results: list[Decision] = []

    def attempt() -> None:
        barrier.wait()
        results.append(a.login(a.attempt("alice", pw, IP), now=NOW))

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(d.fresh for d in results) == 1
    if linger == 0:
        assert sum(d.ok for d in results) == 1
    assert all(d.ok or d.reason == "replayed" for d in results)
    assert store.get("alice").state.failures == 0


def test_linger_learned_from_the_store_keeps_the_first_use_time() -> None:
    store = make_store()
    a, b = make_auth(store, max_linger=600), make_auth(store, max_linger=600)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    assert b.login(b.attempt("alice", pw, IP), now=NOW + 500).reason == "linger"
    # b's memory entry ends where a's does: 600 s after the first use, not after 500 + 600.
    assert b.login(b.attempt("alice", pw, IP), now=NOW + 599).reason == "linger"
    assert not b.login(b.attempt("alice", pw, IP), now=NOW + 650).ok


@pytest.mark.apache
@pytest.mark.parametrize(("flag", "prefix"), [("-B", "$2y$"), ("-m", "$apr1$"), ("-s", "{SHA}")])
def test_htpasswd_files_written_by_apache_htpasswd(tmp_path: Path, flag: str, prefix: str) -> None:
    import subprocess

    from conftest import require_tool

    tool = require_tool("htpasswd")
    ht = tmp_path / "htpasswd"
    for user, pw in (("alice", "pässwörd 1"), ("bob", "x" * 60)):
        create = ["-c"] if user == "alice" else []
        subprocess.run(
            [tool, *create, "-b", flag, str(ht), user, pw], check=True, capture_output=True
        )
    assert prefix in ht.read_text()
    checker = HtpasswdChecker(ht)
    assert checker.check("alice", "pässwörd 1") is True
    assert checker.check("alice", "pässwörd 2") is False
    assert checker.check("bob", "x" * 60) is True
    assert checker.check("bob", "x" * 59) is False


def test_audit_log_follows_logrotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time as time_module

    ticks = [1000.0]
    monkeypatch.setattr(time_module, "monotonic", lambda: ticks[0])
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.write(NOW, user="one")
    path.rename(tmp_path / "audit.log.1")
    ticks[0] += 5
    log.write(NOW, user="two")
    log.close()
    assert '"user":"one"' in (tmp_path / "audit.log.1").read_text()
    assert '"user":"two"' in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


# --- one digest per attempt ------------------------------------------------------------------


@pytest.fixture
def digests(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the keyed user+password digests (the linger cache's key)."""
    calls: Counter[str] = Counter()
    original = LingerMemory.digest

    def counting(self: LingerMemory, user: str, password: str) -> bytes:
        calls[user] += 1
        return original(self, user, password)

    monkeypatch.setattr(LingerMemory, "digest", counting)
    return calls


def _front_end(a: Authenticator, user: str, password: str, ip: str, now: float) -> Decision:
    """What a web front end does: memory first, then the full decision."""
    attempt = a.attempt(user, password, ip)
    cached = a.check_cached(attempt, now=now)
    return cached if cached is not None else a.decide(attempt, now=now)


def test_a_fresh_login_digests_user_and_password_once(digests: Counter[str]) -> None:
    store = make_store()
    a = make_auth(store)
    d = _front_end(a, "alice", PIN + otp(store), IP, NOW)
    assert (d.ok, d.reason, d.fresh) == (True, "otp", True)
    assert digests["alice"] == 1  # it was four: two check_cached, two in the decision


def test_a_lingering_reuse_digests_once_from_memory_and_after_a_store_read(
    digests: Counter[str],
) -> None:
    store = make_store()
    a = make_auth(store, state_ttl=2)
    pw = PIN + otp(store)
    assert _front_end(a, "alice", pw, IP, NOW).fresh
    digests.clear()
    # Within state_ttl check_cached answers; after it decide() re-reads the store.
    for t in (1, 10):
        reads = store.calls["get"]
        d = _front_end(a, "alice", pw, IP, NOW + t)
        assert (d.ok, d.reason) == (True, "linger")
        assert store.calls["get"] == reads + (t > 2)
    assert digests["alice"] == 2


def test_a_wrong_guess_and_a_replay_digest_once(digests: Counter[str]) -> None:
    store = make_store()
    a = make_auth(store, max_linger=0)
    assert _front_end(a, "alice", PIN + "000000", IP, NOW).reason == "no_match"
    assert digests["alice"] == 1
    code = otp(store)
    assert _front_end(a, "alice", PIN + code, IP, NOW).ok
    assert _front_end(a, "alice", PIN + code, IP, NOW + 1).reason == "replayed"
    assert digests["alice"] == 3


def test_a_stored_linger_and_a_recovery_code_digest_once(digests: Counter[str]) -> None:
    store = make_store()
    a, other = make_auth(store), make_auth(store)
    code = otp(store)
    assert other.login(other.attempt("alice", PIN + code, OTHER_IP), now=NOW).ok
    digests.clear()
    # Another process accepted the code: the stored linger answers (with a PIN check).
    assert _front_end(a, "alice", PIN + code, IP, NOW + 1).reason == "linger"
    assert digests["alice"] == 1
    codes = recovery.generate(1)
    store.inner.set_recovery_codes("alice", [recovery.digest("alice", c) for c in codes])
    assert _front_end(a, "alice", PIN + codes[0], IP, NOW + 2).reason == "recovery"
    assert _front_end(a, "alice", PIN + codes[0], IP, NOW + 3).reason == "linger"
    assert digests["alice"] == 3


def test_check_cached_keeps_the_old_positional_form() -> None:
    store = make_store()
    a = make_auth(store)
    pw = PIN + otp(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    attempt = a.attempt("alice", pw, IP)
    assert a.check_cached(a.attempt("alice", pw, IP), now=NOW + 1) == a.check_cached(
        attempt, now=NOW + 1
    )
    assert a.check_cached(attempt, now=NOW + 1) == Decision(True, "alice", "linger")
    # An over-long password is never digested and never lingers.
    long = a.attempt("alice", "1" * 2000, IP)
    assert long.key == b""
    assert a.decide(long, now=NOW + 2).reason == "malformed"


# --- the compare-and-set loop: a lost race is decided again -----------------------------------


def _lose_one_race(store: Any) -> list[int]:
    """Let another writer change the user (a failure elsewhere) before our first write."""
    original = store.inner.compare_and_set
    raced: list[int] = []

    def racing_cas(user: str, version: object, state: UserState) -> Any:
        if not raced:
            current = store.inner.get(user)
            raced.append(current.state.failures)
            original(user, current.version, replace(current.state, failures=7))
        return original(user, version, state)

    store.inner.compare_and_set = racing_cas
    return raced


def test_a_lost_race_checks_the_pin_once_and_still_accepts(hash_calls: Counter[str]) -> None:
    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a = make_auth(store)
    code = otp(store)
    raced = _lose_one_race(store)
    reads = store.calls["get"]
    d = a.login(a.attempt("alice", PIN + code, IP), now=NOW)
    assert raced and (d.ok, d.reason, d.fresh) == (True, "otp", True)
    # One write lost, one re-read, one write won.
    assert store.calls["compare_and_set"] == 2 and store.calls["get"] == reads + 2
    assert hash_calls["verify"] == 1  # the second round knew the PIN
    assert store.get("alice").state.failures == 0


def test_a_lost_race_after_a_wrong_pin_still_uses_up_the_otp(hash_calls: Counter[str]) -> None:
    store = make_store(Pin("hash", FAST_TEST_HASHER.hash(PIN)))
    a = make_auth(store)
    code = otp(store)
    raced = _lose_one_race(store)
    d = a.login(a.attempt("alice", "0000" + code, IP), now=NOW)
    assert raced and (d.ok, d.reason) == (False, "bad_pin")
    assert hash_calls["verify"] == 1
    state = store.get("alice").state
    assert state.failures == 8  # the other writer's 7, and this one
    # The code was consumed with the failure: the right PIN cannot use it now.
    assert a.login(a.attempt("alice", PIN + code, IP), now=NOW + 1).reason == "replayed"


def test_a_lost_race_after_a_recovery_code_does_not_lose_the_code() -> None:
    store = make_store()
    codes = recovery.generate(1)
    store.inner.set_recovery_codes("alice", [recovery.digest("alice", codes[0])])
    a = make_auth(store)
    raced = _lose_one_race(store)
    d = a.login(a.attempt("alice", PIN + codes[0], IP), now=NOW)
    assert raced and (d.ok, d.reason, d.fresh) == (True, "recovery", True)
    assert store.calls["consume_recovery_code"] == 1
    assert store.get("alice").state.failures == 0


def test_hammering_a_locked_user_does_not_keep_an_old_read_alive() -> None:
    store = make_store()
    a = make_auth(store, max_otp_failures=1, state_ttl=2, throttle_free_failures=100)
    assert a.login(a.attempt("alice", PIN + "000000", IP), now=NOW).reason == "no_match"
    store.inner.replace(replace(store.get("alice"), state=UserState()))  # an admin unlocks
    reads = store.calls["get"]
    for t in (0.5, 1.0, 1.5):  # answered from the read made at NOW
        assert a.login(a.attempt("alice", PIN + "000000", IP), now=NOW + t).reason == "locked"
    assert store.calls["get"] == reads
    # state_ttl after that read (not after the last refusal) the store is read again.
    d = a.login(a.attempt("alice", PIN + otp(store, NOW + 2), IP), now=NOW + 2)
    assert (d.ok, d.reason) == (True, "otp")
