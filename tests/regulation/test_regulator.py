"""The one Regulator interface: its local and its shared implementation, and who picks which."""

from __future__ import annotations

from pathlib import Path

from otpgate.config.auth import AuthSettings
from otpgate.login.attempt import Attempt
from otpgate.login.authenticator import Authenticator
from otpgate.regulation.budget import Client
from otpgate.regulation.regulator import LocalRegulator, Regulator, longer
from otpgate.regulation.shared import SharedRegulator
from otpgate.state import LocalState
from otpgate.state.sqlite import SqliteState
from otpgate.store.memory import MemoryStore

NOW = 1_000_000.0
IP = "192.0.2.1"
SETTINGS = AuthSettings(
    throttle_free_failures=1, throttle_base=10.0, guess_budget=2, guess_window=1000.0
)


def written(user: str, count: int, now: float) -> None:
    """No store here: the failure writer is not the subject."""


def guess(ip: str = IP) -> Attempt:
    return Attempt("alice", "999999", ip, b"")


def test_both_implementations_are_regulators(tmp_path: Path) -> None:
    state = SqliteState(str(tmp_path / "t.db"))
    try:
        regulators: list[Regulator] = [
            LocalRegulator(SETTINGS, written),
            SharedRegulator(SETTINGS, state, written),
        ]
        for regulator in regulators:
            assert regulator.before(guess(), NOW, credential=False).wait is None
            regulator.close()
    finally:
        state.close()


def test_the_local_wait_is_the_longer_of_throttle_and_budget() -> None:
    local = LocalRegulator(SETTINGS, written)
    # Two failures from two addresses: each pair has one free failure, so no
    # throttle, but the user's budget of two (untrusted clients) is spent.
    for ip in ("192.0.2.1", "198.51.100.1"):
        before = local.before(guess(ip), NOW, credential=False)
        assert local.refused(guess(ip), before, NOW, counted=True, known=True) is None
    budget = local.budget.retry_after("alice", Client("203.0.113.1"), NOW + 1)
    assert budget is not None
    assert local.before(guess("203.0.113.1"), NOW + 1, credential=False).wait == budget
    # A throttled pair: its backoff is longer than nothing, shorter than the budget.
    before = local.before(guess(), NOW + 1, credential=False)
    assert local.refused(guess(), before, NOW + 1, counted=True, known=True) is not None
    assert local.before(guess(), NOW + 2, credential=False).wait == longer(
        local.throttle.retry_after("alice", IP, NOW + 2), budget - 1
    )
    local.close()


def test_an_uncounted_refusal_changes_nothing_locally() -> None:
    local = LocalRegulator(SETTINGS, written)
    for _ in range(5):
        before = local.before(guess(), NOW, credential=False)
        assert local.refused(guess(), before, NOW, counted=False, known=True) is None
    assert local.throttle.failures("alice", IP) == 0
    assert local.peek("alice", IP, NOW) is None
    local.close()


def test_longer() -> None:
    assert longer(None, None) is None
    assert longer(1.0, None) == longer(None, 1.0) == 1.0
    assert longer(1.0, 2.0) == longer(2.0, 1.0) == 2.0


def test_the_authenticator_shares_only_with_a_shared_state(tmp_path: Path) -> None:
    alone = Authenticator(MemoryStore(), SETTINGS, state=LocalState())
    state = SqliteState(str(tmp_path / "t.db"))
    shared = Authenticator(MemoryStore(), SETTINGS, state=state)
    try:
        assert type(alone.regulator) is LocalRegulator
        assert type(shared.regulator) is SharedRegulator
        assert alone.throttle is alone.regulator.throttle
    finally:
        alone.close()
        shared.close()
