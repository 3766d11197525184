"""``Attempt.linger=False``: a lingering credential never answers (the login form's codes).

Basic clients resend the same PIN+OTP with every request, so forward auth and
Apache keep the reference module's linger; a code typed into a form is single
use (issue 9, item 10).  The web side is tested in tests/web/test_form_single_use.py.
"""

from __future__ import annotations

from otpgate.login import rules
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.reasons import Reason
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import TokenState
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

KEY = bytes(range(1, 21))
PIN = "4711"
NOW = 1_700_000_010.0
IP = "192.0.2.1"
CODE = totp(KEY, NOW)


def test_the_rules_take_a_code_lingering_from_another_process_as_a_replay() -> None:
    step = int(NOW // 30)
    state = UserState(token=TokenState(0, step), last_otp=CODE, last_auth=NOW - 10, last_ip=IP)
    record = UserRecord("alice", parse_token_type("HOTP/T30"), KEY, Pin("plain", PIN), state)
    checked: list[str] = []

    def pin_ok(pin: str) -> bool:
        checked.append(pin)
        return pin == PIN

    lingering = rules.transition(record, PIN + CODE, IP, NOW, AuthSettings(), pin_ok)
    assert isinstance(lingering, rules.Outcome) and lingering.reason is Reason.LINGER
    single = rules.transition(record, PIN + CODE, IP, NOW, AuthSettings(), pin_ok, linger=False)
    assert isinstance(single, rules.Outcome)
    assert single.reason is Reason.REPLAYED and not single.counted and single.state is None


def test_the_authenticator_answers_a_lingering_credential_only_when_allowed() -> None:
    store = MemoryStore()
    store.add(UserRecord("alice", parse_token_type("HOTP/T30"), KEY, Pin("plain", PIN)))
    auth = Authenticator(store, AuthSettings(), clock=lambda: NOW)
    assert auth.login(auth.attempt("alice", PIN + CODE, IP)).reason is Reason.OTP
    basic = auth.attempt("alice", PIN + CODE, IP)
    cached = auth.check_cached(basic)
    assert cached is not None and cached.reason is Reason.LINGER
    form = auth.attempt("alice", PIN + CODE, IP, linger=False)
    assert auth.check_cached(form) is None
    decision = auth.decide(form)
    assert not decision.ok and decision.reason is Reason.REPLAYED
    # Not counted: the same person's double submit must not throttle them.
    assert auth.throttle.retry_after("alice", IP, NOW) is None
    assert auth.decide(basic).reason is Reason.LINGER  # Basic still lingers
