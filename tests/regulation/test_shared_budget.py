"""The per-user guess budget shared through Redis (issue 10, with issue 9's budget).

Two Authenticators over one store and one Redis key prefix stand for two gate
processes (or hosts).  A guesser spreading wrong guesses for one user over
many addresses and both processes gets ONE budget's worth of evaluated
guesses, not one per process; the rightful user, from an address she logged
in from (at the other process) or with a device cookie, still gets in.  With
Redis unreachable, each process keeps its own budget.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import generate
from otpgate.regulation.budget import GuessBudget
from otpgate.regulation.shared import SharedRegulator
from otpgate.state import LocalState
from otpgate.state.redis import RedisState
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from procs import free_port

NOW = 1_700_000_010.0
KEY = bytes(range(1, 21))
PIN = "4711"
HOME = "192.0.2.10"
OFFICE = "198.51.100.20"
PHONE = "phone-device-nonce"
BUDGET = 10
# A long state_ttl: what one process learns of the other, it learned through Redis.
SETTINGS = AuthSettings(state_ttl=3600.0, guess_budget=BUDGET)
EVALUATED = (Reason.NO_MATCH, Reason.BAD_PIN)


def make_store() -> MemoryStore:
    store = MemoryStore()
    ttype = parse_token_type("HOTP/T30")
    store.add(UserRecord("alice", ttype, KEY, Pin("plain", PIN)))
    return store


def right(store: MemoryStore, now: float) -> str:
    record = store.get("alice")
    assert record is not None
    return PIN + generate(record.token(), now=now)


def wrong(store: MemoryStore, now: float, n: int) -> str:
    """A wrong guess: a code right at no step near ``now``."""
    codes = {right(store, now + d)[len(PIN) :] for d in (-60, -30, 0, 30, 60)}
    guess = f"{n * 7919 % 10**6:06d}"
    while guess in codes:
        guess = f"{(int(guess) + 1) % 10**6:06d}"
    return PIN + guess


def authenticator(store: MemoryStore, state: RedisState) -> Authenticator:
    return Authenticator(store, SETTINGS, clock=lambda: NOW, state=state)


class Two:
    """Two gate processes: one store, one Redis prefix, a state each."""

    def __init__(self, url: str, prefix: str) -> None:
        self.store = make_store()
        self.a = authenticator(self.store, RedisState(url, prefix))
        self.b = authenticator(self.store, RedisState(url, prefix))

    def close(self) -> None:
        self.a.state.close()
        self.b.state.close()

    def attack(self, now: float, count: int) -> Counter[Reason]:
        """``count`` wrong guesses, each from an address of its own, alternating processes."""
        reasons: Counter[Reason] = Counter()
        for n in range(count):
            auth = self.a if n % 2 else self.b
            ip = f"10.{n // 250}.{n % 250}.66"
            d = auth.login(auth.attempt("alice", wrong(self.store, now, n), ip), now=now)
            assert not d.ok
            reasons[d.reason] += 1
        return reasons


@pytest.fixture
def two(redis_server_url: str, redis_prefix: str) -> Iterator[Two]:
    t = Two(redis_server_url, redis_prefix)
    yield t
    t.close()


def test_both_processes_count_their_budget_in_redis(two: Two) -> None:
    assert isinstance(two.a.regulator, SharedRegulator) and two.a.state.shared
    assert type(two.a.budget) is GuessBudget  # and in the process, as without Redis
    # The default (no [state] url) keeps the per-process budget alone.
    alone = Authenticator(make_store(), SETTINGS, state=LocalState())
    assert not isinstance(alone.regulator, SharedRegulator) and not alone.state.shared


def test_guesses_spread_over_two_processes_and_many_addresses_spend_one_budget(
    two: Two,
) -> None:
    # Before the attack: alice logs in at A from home, then from the office
    # (the store's last address), and once at B with her phone's device cookie.
    assert (
        two.a.login(two.a.attempt("alice", right(two.store, NOW), HOME), now=NOW).reason
        is Reason.OTP
    )
    at = NOW + 30
    assert two.a.login(two.a.attempt("alice", right(two.store, at), OFFICE), now=at).ok
    at = NOW + 60
    phone = two.b.login(
        two.b.attempt("alice", right(two.store, at), "203.0.113.7", device=PHONE), now=at
    )
    assert phone.ok

    start = NOW + 90
    reasons = two.attack(start, 60)
    # One budget across both processes: ten evaluated guesses, not twenty.
    assert sum(reasons[r] for r in EVALUATED) == BUDGET, reasons
    assert reasons[Reason.THROTTLED] == 60 - BUDGET, reasons
    # And it stays spent: more guesses, at either process, are refused unread.
    later = two.attack(start + 5, 20)
    assert later == Counter({Reason.THROTTLED: 20}), later

    # The rightful user still gets in at B: from home, which only A saw (the
    # store's last address is the office; B learns home's trust from Redis) ...
    at = start + 30
    home = two.b.login(two.b.attempt("alice", right(two.store, at), HOME), now=at)
    assert home.ok and home.reason is Reason.OTP, home
    # ... and at A with the device cookie B issued, from a new network.
    at = start + 60
    d = two.a.login(
        two.a.attempt("alice", right(two.store, at), "192.0.2.99", device=PHONE), now=at
    )
    assert d.ok and d.reason is Reason.OTP, d
    # A stranger's fresh address is still refused at both.
    for auth in (two.a, two.b):
        refused = auth.login(
            auth.attempt("alice", right(two.store, at + 30), "10.9.9.9"), now=at + 30
        )
        assert refused.reason is Reason.THROTTLED and refused.retry_after is not None


def test_the_worker_check_asks_redis_and_the_event_loop_leaves_the_budget_to_it(
    two: Two,
) -> None:
    # A spends the whole budget; B has seen none of it.
    reasons: Counter[Reason] = Counter()
    for n in range(BUDGET):
        ip = f"10.1.{n}.66"
        reasons[
            two.a.login(two.a.attempt("alice", wrong(two.store, NOW, n), ip), now=NOW).reason
        ] += 1
    assert sum(reasons[r] for r in EVALUATED) == BUDGET, reasons
    attempt = two.b.attempt("alice", wrong(two.store, NOW, 99), "10.2.0.1")
    # Memory only: B knows nothing yet, so it does not refuse (no network) ...
    assert two.b.check_cached(attempt, now=NOW + 1) is None
    # ... and the worker thread's check finds the spent budget in Redis.
    d = two.b.login(two.b.attempt("alice", wrong(two.store, NOW, 99), "10.2.0.1"), now=NOW + 1)
    assert d.reason is Reason.THROTTLED
    assert d.retry_after == pytest.approx(SETTINGS.guess_window - 1)
    # Even once B has met it (here for a claimed address, the API's ip field), a
    # spent budget is not answered on the event loop: the worker finds it, at the cost of
    # any other name's attempt (issue 17).
    claimed = two.b.attempt("alice", wrong(two.store, NOW, 98), "10.2.0.2", proven=False)
    assert two.b.check_cached(claimed, now=NOW + 2) is None
    d = two.b.decide(claimed, now=NOW + 2)
    assert d.reason is Reason.THROTTLED
    assert d.retry_after == pytest.approx(SETTINGS.guess_window - 2)


def test_a_trusted_clients_own_failures_are_shared_and_cleared_by_its_login(two: Two) -> None:
    assert two.a.login(two.a.attempt("alice", right(two.store, NOW), HOME), now=NOW).ok
    at = NOW + 30
    assert two.a.login(two.a.attempt("alice", right(two.store, at), OFFICE), now=at).ok

    def guess(auth: Authenticator, ip: str, at: float, n: int) -> Reason:
        return auth.login(auth.attempt("alice", wrong(two.store, at, n), ip), now=at).reason

    # Home's own budget, spent across both processes (a throttle's cap apart).
    at = NOW + 60
    for n in range(BUDGET):
        assert guess(two.a if n % 2 else two.b, HOME, at + n * 900, n) in EVALUATED, n
    at += BUDGET * 900
    assert guess(two.b, HOME, at, 77) is Reason.THROTTLED
    # Strangers' budget is untouched by home's failures.
    assert guess(two.b, "10.3.0.1", at, 78) in EVALUATED
    # The office spends half of its own, then alice logs in there at B:
    # that clears the office's failures in both processes.
    for n in range(BUDGET // 2):
        assert guess(two.a, OFFICE, at + n * 900, n) in EVALUATED
    at += BUDGET * 900
    assert two.b.login(two.b.attempt("alice", right(two.store, at), OFFICE), now=at).ok
    reasons = [
        guess(two.a if n % 2 else two.b, OFFICE, at + 30 + n * 900, n) for n in range(BUDGET)
    ]
    assert all(r in EVALUATED for r in reasons), reasons


def test_without_redis_each_process_keeps_its_own_budget(redis_prefix: str) -> None:
    # Nothing listens on this port: every call to Redis fails at once.
    url = f"redis://127.0.0.1:{free_port()}/0"
    store = make_store()
    a = authenticator(store, RedisState(url, redis_prefix))
    b = authenticator(store, RedisState(url, redis_prefix))
    try:
        assert isinstance(a.regulator, SharedRegulator) and a.state.shared
        assert a.login(a.attempt("alice", right(store, NOW), HOME), now=NOW).ok
        assert a.state.problem() is not None
        for auth, net in ((a, 1), (b, 2)):
            reasons: Counter[Reason] = Counter()
            for n in range(30):
                ip = f"10.{net}.{n}.66"
                d = auth.login(auth.attempt("alice", wrong(store, NOW + 30, n), ip), now=NOW + 30)
                reasons[d.reason] += 1
            # Per process, as before Redis: each still holds its guessers to the budget.
            assert sum(reasons[r] for r in EVALUATED) == BUDGET, reasons
            assert reasons[Reason.THROTTLED] == 30 - BUDGET, reasons
        # The rightful user still gets in from home.
        at = NOW + 60
        assert a.login(a.attempt("alice", right(store, at), HOME), now=at).ok
    finally:
        a.state.close()
        b.state.close()
