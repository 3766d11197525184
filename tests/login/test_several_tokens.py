"""Logins for a user with several OTP tokens (issue 20): a code of any of them, each its own.

alice has a TOTP app (her first token) and an HOTP spare.  PIN + a code of
either is accepted; a code is spent on its own token only; the throttle,
the failure count and the lock stay per user; the audit line names the
token the code came from; a token removed takes its codes with it.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from otpgate.audit.writer import AuditLog
from otpgate.config.auth import AuthSettings
from otpgate.login import codes, rules
from otpgate.login.authenticator import Authenticator
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import generate
from otpgate.store.authenticators import OtpToken, TokenMeta
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord

NOW = 1_700_000_010.0
APP_KEY = bytes(range(1, 21))
SPARE_KEY = bytes(range(41, 61))
PIN = "4711"
IP = "192.0.2.1"
APP = parse_token_type("HOTP/T30")
SPARE = parse_token_type("HOTP/E/8")


def sign_in(
    auth: Authenticator, user: str, password: str, ip: str, now: float | None = None
) -> Any:
    """One login through the Authenticator's one entry."""
    return auth.login(auth.attempt(user, password, ip), now=now)


def _store(spare: str = "HOTP/E/8", pin: Pin | None = None) -> tuple[MemoryStore, str]:
    """alice with the app and a spare of type ``spare``; the spare's id."""
    store = MemoryStore()
    store.add(UserRecord("alice", APP, APP_KEY, pin or Pin("plain", PIN)))
    kept = store.add_token(
        "alice", OtpToken(parse_token_type(spare), SPARE_KEY, TokenMeta(name="spare"))
    )
    return store, kept.meta.id


def _auth(store: Any, **settings: Any) -> Authenticator:
    return Authenticator(store, AuthSettings(**settings), clock=lambda: NOW)


def app_code(now: float = NOW) -> str:
    return generate(Token(APP, APP_KEY), now=now)


def spare_code(counter: int = 0, ttype: Any = SPARE) -> str:
    return generate(Token(ttype, SPARE_KEY), counter=counter)


def _form(auth: Authenticator, password: str, now: float = NOW) -> Reason:
    """A code typed into a form: single use, never lingering."""
    return auth.decide(auth.attempt("alice", password, IP, linger=False), now=now).reason


def test_a_code_of_either_token_is_accepted() -> None:
    store, spare = _store()
    auth = _auth(store)
    assert _form(auth, PIN + app_code()) is Reason.OTP
    assert _form(auth, PIN + spare_code(0), NOW + 1) is Reason.OTP
    got = store.get("alice")
    assert got is not None
    # Each token moved its own state: the app its step, the spare its counter.
    assert got.state.token.last_step == Token(APP, APP_KEY).step_at(NOW)
    assert got.find(spare).state.counter == 1  # type: ignore[union-attr]
    assert got.find(spare).meta.last_used == NOW + 1  # type: ignore[union-attr]
    assert got.first().meta.last_used == NOW


def test_a_code_is_spent_on_its_own_token_only() -> None:
    store, _ = _store()
    auth = _auth(store)
    a1 = app_code()
    assert _form(auth, PIN + a1) is Reason.OTP
    assert _form(auth, PIN + a1, NOW + 1) is Reason.REPLAYED  # never again for the app
    # The spare's codes are independent of the app's use ...
    assert _form(auth, PIN + spare_code(0), NOW + 2) is Reason.OTP
    # ... and the app's code is still spent after the spare was used.
    assert _form(auth, PIN + a1, NOW + 3) is Reason.REPLAYED
    assert _form(auth, PIN + spare_code(0), NOW + 4) is Reason.REPLAYED
    assert _form(auth, PIN + app_code(NOW + 30), NOW + 30) is Reason.OTP
    assert store.get("alice").state.failures == 0  # type: ignore[union-attr]


def test_failures_and_the_lock_are_the_user_s_whichever_token_is_guessed() -> None:
    store, _ = _store()
    auth = _auth(store, max_otp_failures=3, failure_unlock_after=0)
    # 6 and 8 digits: each wrong guess is tried against both, counted once.
    for i, guess in enumerate(["000000", "00000000", "111111"]):
        assert _form(auth, PIN + guess, NOW + i) is Reason.NO_MATCH
    assert store.get("alice").state.failures == 3  # type: ignore[union-attr]
    assert _form(auth, PIN + spare_code(0), NOW + 5) is Reason.LOCKED


def test_a_right_code_with_a_wrong_pin_spends_that_token_s_code() -> None:
    store, spare = _store()
    auth = _auth(store)
    assert _form(auth, "0000" + spare_code(0)) is Reason.BAD_PIN
    got = store.get("alice")
    assert got is not None and got.find(spare).state.counter == 1  # type: ignore[union-attr]
    assert got.find(spare).meta.last_used is None  # type: ignore[union-attr]
    assert _form(auth, PIN + spare_code(0), NOW + 1) is Reason.REPLAYED
    # The app was not touched.
    assert _form(auth, PIN + app_code(), NOW + 2) is Reason.OTP


def test_tokens_of_different_lengths_split_the_pin_each_their_way() -> None:
    store, _ = _store()
    auth = _auth(store)
    # An 8-digit spare code after a 4-digit PIN is 12 characters; read for the
    # 6-digit app it would be PIN "471112" + 6 digits: no match there.
    assert _form(auth, PIN + spare_code(0)) is Reason.OTP
    assert _form(auth, PIN + app_code(), NOW + 1) is Reason.OTP


def test_mobile_otp_beside_a_totp_app() -> None:
    store = MemoryStore()
    motp = parse_token_type("MOTP")
    store.add(UserRecord("alice", APP, APP_KEY, Pin("plain", "1234")))
    store.add_token("alice", OtpToken(motp, b"\x11" * 8, TokenMeta(name="motp")))
    auth = _auth(store)
    # Mobile-OTP: the code alone (the PIN is hashed into it).
    code = generate(Token(motp, b"\x11" * 8), now=NOW, pin="1234")
    assert _form(auth, code) is Reason.OTP
    assert _form(auth, "1234" + app_code(NOW + 30), NOW + 30) is Reason.OTP


def test_the_audit_line_names_the_token() -> None:
    store, spare = _store()
    buf = io.StringIO()
    auth = Authenticator(store, AuthSettings(), audit=AuditLog(buf), clock=lambda: NOW)
    sign_in(auth, "alice", PIN + spare_code(0), IP)
    sign_in(auth, "alice", PIN + "12345678", IP, now=NOW + 1)
    accepted, refused = (json.loads(line) for line in buf.getvalue().splitlines())
    assert (accepted["token_id"], accepted["token_name"]) == (spare, "spare")
    assert accepted["token"] == "HOTP/E/8" and "serial" not in accepted
    assert "token_id" not in refused  # no code matched: no token to name


@pytest.mark.parametrize("spare_type", ["HOTP/E", "HOTP/E/8"])
def test_a_removed_token_s_codes_are_refused_at_once(spare_type: str) -> None:
    store, spare = _store(spare=spare_type)
    auth = _auth(store, state_ttl=3600)
    basic = PIN + spare_code(0, parse_token_type(spare_type))
    assert sign_in(auth, "alice", basic, IP).reason is Reason.OTP
    assert sign_in(auth, "alice", basic, IP, now=NOW + 1).reason is Reason.LINGER
    assert store.remove_token("alice", spare) is True
    # What the announcement of the removal (state.revoke) makes every gate do;
    # tests/web/test_several_tokens_nginx.py shows it across processes.
    auth._memory.forget("alice")
    # Not from memory, and not from the stored last OTP either (another process).
    assert not sign_in(auth, "alice", basic, IP, now=NOW + 2).ok
    assert not sign_in(_auth(store), "alice", basic, IP, now=NOW + 2).ok
    assert _form(auth, PIN + spare_code(1, parse_token_type(spare_type)), NOW + 3) in (
        Reason.NO_MATCH,
        Reason.MALFORMED,
    )


def test_removing_another_token_leaves_the_last_code_lingering() -> None:
    store, spare = _store(spare="HOTP/E")
    auth = _auth(store)
    basic = PIN + app_code()
    assert sign_in(auth, "alice", basic, IP).reason is Reason.OTP
    store.remove_token("alice", spare)
    # Another process, reading the store: the app's code still lingers there.
    assert sign_in(_auth(store), "alice", basic, "192.0.2.99", now=NOW + 1).ok


def test_a_login_decided_before_the_removal_is_not_written() -> None:
    store, spare = _store()
    seen = store.get("alice")
    assert seen is not None
    store.remove_token("alice", spare)
    settings = AuthSettings()
    out = rules.transition(seen, PIN + spare_code(0), IP, NOW, settings, lambda p: p == PIN)
    assert isinstance(out, rules.Outcome) and out.reason is Reason.OTP and out.token is not None
    # The compare-and-set of that decision fails: the record moved on.
    assert store.compare_and_set("alice", seen.version, out.state, out.token) is None  # type: ignore[arg-type]


def test_each_token_is_verified_with_the_same_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong code costs one verification per token, each with the user's policy."""
    seen: Counter[str] = Counter()
    real = codes.verify

    def counting(token: Any, *args: Any, **kw: Any) -> Any:
        seen[str(token.type)] += 1
        assert kw["policy"] == AuthSettings().policy
        return real(token, *args, **kw)

    monkeypatch.setattr(codes, "verify", counting)
    store, _ = _store(spare="HOTP/E")
    auth = _auth(store)
    assert _form(auth, PIN + "000000") is Reason.NO_MATCH
    assert seen == Counter({"HOTP/T30": 1, "HOTP/E": 1})


def test_readings_group_tokens_of_one_shape() -> None:
    store, _ = _store(spare="HOTP/T60")
    record = store.get("alice")
    assert record is not None
    split = codes.readings(record, PIN + "123456")
    assert isinstance(split, list) and len(split) == 1 and len(split[0].tokens) == 2
    two = codes.readings(replace(record, more=()), "12345")
    assert isinstance(two, rules.Outcome) and two.reason is Reason.MALFORMED
