"""The login rules as a decision table: record, password, address, time, settings -> outcome.

No store, no clock, no memory: each row gives a user record (or none), the
attempt and the settings, and says which Reason comes out, whether the
throttle counts it, whether the PIN was looked at, and what the new state
holds (or that nothing is written).  A recovery code "in the store" is a row
column; the Authenticator consumes it for real (tests/login/test_auth.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from otpgate._limits import MAX_PASSWORD, MAX_USER
from otpgate.config.auth import AuthSettings
from otpgate.login import recovery, rules, user_state
from otpgate.login.reasons import Reason
from otpgate.login.rules import Outcome, Recover
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import TokenState, generate
from otpgate.store.records import Pin, UserRecord, UserState

NOW = 1_700_000_010.0  # a time step starts here
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"
OTHER_IP = "198.51.100.7"

TOTP = Token(parse_token_type("HOTP/T30"), KEY)
STEP = TOTP.step_at(NOW)
CODE = generate(TOTP, now=NOW)
HOTP = Token(parse_token_type("HOTP/E"), KEY)
MOTP = Token(parse_token_type("MOTP"), KEY)
RECOVERY_CODE = "ABCD-EFGH-JKLM-NPQR"
# A compact recovery code whose last six characters are digits: tried as an OTP first.
DIGIT_TAIL_CODE = "ABCDEFGHJK234567"
WRONG = next(
    c
    for c in ("000000", "111111", "222222")
    if all(c != generate(TOTP, counter=s) for s in range(STEP - 2, STEP + 3))
)
assert all(DIGIT_TAIL_CODE[-6:] != generate(TOTP, counter=s) for s in range(STEP - 2, STEP + 3))


PLAIN = Pin("plain", PIN)


def user(kind: Token = TOTP, pin: Pin = PLAIN, **state: Any) -> UserRecord:
    return UserRecord("alice", kind.type, kind.key, pin, UserState(**state))


USED = TokenState(0, STEP)  # the current step was accepted already
# What an accepted OTP writes.
ACCEPTED: dict[str, object] = {
    "token": USED,
    "failures": 0,
    "last_otp": CODE,
    "last_auth": NOW,
    "last_ip": IP,
    "locked_until": None,
}
# What an accepted recovery code writes.
RECOVERED: dict[str, object] = {**ACCEPTED, "token": TokenState(), "last_otp": None}


@dataclass(frozen=True)
class Row:
    """One line of the table.  ``state`` lists the new state's fields to check;
    ``None`` means nothing may be written."""

    id: str
    record: UserRecord | None
    password: str
    reason: Reason
    counted: bool = False
    pin_checked: bool = False
    state: dict[str, object] | None = None
    retry_after: float | None = None
    linger_from: float | None = None
    name: str = "alice"
    ip: str = IP
    now: float = NOW
    settings: AuthSettings = field(default_factory=AuthSettings)
    throttled: float | None = None
    pin_failed: bool = False
    stored_codes: frozenset[str] = frozenset()
    next_provider: bool = False


ROWS = [
    # -- before the store is read -------------------------------------------------------
    Row("throttled", user(), PIN + CODE, Reason.THROTTLED, throttled=4.0, retry_after=4.0),
    Row("empty user name", user(), PIN + CODE, Reason.MALFORMED, counted=True, name=""),
    Row("user name too long", user(), PIN + CODE, Reason.MALFORMED, counted=True,
        name="a" * (MAX_USER + 1)),
    Row("password too long", user(), "1" * (MAX_PASSWORD + 1), Reason.MALFORMED, counted=True),
    # -- the record ---------------------------------------------------------------------
    Row("unknown user", None, PIN + CODE, Reason.UNKNOWN_USER, counted=True),
    Row("unknown user, fall through", None, PIN + CODE, Reason.UNKNOWN_USER,
        settings=AuthSettings(fall_through=True)),
    # Apache's next AuthBasicProvider takes the names otpgate does not know,
    # with or without fall-through: its users are not guessing here.
    Row("unknown user, a next provider", None, PIN + CODE, Reason.UNKNOWN_USER,
        next_provider=True),
    Row("known user, a next provider", user(), PIN + WRONG, Reason.NO_MATCH, counted=True,
        state={"failures": 1}, next_provider=True, settings=AuthSettings(fall_through=True)),
    Row("empty password from the last address logs out", user(last_ip=IP, last_otp=CODE),
        "", Reason.LOGOUT, state={"revoked_before": NOW, "last_otp": None}),
    Row("empty password from elsewhere", user(last_ip=OTHER_IP), "", Reason.MALFORMED),
    Row("empty password, no login yet", user(), "", Reason.MALFORMED),
    Row("locked for a while", user(locked_until=NOW + 60), PIN + CODE, Reason.LOCKED,
        retry_after=60.0),
    Row("locked by an administrator", user(locked_until=math.inf), PIN + CODE, Reason.LOCKED),
    # -- a fresh OTP ----------------------------------------------------------------------
    Row("right PIN and OTP", user(failures=2), PIN + CODE, Reason.OTP, pin_checked=True,
        linger_from=NOW, state=ACCEPTED),
    Row("an expired lock lifts", user(locked_until=NOW - 1), PIN + CODE, Reason.OTP,
        pin_checked=True, linger_from=NOW, state=ACCEPTED),
    Row("event token", user(HOTP, token=TokenState(5)), PIN + generate(HOTP, counter=7),
        Reason.OTP, pin_checked=True, linger_from=NOW,
        state={**ACCEPTED, "token": TokenState(8), "last_otp": generate(HOTP, counter=7)}),
    Row("Mobile-OTP: the PIN is in the code", user(MOTP),
        generate(MOTP, now=NOW, pin=PIN), Reason.OTP, linger_from=NOW,
        state={**ACCEPTED, "token": TokenState(0, MOTP.step_at(NOW)),
               "last_otp": generate(MOTP, now=NOW, pin=PIN)}),
    Row("no PIN: the OTP alone", user(pin=Pin("none")), CODE, Reason.OTP, pin_checked=True,
        linger_from=NOW, state=ACCEPTED),
    # -- wrong guesses --------------------------------------------------------------------
    Row("wrong OTP: the PIN is not looked at", user(), PIN + WRONG, Reason.NO_MATCH,
        counted=True, state={"failures": 1, "token": TokenState()}),
    Row("right OTP, wrong PIN: the OTP is used up", user(), "0000" + CODE, Reason.BAD_PIN,
        counted=True, pin_checked=True,
        state={"failures": 1, "token": TokenState(0, STEP), "last_otp": None}),
    Row("the PIN was found wrong in a lost race", user(), PIN + CODE, Reason.BAD_PIN,
        counted=True, pin_failed=True, state={"failures": 1, "token": TokenState(0, STEP)}),
    Row("shorter than the code", user(), "12345", Reason.MALFORMED, counted=True),
    Row("not digits", user(), PIN + "12345x", Reason.MALFORMED, counted=True),
    Row("the failure limit locks", user(failures=2), PIN + WRONG, Reason.NO_MATCH,
        counted=True, settings=AuthSettings(max_otp_failures=3),
        state={"failures": 3, "locked_until": NOW + 900}),
    Row("the failure limit locks for good", user(failures=2), PIN + WRONG, Reason.NO_MATCH,
        counted=True, settings=AuthSettings(max_otp_failures=3, failure_unlock_after=0),
        state={"failures": 3, "locked_until": math.inf}),
    # -- replays and lingering ------------------------------------------------------------
    Row("the last code again, linger over", user(token=USED, last_otp=CODE,
        last_auth=NOW - 700, last_ip=IP), PIN + CODE, Reason.REPLAYED),
    Row("a used step (a double submit)", user(token=USED), PIN + CODE, Reason.REPLAYED),
    Row("a used step, PIN found wrong in a lost race", user(token=USED), PIN + CODE,
        Reason.BAD_PIN, counted=True, pin_failed=True, state={"failures": 1}),
    Row("used in another process moments ago", user(token=USED, last_otp=CODE,
        last_auth=NOW - 10, last_ip=IP), PIN + CODE, Reason.LINGER, pin_checked=True,
        linger_from=NOW - 10),
    Row("... from another address", user(token=USED, last_otp=CODE, last_auth=NOW - 10,
        last_ip=OTHER_IP), PIN + CODE, Reason.LINGER, pin_checked=True, linger_from=NOW - 10),
    Row("... with a wrong PIN ends that linger", user(token=USED, last_otp=CODE,
        last_auth=NOW - 10, last_ip=IP), "0000" + CODE, Reason.BAD_PIN, counted=True,
        pin_checked=True, state={"failures": 1, "last_otp": None}),
    Row("... but lingering is off", user(token=USED, last_otp=CODE, last_auth=NOW - 10),
        PIN + CODE, Reason.REPLAYED, settings=AuthSettings(max_linger=0)),
    Row("... idle too long since the last use written", user(token=USED, last_otp=CODE,
        last_auth=NOW - 60), PIN + CODE, Reason.REPLAYED, settings=AuthSettings(max_idle=60)),
    # Under max_idle the use is written (every process then slides one clock),
    # once more than idle / 16 passed since the last one written, as the module.
    Row("... idle: the use is written", user(token=USED, last_otp=CODE, last_auth=NOW - 4,
        last_ip=OTHER_IP), PIN + CODE, Reason.LINGER, pin_checked=True, linger_from=NOW - 4,
        state={"last_auth": NOW}, settings=AuthSettings(max_idle=60)),
    Row("... idle: a sixteenth of it after the last one, not yet", user(token=USED,
        last_otp=CODE, last_auth=NOW - 3.75), PIN + CODE, Reason.LINGER, pin_checked=True,
        linger_from=NOW - 3.75, settings=AuthSettings(max_idle=60)),
    Row("... from another address, logout on IP change", user(token=USED, last_otp=CODE,
        last_auth=NOW - 10, last_ip=OTHER_IP), PIN + CODE, Reason.REPLAYED,
        settings=AuthSettings(logout_on_ip_change=True)),
    Row("... logged out since", user(token=USED, last_otp=CODE, last_auth=NOW - 10,
        revoked_before=NOW - 5), PIN + CODE, Reason.REPLAYED),
    # -- recovery codes ------------------------------------------------------------------
    Row("recovery code and PIN", user(failures=4, locked_until=NOW - 1), PIN + RECOVERY_CODE,
        Reason.RECOVERY, pin_checked=True, stored_codes=frozenset({RECOVERY_CODE}),
        linger_from=NOW, state=RECOVERED),
    Row("recovery code, no dashes, any case", user(), PIN + "abcdefghjkLMNPQR",
        Reason.RECOVERY, pin_checked=True, linger_from=NOW,
        stored_codes=frozenset({"ABCD-EFGH-JKLM-NPQR"}), state=RECOVERED),
    Row("recovery code not in the store", user(), PIN + RECOVERY_CODE, Reason.NO_MATCH,
        counted=True, state={"failures": 1}),
    Row("recovery code used up by a wrong PIN", user(), "0000" + RECOVERY_CODE,
        Reason.BAD_PIN, counted=True, pin_checked=True,
        stored_codes=frozenset({RECOVERY_CODE}), state={"failures": 1}),
    Row("recovery code ending in digits: tried as an OTP first", user(),
        PIN + DIGIT_TAIL_CODE, Reason.RECOVERY, pin_checked=True, linger_from=NOW,
        stored_codes=frozenset({DIGIT_TAIL_CODE}), state=RECOVERED),
    Row("recovery code while locked", user(locked_until=NOW + 60), PIN + RECOVERY_CODE,
        Reason.LOCKED, retry_after=60.0, stored_codes=frozenset({RECOVERY_CODE})),
]  # fmt: skip


def decide(row: Row) -> tuple[Outcome, list[str], list[str]]:
    """The rules in the Authenticator's order; returns the PINs checked and codes consumed."""
    checked: list[str] = []
    consumed: list[str] = []
    right = "" if row.record is not None and row.record.pin.kind == "none" else PIN

    def pin_ok(pin: str) -> bool:
        checked.append(pin)
        return pin == right

    early = rules.screen(row.name, row.password, row.settings, row.throttled)
    if early is not None:
        return early, checked, consumed
    out = rules.transition(
        row.record,
        row.password,
        row.ip,
        row.now,
        row.settings,
        pin_ok,
        pin_failed=row.pin_failed,
        next_provider=row.next_provider,
    )
    if isinstance(out, Recover):
        assert row.record is not None
        stored = {recovery.normalise(c) for c in row.stored_codes}
        hit = recovery.normalise(out.code) in stored
        consumed.extend([out.code] if hit else [])
        out = rules.recovered(row.record, hit, out.pin, row.ip, row.now, row.settings, pin_ok)
    return out, checked, consumed


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_decision_table(row: Row) -> None:
    out, checked, _ = decide(row)
    assert out.reason is row.reason
    assert out.counted is row.counted
    assert bool(checked) is row.pin_checked, checked
    assert len(checked) <= 1  # the slow PIN check runs at most once
    assert out.retry_after == row.retry_after
    assert out.linger_from == row.linger_from
    assert out.reason.accepted is (row.linger_from is not None)
    if row.state is None:
        assert out.state is None, out.state
    else:
        assert out.state is not None
        for name, expected in row.state.items():
            assert getattr(out.state, name) == expected, name
        if row.record is not None:  # nothing else changes
            others = {n: getattr(row.record.state, n) for n in UserState.__slots__}
            others.update(row.state)
            assert replace(out.state, **others) == out.state


def test_the_table_covers_every_reason_the_rules_give() -> None:
    """A new Reason fails here until the table has a row for it (or it is excluded)."""
    # SESSION is the web front ends' (a session cookie); STORE_ERROR is the
    # Authenticator's answer to a failing store (tests/login/test_auth.py); the
    # passkey reasons are login/passkey_login.py's (tests/login/test_passkey_login.py).
    passkeys = {Reason.PASSKEY, Reason.PASSKEY_REFUSED, Reason.PASSKEY_CLONED}
    not_from_the_rules = {Reason.SESSION, Reason.STORE_ERROR, *passkeys}
    assert {row.reason for row in ROWS} == set(Reason) - not_from_the_rules


def test_every_refusal_the_rules_write_is_a_counted_failure_or_a_logout() -> None:
    for row in ROWS:
        out, _, _ = decide(row)
        if out.state is not None and not out.reason.accepted:
            assert out.counted or out.reason is Reason.LOGOUT, row.id


# mod_authn_otp's AUTH_USER_NOT_FOUND: always for a name not in its file; with
# OTPAuthFallThrough On also for a wrong PIN, a wrong length, the failure
# limit and a logout (a wrong or used code too in otpgate, which does not
# tell it from a wrong PIN; and a throttled attempt, in which nothing was checked).
_ON = {Reason.UNKNOWN_USER, Reason.BAD_PIN, Reason.MALFORMED, Reason.LOCKED, Reason.LOGOUT,
       Reason.NO_MATCH, Reason.REPLAYED, Reason.THROTTLED}  # fmt: skip


@pytest.mark.parametrize("reason", list(Reason))
def test_what_fall_through_passes_on(reason: Reason) -> None:
    assert rules.passed_on(reason, False) is (reason is Reason.UNKNOWN_USER)
    assert rules.passed_on(reason, True) is (reason in _ON)
    assert not (reason.accepted and rules.passed_on(reason, True))


def test_a_recovery_code_is_only_returned_for_the_authenticator_to_consume() -> None:
    record = user()
    out = rules.transition(record, PIN + RECOVERY_CODE, IP, NOW, AuthSettings(), lambda _: True)
    assert out == Recover(PIN, RECOVERY_CODE)
    # An OTP-shaped tail is an OTP when it matches: no recovery code is touched.
    out = rules.transition(record, "ABCDEFGHJK" + CODE, IP, NOW, AuthSettings(), PIN.__eq__)
    assert isinstance(out, Outcome) and out.reason is Reason.BAD_PIN


def test_the_rules_do_not_change_their_inputs() -> None:
    record = user(failures=1, last_otp=CODE, last_auth=NOW - 10, last_ip=IP)
    before = replace(record)
    for password in (PIN + CODE, "0000" + CODE, PIN + WRONG, "", PIN + RECOVERY_CODE):
        rules.transition(record, password, IP, NOW, AuthSettings(), lambda p: p == PIN)
    assert record == before and record.state == before.state


@pytest.mark.parametrize(
    ("record", "issued_at", "stands"),
    [
        (None, NOW - 60, False),  # no such user
        (user(), NOW - 60, True),  # never logged out
        (user(locked_until=NOW + 60), NOW - 60, False),  # locked now
        (user(locked_until=math.inf), NOW - 60, False),  # locked for good
        (user(locked_until=NOW - 1), NOW - 60, True),  # a lock that has lifted
        (user(revoked_before=NOW - 30), NOW - 60, False),  # logged out after the session began
        (user(revoked_before=NOW - 60), NOW - 60, True),  # issued at the revocation: stands
        (user(revoked_before=NOW - 90), NOW - 60, True),  # logged out before it
    ],
)
def test_session_stands(record: UserRecord | None, issued_at: float, stands: bool) -> None:
    assert user_state.session_stands(record, issued_at, NOW) is stands
