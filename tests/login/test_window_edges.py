"""Every time window of the login rules at its exact edge, with an injected clock.

Tests that check 599 s and 601 s of a 600 s window do not notice the window
growing by one instant (``<`` turned into ``<=``): here each window is probed
at the instant it ends and at the instant before (``math.nextafter``), and
where a clock running backwards matters, at the instant before it starts.
Convention of these rules: a window of ``w`` seconds that starts at ``t`` is
open for ``t <= now < t + w``; at ``t + w`` it is over.  (The web cookies,
tests/web/test_cookie_edges.py, are the exception: they stand through their
last instant.)

Each test names the rule it guards; the commit that added this file lists the
one-line mutation each test was seen to catch.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import InvitationRefused, SelfService
from otpgate.config.auth import AuthSettings
from otpgate.login import rules, user_state
from otpgate.login.authenticator import Authenticator
from otpgate.login.linger import LingerMemory
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import TokenState, generate
from otpgate.regulation.budget import Client, GuessBudget
from otpgate.regulation.throttle import Throttle
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

from .counting_store import CountingStore

NOW = 1_700_000_010.0  # a time step starts here
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"
OTHER_IP = "198.51.100.7"
TOTP = Token(parse_token_type("HOTP/T30"), KEY)
CODE = generate(TOTP, now=NOW)
USED = TokenState(0, TOTP.step_at(NOW))  # CODE's step was accepted


def before(t: float) -> float:
    """The last instant before ``t``."""
    return math.nextafter(t, -math.inf)


def after(t: float) -> float:
    """The first instant after ``t``."""
    return math.nextafter(t, math.inf)


def make_store() -> CountingStore:
    store = MemoryStore()
    store.add(UserRecord("alice", TOTP.type, KEY, Pin("plain", PIN), UserState()))
    return CountingStore(store)


def first_use(**settings: Any) -> tuple[CountingStore, Authenticator, str]:
    """A store, an Authenticator, and a PIN+OTP it accepted at ``NOW``."""
    store = make_store()
    a = Authenticator(store, AuthSettings(**settings), clock=lambda: NOW)
    password = PIN + CODE
    assert a.login(a.attempt("alice", password, IP), now=NOW).fresh
    return store, a, password


def reason_at(a: Authenticator, password: str, now: float, ip: str = IP) -> Reason:
    return a.login(a.attempt("alice", password, ip), now=now).reason


# --- the linger window in memory (linger.py) --------------------------------------------------


def test_fixed_linger_ends_at_exactly_max_linger() -> None:
    _, a, pw = first_use(max_linger=600)
    assert reason_at(a, pw, before(NOW + 600)) is Reason.LINGER
    # From memory alone (the event loop's check), then with a store read.
    assert a.check_cached(a.attempt("alice", pw, IP), now=NOW + 600) is None
    assert reason_at(a, pw, NOW + 600) is Reason.REPLAYED


def test_sliding_idle_ends_at_exactly_max_idle_after_the_last_use() -> None:
    # The last use at +50 slides the window to +110; the stored first use
    # (+0, what other processes see) ended at +60 and plays no part.
    _, a, pw = first_use(max_idle=60)
    assert reason_at(a, pw, NOW + 50) is Reason.LINGER
    assert reason_at(a, pw, NOW + 110) is Reason.REPLAYED
    _, b, pw = first_use(max_idle=60)
    assert reason_at(b, pw, NOW + 50) is Reason.LINGER
    assert reason_at(b, pw, before(NOW + 110)) is Reason.LINGER


def lingers(settings: AuthSettings, added: float, uses: list[float], at: float) -> bool:
    """Whether a credential added at ``added`` and re-used at ``uses`` lingers at ``at``."""
    record = UserRecord("alice", TOTP.type, KEY, Pin("plain", PIN), UserState(token=USED))
    memory = LingerMemory(settings)
    snap = memory.remember("alice", record, added)
    memory.add(b"k", "alice", IP, record, added, added)
    for t in uses:
        assert memory.hit(b"k", "alice", IP, snap, t)
    return memory.hit(b"k", "alice", IP, snap, at)


@pytest.mark.parametrize(
    ("settings", "uses", "at", "expected"),
    [
        (AuthSettings(max_linger=600), [], NOW, True),  # the instant it was accepted
        (AuthSettings(max_linger=600), [], before(NOW + 600), True),
        (AuthSettings(max_linger=600), [], NOW + 600, False),
        (AuthSettings(max_linger=600), [NOW + 300], NOW + 600, False),  # fixed: not slid
        (AuthSettings(max_linger=600), [], before(NOW), False),  # the clock went back
        (AuthSettings(max_idle=60), [], before(NOW + 60), True),
        (AuthSettings(max_idle=60), [], NOW + 60, False),
        (AuthSettings(max_idle=60), [NOW + 50], before(NOW + 110), True),
        (AuthSettings(max_idle=60), [NOW + 50], NOW + 110, False),
        (AuthSettings(max_idle=60), [NOW + 50], before(NOW + 50), False),
    ],
    ids=[
        "fixed, at once",
        "fixed, last instant",
        "fixed, at the end",
        "fixed, at the end after a use",
        "fixed, before the first use",
        "idle, last instant",
        "idle, at the end",
        "idle slid, last instant",
        "idle slid, at the end",
        "idle slid, before the last use",
    ],
)
def test_linger_memory_windows(
    settings: AuthSettings, uses: list[float], at: float, expected: bool
) -> None:
    assert lingers(settings, NOW, uses, at) is expected


# --- the stored linger, across processes (rules._stored_linger) --------------------------------


def stored(last_auth: float, **state: Any) -> UserRecord:
    """A record whose last OTP, ``CODE``, another process accepted at ``last_auth``."""
    st = UserState(token=USED, last_otp=CODE, last_auth=last_auth, last_ip=IP, **state)
    return UserRecord("alice", TOTP.type, KEY, Pin("plain", PIN), st)


def decide(record: UserRecord, settings: AuthSettings, now: float = NOW) -> Reason:
    out = rules.transition(record, PIN + CODE, IP, now, settings, lambda pin: pin == PIN)
    assert isinstance(out, rules.Outcome)
    return out.reason


@pytest.mark.parametrize(
    ("settings", "span"), [(AuthSettings(max_linger=600), 600), (AuthSettings(max_idle=60), 60)]
)
def test_stored_linger_ends_at_exactly_its_span(settings: AuthSettings, span: float) -> None:
    assert decide(stored(NOW), settings) is Reason.LINGER
    assert decide(stored(after(NOW - span)), settings) is Reason.LINGER
    assert decide(stored(NOW - span), settings) is Reason.REPLAYED
    # Accepted "in the future" (a clock ahead elsewhere): not a linger here.
    assert decide(stored(after(NOW)), settings) is Reason.REPLAYED


def test_stored_linger_through_a_second_authenticator() -> None:
    store, _, pw = first_use(max_linger=600)
    late = Authenticator(store, AuthSettings(max_linger=600))
    assert reason_at(late, pw, NOW + 600) is Reason.REPLAYED
    store2, _, pw = first_use(max_linger=600)
    on_time = Authenticator(store2, AuthSettings(max_linger=600))
    assert reason_at(on_time, pw, before(NOW + 600)) is Reason.LINGER


# --- revocation at the instant of the login ------------------------------------------------


def test_logout_at_the_instant_of_the_first_use_leaves_it_standing() -> None:
    # A logout is the time after which nothing issued before it stands; what
    # was issued at that very instant (ms-rounded cookies) stands.
    settings = AuthSettings(max_linger=600)
    assert decide(stored(NOW - 10, revoked_before=NOW - 10), settings) is Reason.LINGER
    assert decide(stored(NOW - 10, revoked_before=after(NOW - 10)), settings) is Reason.REPLAYED
    record = stored(NOW - 10, revoked_before=NOW - 10)
    assert user_state.session_stands(record, NOW - 10, NOW)
    assert not user_state.session_stands(record, before(NOW - 10), NOW)
    for revoked, expected in ((NOW, True), (after(NOW), False)):
        memory = LingerMemory(settings)
        memory.add(b"k", "alice", IP, record, NOW, NOW)
        snap = memory.remember("alice", stored(NOW - 10, revoked_before=revoked), NOW)
        assert memory.hit(b"k", "alice", IP, snap, NOW + 1) is expected


# --- state_ttl: how long a store read answers ----------------------------------------------


def test_a_store_read_answers_until_exactly_state_ttl() -> None:
    store = make_store()
    a = Authenticator(store, AuthSettings(state_ttl=2.0))
    assert a.session_valid("alice", NOW, now=NOW)
    assert a.session_valid("alice", NOW, now=before(NOW + 2))
    assert store.calls["get"] == 1
    assert a.session_valid("alice", NOW, now=NOW + 2)
    assert store.calls["get"] == 2  # re-read: a lock or logout elsewhere is seen by now
    memory = LingerMemory(AuthSettings(state_ttl=2.0))
    memory.remember("alice", None, NOW)
    assert memory.snapshot("alice", before(NOW + 2)) is not None
    assert memory.snapshot("alice", NOW + 2) is None
    assert memory.snapshot("alice", before(NOW)) is None


# --- the automatic unlock (failure_unlock_after) ------------------------------------------


def test_a_lock_lifts_at_exactly_failure_unlock_after() -> None:
    store = make_store()
    settings = AuthSettings(max_otp_failures=3, failure_unlock_after=900, throttle_free_failures=9)
    a = Authenticator(store, settings)
    for _ in range(3):
        assert reason_at(a, PIN + "000000", NOW) is Reason.NO_MATCH
    assert store.get("alice").state.locked_until == NOW + 900
    last = before(NOW + 900)
    d = a.login(a.attempt("alice", PIN + generate(TOTP, now=last), IP), now=last)
    assert (d.reason, d.retry_after) == (Reason.LOCKED, pytest.approx(0.0, abs=1e-6))
    assert a.login(a.attempt("alice", PIN + generate(TOTP, now=NOW + 900), IP), now=NOW + 900).ok
    state = UserState(locked_until=NOW + 900)
    assert user_state.locked(state, before(NOW + 900))
    assert not user_state.locked(state, NOW + 900)


# --- the throttle's backoff (throttle.py) ------------------------------------------------


def test_backoff_ends_at_exactly_blocked_until() -> None:
    t = Throttle(free_failures=3, base=1.0, cap=900.0)
    assert [t.failure("alice", IP, NOW) for _ in range(4)] == [None, None, None, 1.0]
    assert t.retry_after("alice", IP, before(NOW + 1)) == pytest.approx(0.0, abs=1e-6)
    assert t.retry_after("alice", IP, NOW + 1) is None
    assert t.blocked(before(NOW + 1)) == {"alice": NOW + 1}
    assert t.blocked(NOW + 1) == {}


def test_backoff_ends_at_exactly_blocked_until_through_the_authenticator() -> None:
    store = make_store()
    a = Authenticator(store, AuthSettings(throttle_free_failures=3, throttle_base=1.0))
    for _ in range(4):
        reason_at(a, PIN + "000000", NOW)
    assert reason_at(a, PIN + "000000", before(NOW + 1)) is Reason.THROTTLED
    assert reason_at(a, PIN + "000000", NOW + 1) is Reason.NO_MATCH


def test_a_quiet_pair_is_forgotten_at_exactly_cap() -> None:
    t = Throttle(free_failures=3, base=1.0, cap=900.0)
    for _ in range(4):
        t.failure("alice", IP, NOW)
    assert t.failure("alice", IP, before(NOW + 900)) == 2.0  # the 5th failure
    u = Throttle(free_failures=3, base=1.0, cap=900.0)
    for _ in range(4):
        u.failure("alice", IP, NOW)
    assert u.failure("alice", IP, NOW + 900) is None  # the 1st again
    assert u.failures("alice", IP) == 1
    # Blocked for the whole cap: forgotten once both the block and the quiet time are over.
    v = Throttle(free_failures=0, base=10.0, cap=10.0)
    assert v.failure("alice", IP, NOW) == 10.0
    v.failure("alice", IP, NOW + 10)
    assert v.failures("alice", IP) == 1


# --- the guess budget (budget.py) --------------------------------------------------------


def test_the_budget_is_spent_by_exactly_guesses_failures() -> None:
    b = GuessBudget(guesses=2, window=100.0)
    b.failure("alice", Client(IP), NOW)
    assert b.retry_after("alice", Client(IP), NOW) is None
    b.failure("alice", Client(IP), NOW + 10)
    assert b.retry_after("alice", Client(IP), NOW + 10) == 90.0


def test_a_failure_leaves_the_budget_window_at_exactly_window() -> None:
    b = GuessBudget(guesses=2, window=100.0)
    b.failure("alice", Client(IP), NOW)
    b.failure("alice", Client(IP), NOW + 10)
    assert b.retry_after("alice", Client(IP), before(NOW + 100)) == pytest.approx(0, abs=1e-6)
    assert b.retry_after("alice", Client(IP), NOW + 100) is None


def test_the_budget_window_through_the_authenticator() -> None:
    a = Authenticator(make_store(), AuthSettings(guess_budget=1, guess_window=100.0))
    assert reason_at(a, PIN + "000000", NOW) is Reason.NO_MATCH
    assert reason_at(a, PIN + "000000", before(NOW + 100), OTHER_IP) is Reason.THROTTLED
    assert reason_at(a, PIN + "000000", NOW + 100, OTHER_IP) is Reason.NO_MATCH


def test_an_address_is_trusted_until_exactly_trusted_for() -> None:
    b = GuessBudget(guesses=2, trusted_for=1000.0)
    b.success("alice", Client(IP), NOW)
    assert b.trusted("alice", Client(IP), NOW)
    assert b.trusted("alice", Client(IP), before(NOW + 1000))
    assert not b.trusted("alice", Client(IP), NOW + 1000)
    assert not b.trusted("alice", Client(IP), before(NOW))  # the clock went back


def test_a_stored_last_login_is_trusted_until_exactly_trusted_for() -> None:
    # Learnt at ``now`` from a record saying "last login at NOW"; asked at NOW.
    for now, expected in ((before(NOW + 1000), True), (NOW + 1000, False), (before(NOW), False)):
        b = GuessBudget(guesses=2, trusted_for=1000.0)
        b.seen("alice", IP, NOW, now)
        assert b.trusted("alice", Client(IP), NOW) is expected, now


# --- invitations (invitations.py, selfservice.py) ------------------------------------------


def test_an_invitation_expires_at_exactly_its_expiry() -> None:
    svc = SelfService(MemoryStore(), policy=PinPolicy(), hasher=FAST_TEST_HASHER)
    token = svc.invite("dora", TOTP.type, expires_in=3600, reset=False, now=NOW)
    inv = svc.open(token, before(NOW + 3600))
    assert inv.expires == NOW + 3600
    with pytest.raises(InvitationRefused) as exc:
        svc.open(token, NOW + 3600)
    assert exc.value.why == "expired"
    assert inv.usable(before(NOW + 3600))
    assert not inv.usable(NOW + 3600)
    # Revoking (user remove) skips what has expired and takes what has not.
    assert svc.revoke("dora", NOW + 3600) == 0
    assert svc.revoke("dora", before(NOW + 3600)) == 1
