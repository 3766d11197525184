"""The shared backoff and guess-budget windows at their exact edges (SQLite file, Redis).

The same convention as the in-process tables (tests/login/test_window_edges.py): a
pair blocked until ``b`` may try again at ``b``, not an instant before; a
quiet entry is forgotten at exactly ``cap`` seconds after its last failure;
a failure leaves a budget window of ``w`` seconds at exactly ``w``.  The time
is passed in, so the real Redis and SQLite file are probed at the instant.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate.config.auth import AuthSettings
from otpgate.login.attempt import Attempt
from otpgate.regulation.shared import SharedRegulator
from otpgate.state import Backoff
from otpgate.state.base import SharedState
from otpgate.state.redis import RedisState
from otpgate.state.sqlite import SqliteState

T = 5000.0
IP = "192.0.2.1"
RULE = Backoff(free=3, base=10.0, cap=900.0)


def NO_STORE(user: str, count: int, now: float) -> None:
    """No failure is written behind here: these tests only ask and tell."""


def before(t: float) -> float:
    return math.nextafter(t, -math.inf)


def attempt(proven: bool = True) -> Attempt:
    """A wrong guess at alice from IP (``proven=False``: an address only claimed)."""
    return Attempt("alice", "999999", IP, b"", proven=proven)


def refuse(limits: SharedRegulator, guess: Attempt, now: float) -> None:
    """What the Authenticator does with a counted failure: ask, then tell."""
    seen = limits.before(guess, now, credential=False)
    limits.refused(guess, seen, now, counted=True, known=True)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SharedState]:
    state: SqliteState | RedisState
    if request.param == "sqlite":
        state = SqliteState(str(tmp_path / "t.db"))
    else:
        url = request.getfixturevalue("redis_server_url")
        state = RedisState(url, request.getfixturevalue("redis_prefix"))
    try:
        yield state
    finally:
        state.close()


@pytest.fixture
def redis_state(redis_server_url: str, redis_prefix: str) -> Iterator[RedisState]:
    state = RedisState(redis_server_url, redis_prefix)
    try:
        yield state
    finally:
        state.close()


def test_shared_backoff_ends_at_exactly_blocked_until(shared: SharedState) -> None:
    assert [shared.failure("t", "k", T, RULE) for _ in range(4)] == [None, None, None, 10.0]
    wait = shared.retry_after("t", "k", before(T + 10))
    assert wait is not None and 0 < wait < 1e-6
    assert shared.retry_after("t", "k", T + 10) is None


def test_shared_quiet_entry_is_forgotten_at_exactly_cap(shared: SharedState) -> None:
    for key in ("a", "b"):
        for _ in range(4):
            shared.failure("t", key, T, RULE)
    assert shared.failure("t", "a", before(T + 900), RULE) == 20.0  # the 5th failure
    assert shared.failure("t", "b", T + 900, RULE) is None  # the 1st again


def test_a_wait_learned_from_the_shared_table_ends_at_exactly_blocked_until(
    shared: SharedState,
) -> None:
    # Process A is throttled; process B learns the wait from the shared
    # table, and answers from memory (peek) until exactly its end.
    rules = AuthSettings(throttle_free_failures=3, throttle_base=10.0, guess_budget=0)
    a, b = SharedRegulator(rules, shared, NO_STORE), SharedRegulator(rules, shared, NO_STORE)
    for _ in range(4):
        refuse(a, attempt(), T)
    assert b.before(attempt(), T, credential=False).wait == 10.0
    wait = b.peek("alice", IP, before(T + 10))
    assert wait is not None and 0 < wait < 1e-6
    assert b.peek("alice", IP, T + 10) is None


def test_redis_window_is_spent_by_exactly_limit_and_frees_at_exactly_window(
    redis_state: RedisState,
) -> None:
    redis_state.window_failure("w", "k", T, 100.0, 2)
    assert redis_state.window_retry_after("w", "k", T, 100.0, 2) is None
    redis_state.window_failure("w", "k", T + 10, 100.0, 2)
    assert redis_state.window_retry_after("w", "k", T + 10, 100.0, 2) == 90.0
    wait = redis_state.window_retry_after("w", "k", before(T + 100), 100.0, 2)
    assert wait is not None and 0 < wait < 1e-6
    assert redis_state.window_retry_after("w", "k", T + 100, 100.0, 2) is None


def test_a_budget_wait_read_from_redis_ends_at_exactly_window(
    redis_state: RedisState,
) -> None:
    # Two processes spend one budget; the second finds it spent until exactly
    # the window after the first failure (the event loop's peek does not look
    # at budgets: the worker thread's one round trip does).
    rules = AuthSettings(guess_budget=2, guess_window=100.0, throttle_free_failures=1000)
    a, b = (
        SharedRegulator(rules, redis_state, NO_STORE),
        SharedRegulator(rules, redis_state, NO_STORE),
    )
    stranger = attempt(proven=False)  # never trusted: the untrusted lane, memory included
    refuse(a, stranger, T)
    refuse(a, stranger, T + 10)
    assert b.before(stranger, T + 10, credential=False).wait == 90.0
    wait = b.before(stranger, before(T + 100), credential=False).wait
    assert wait is not None and 0 < wait < 1e-6
    assert b.before(stranger, T + 100, credential=False).wait is None
