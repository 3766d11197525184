"""The OTP windows at their exact edges: fixed examples beside the randomised properties.

HOTP: a counter in ``[next, next + look_ahead]`` is accepted, ``next +
look_ahead + 1`` is not.  TOTP: a step within ``window`` steps of now + drift
is accepted, ``window + 1`` steps away is not; the drift learned from a
login is at most ``max_drift`` steps (or an administrator's larger one, kept).
Each is checked in :func:`otpgate.otp.verify.verify` and, for the look-ahead and
the window, through the Authenticator, which is what a front end calls.
"""

from __future__ import annotations

import pytest

from otpgate.config.auth import AuthSettings
from otpgate.errors import NoMatch, ReplayedCode
from otpgate.login.authenticator import Authenticator
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import Policy, TokenState, generate, verify
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

NOW = 1_700_000_010.0  # a time step starts here
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"
HOTP = Token(parse_token_type("HOTP/E"), KEY)
TOTP = Token(parse_token_type("HOTP/T30"), KEY)
STEP = TOTP.step_at(NOW)


def distinct(token: Token, inside: range, outside: int) -> str:
    """The code at ``outside``, checked to match no counter or step in ``inside``.

    Six-digit codes repeat; a collision would make an edge test pass or fail
    for the wrong reason, so the fixed key is checked to have none here.
    """
    code = generate(token, counter=outside)
    assert all(generate(token, counter=c) != code for c in inside), (outside, inside)
    return code


# --- HOTP look-ahead -------------------------------------------------------------------------


@pytest.mark.parametrize("look_ahead", [0, 1, 10])
def test_hotp_accepts_exactly_next_plus_look_ahead(look_ahead: int) -> None:
    nxt = 5
    policy = Policy(look_ahead=look_ahead)
    match = verify(
        HOTP, TokenState(nxt), generate(HOTP, counter=nxt + look_ahead), now=NOW, policy=policy
    )
    assert (match.matched, match.state, match.offset) == (
        nxt + look_ahead,
        TokenState(nxt + look_ahead + 1),
        look_ahead,
    )
    inside = range(max(nxt - look_ahead - 1, 0), nxt + look_ahead + 1)
    beyond = distinct(HOTP, inside, nxt + look_ahead + 1)
    with pytest.raises(NoMatch):
        verify(HOTP, TokenState(nxt), beyond, now=NOW, policy=policy)


def test_hotp_replays_are_told_apart_within_look_ahead_behind() -> None:
    # A code of the last look_ahead + 1 counters is a replay (not counted); older is no match.
    nxt, ahead = 20, 10
    policy = Policy(look_ahead=ahead)
    window = range(nxt - ahead - 1, nxt + ahead + 1)
    for old in (nxt - 1, nxt - ahead - 1):
        with pytest.raises(ReplayedCode):
            verify(HOTP, TokenState(nxt), generate(HOTP, counter=old), now=NOW, policy=policy)
    with pytest.raises(NoMatch):
        verify(
            HOTP, TokenState(nxt), distinct(HOTP, window, nxt - ahead - 2), now=NOW, policy=policy
        )


def event_store() -> MemoryStore:
    store = MemoryStore()
    store.add(UserRecord("alice", HOTP.type, KEY, Pin("plain", PIN), UserState()))
    return store


def test_hotp_look_ahead_through_the_authenticator() -> None:
    ahead = AuthSettings().policy.look_ahead
    store = event_store()
    a = Authenticator(store, AuthSettings())
    assert a.login(a.attempt("alice", PIN + generate(HOTP, counter=ahead), IP), now=NOW).ok
    assert store.get("alice").state.token.counter == ahead + 1
    store = event_store()
    b = Authenticator(store, AuthSettings())
    code = distinct(HOTP, range(ahead + 1), ahead + 1)
    assert b.login(b.attempt("alice", PIN + code, IP), now=NOW).reason is Reason.NO_MATCH
    state = store.get("alice").state
    assert (state.token.counter, state.failures) == (0, 1)


# --- TOTP window and drift -------------------------------------------------------------------


@pytest.mark.parametrize("window", [0, 1, 2])
@pytest.mark.parametrize("drift", [0, 3, -3])
def test_totp_accepts_exactly_window_steps_either_side(window: int, drift: int) -> None:
    policy = Policy(window=window, max_drift=10)
    center = STEP + drift
    inside = range(center - window, center + window + 1)
    for side in (-1, 1):
        edge = center + side * window
        match = verify(
            TOTP, TokenState(drift), generate(TOTP, counter=edge), now=NOW, policy=policy
        )
        assert (match.matched, match.offset) == (edge, side * window)
        beyond = distinct(TOTP, inside, center + side * (window + 1))
        with pytest.raises(NoMatch):
            verify(TOTP, TokenState(drift), beyond, now=NOW, policy=policy)


def time_store() -> MemoryStore:
    store = MemoryStore()
    store.add(UserRecord("alice", TOTP.type, KEY, Pin("plain", PIN), UserState()))
    return store


@pytest.mark.parametrize("side", [-1, 1])
def test_totp_window_through_the_authenticator(side: int) -> None:
    window = AuthSettings().policy.window
    a = Authenticator(time_store(), AuthSettings())
    edge = generate(TOTP, counter=STEP + side * window)
    assert a.login(a.attempt("alice", PIN + edge, IP), now=NOW).ok
    b = Authenticator(time_store(), AuthSettings())
    inside = range(STEP - window, STEP + window + 1)
    beyond = distinct(TOTP, inside, STEP + side * (window + 1))
    assert b.login(b.attempt("alice", PIN + beyond, IP), now=NOW).reason is Reason.NO_MATCH


@pytest.mark.parametrize(
    ("offset", "drift", "learned"),
    [(10, 0, 10), (11, 0, 10), (-10, 0, -10), (-11, 0, -10), (13, 12, 12), (-13, -12, -12)],
    ids=["+max", "+max+1", "-max", "-max-1", "resync's +12 kept", "resync's -12 kept"],
)
def test_totp_drift_learned_is_bounded_by_exactly_max_drift(
    offset: int, drift: int, learned: int
) -> None:
    # A wide window so that the drift, not the window, decides.
    policy = Policy(window=20, max_drift=10)
    match = verify(
        TOTP, TokenState(drift), generate(TOTP, counter=STEP + offset), now=NOW, policy=policy
    )
    assert match.state == TokenState(learned, STEP + offset)


def test_totp_the_last_used_step_is_a_replay_and_the_next_is_not() -> None:
    policy = Policy(window=2)
    used = TokenState(0, STEP)
    with pytest.raises(ReplayedCode):
        verify(TOTP, used, generate(TOTP, counter=STEP), now=NOW, policy=policy)
    match = verify(TOTP, used, generate(TOTP, counter=STEP + 1), now=NOW, policy=policy)
    assert match.matched == STEP + 1
