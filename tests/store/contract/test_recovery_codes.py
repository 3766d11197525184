"""RecoveryCodeStore: a user's recovery codes, each consumed once, on every backend."""

from __future__ import annotations

import threading

import pytest

from otpgate.errors import UnknownUser
from otpgate.store import RecoveryCodeStore

from .conftest import PERSISTENT, Opener, every_backend, same, user

pytestmark = every_backend


def test_every_backend_is_a_recovery_code_store(opener: Opener) -> None:
    assert isinstance(opener(), RecoveryCodeStore)


def test_recovery_codes_are_consumed_exactly_once(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    s.add(user("bob"))
    assert s.count_recovery_codes("alice") == 0 and s.count_recovery_codes("nobody") == 0
    s.set_recovery_codes("alice", ["d1", "d2", "d1"])  # a repeated digest is one code
    s.set_recovery_codes("bob", ["d3"])
    assert (s.count_recovery_codes("alice"), s.count_recovery_codes("bob")) == (2, 1)
    assert s.consume_recovery_code("alice", "d3") is False  # bob's code
    assert s.consume_recovery_code("alice", "d1") is True
    assert s.consume_recovery_code("alice", "d1") is False
    assert s.count_recovery_codes("alice") == 1
    if backend in PERSISTENT:
        assert opener().consume_recovery_code("alice", "d1") is False
        assert opener().consume_recovery_code("alice", "d2") is True
    else:
        assert s.consume_recovery_code("alice", "d2") is True
    assert s.consume_recovery_code("alice", "d2") is False
    # A new set replaces the old one.
    s.set_recovery_codes("bob", ["d4"])
    assert s.consume_recovery_code("bob", "d3") is False
    assert s.consume_recovery_code("bob", "d4") is True
    assert s.consume_recovery_code("ghost", "d4") is False
    with pytest.raises(UnknownUser):
        s.set_recovery_codes("ghost", ["d5"])


def test_recovery_codes_leave_the_login_state_alone(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    before = s.get("alice")
    assert before is not None
    s.set_recovery_codes("alice", ["d1"])
    assert s.consume_recovery_code("alice", "d1") is True
    same(s.get("alice"), before)


def test_one_code_is_consumed_once_across_threads(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    s.set_recovery_codes("alice", ["d1"])
    barrier = threading.Barrier(6)
    wins: list[bool] = []

    def consume() -> None:
        store = opener()
        barrier.wait()
        wins.append(store.consume_recovery_code("alice", "d1"))

    threads = [threading.Thread(target=consume) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 5 + [True]
    assert s.count_recovery_codes("alice") == 0
