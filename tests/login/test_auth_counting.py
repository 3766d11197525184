"""What the throttle and the guess budget count, through the Authenticator.

tests/login/test_rules.py says which outcomes are ``counted``; this checks that the
Authenticator, which every front end calls, hands exactly those to both
counters: a guess at the PIN (a wrong PIN with a right OTP, with a code
still lingering from another process, or with a recovery code) and a guess
at the code increase the (user, address) throttle's failures and spend the
user's guess budget; a replay of the last code, which guesses nothing, does
neither.
"""

from __future__ import annotations

from typing import Any

from otpgate.config.auth import AuthSettings
from otpgate.login import recovery
from otpgate.login.authenticator import Authenticator
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import generate
from otpgate.regulation.budget import Client
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

NOW = 1_700_000_010.0
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"
OTHER_IP = "198.51.100.7"
HOTP = Token(parse_token_type("HOTP/E"), KEY)
TOTP = Token(parse_token_type("HOTP/T30"), KEY)
RECOVERY_CODE = "ABCD-EFGH-JKLM-NPQR"


def make_alice(
    token: Token = HOTP, budget: int = 1, **settings: Any
) -> tuple[MemoryStore, Authenticator]:
    """alice, with a recovery code; a budget of one guess spends it at the first counted failure."""
    store = MemoryStore()
    store.add(UserRecord("alice", token.type, KEY, Pin("plain", PIN), UserState()))
    store.set_recovery_codes("alice", [recovery.digest("alice", RECOVERY_CODE)])
    return store, Authenticator(store, AuthSettings(guess_budget=budget, **settings))


def counted(a: Authenticator, ip: str, now: float) -> tuple[int, bool]:
    """The throttle's failures for (alice, ip), and whether her guess budget is spent."""
    return a.throttle.failures("alice", ip), a.budget.retry_after(
        "alice", Client(ip), now
    ) is not None


def right_code(store: MemoryStore) -> str:
    counter = store.get("alice").state.token.counter  # type: ignore[union-attr]
    return generate(HOTP, counter=counter)


def test_a_wrong_pin_with_the_right_otp_is_counted() -> None:
    store, a = make_alice()
    assert counted(a, IP, NOW) == (0, False)
    d = a.login(a.attempt("alice", "0000" + right_code(store), IP), now=NOW)
    assert d.reason is Reason.BAD_PIN
    assert counted(a, IP, NOW) == (1, True)
    # The budget spent, even the right PIN with the next code waits.
    d = a.login(a.attempt("alice", PIN + right_code(store), OTHER_IP), now=NOW + 1)
    assert d.reason is Reason.THROTTLED


def test_a_wrong_otp_is_counted() -> None:
    store, a = make_alice()
    wrong = next(c for c in ("000000", "111111") if c != right_code(store))
    assert a.login(a.attempt("alice", PIN + wrong, IP), now=NOW).reason is Reason.NO_MATCH
    assert counted(a, IP, NOW) == (1, True)


def test_a_wrong_pin_with_a_recovery_code_is_counted() -> None:
    _, a = make_alice()
    assert a.login(a.attempt("alice", "0000" + RECOVERY_CODE, IP), now=NOW).reason is Reason.BAD_PIN
    assert counted(a, IP, NOW) == (1, True)


def test_a_wrong_pin_with_a_code_lingering_from_another_process_is_counted() -> None:
    store, first = make_alice(TOTP)
    code = generate(TOTP, now=NOW)
    assert first.login(first.attempt("alice", PIN + code, IP), now=NOW).ok
    other = Authenticator(store, AuthSettings(guess_budget=1))
    d = other.login(other.attempt("alice", "0000" + code, OTHER_IP), now=NOW + 5)
    assert d.reason is Reason.BAD_PIN
    assert counted(other, OTHER_IP, NOW + 5) == (1, True)


def test_a_replay_is_not_counted() -> None:
    # The last code re-sent once its linger is over (max_linger=0: at once),
    # from the address it was used at and from a stranger's.
    store, a = make_alice(max_linger=0)
    pw = PIN + right_code(store)
    assert a.login(a.attempt("alice", pw, IP), now=NOW).ok
    for ip in (IP, OTHER_IP, OTHER_IP):
        assert a.login(a.attempt("alice", pw, ip), now=NOW + 1).reason is Reason.REPLAYED
    assert counted(a, IP, NOW + 1) == (0, False)
    assert counted(a, OTHER_IP, NOW + 1) == (0, False)
    assert store.get("alice").state.failures == 0  # type: ignore[union-attr]


def test_an_older_used_code_is_a_replay_not_counted() -> None:
    # Consumed by a wrong PIN (counted once), then re-sent: nothing more is counted.
    store, a = make_alice(budget=2, max_linger=0)
    code = right_code(store)
    assert a.login(a.attempt("alice", "0000" + code, IP), now=NOW).reason is Reason.BAD_PIN
    for ip in (IP, OTHER_IP):
        assert a.login(a.attempt("alice", PIN + code, ip), now=NOW + 1).reason is Reason.REPLAYED
    assert counted(a, IP, NOW + 1) == (1, False)
    assert counted(a, OTHER_IP, NOW + 1) == (0, False)
