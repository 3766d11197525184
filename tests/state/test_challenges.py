"""Single-use challenges: taken once, not after they expire, shared through Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate.state import LocalState
from otpgate.state.challenges import Challenges
from otpgate.state.redis import RedisState
from otpgate.state.single_use import MAX_SINGLE_USE
from otpgate.state.sqlite import SqliteState

NOW = 1_800_000_000.0


@pytest.fixture
def redis_state(redis_server_url: str, redis_prefix: str) -> Iterator[RedisState]:
    state = RedisState(redis_server_url, redis_prefix)
    try:
        yield state
    finally:
        state.close()


def check_once_and_expiry(a: Challenges, b: Challenges) -> None:
    handle = a.put(b"value", NOW)
    assert handle is not None
    assert b.take(handle, NOW + 1) == b"value"  # found by the other one (shared) or itself
    assert a.take(handle, NOW + 1) is None and b.take(handle, NOW + 1) is None
    handle = a.put(b"late", NOW)
    assert handle is not None
    assert b.take(handle, NOW + a.ttl) is None  # expired: and gone
    assert b.take(handle, NOW) is None
    for made_up in ("", "x" * 65, "nonexistent"):
        assert b.take(made_up, NOW) is None


def test_in_one_process() -> None:
    c = Challenges(LocalState(), ttl=120)
    assert not c.shared
    check_once_and_expiry(c, c)


def test_one_process_keeps_a_bounded_number() -> None:
    c = Challenges(LocalState(), ttl=120)
    first = c.put(b"first", NOW)
    for _ in range(MAX_SINGLE_USE):
        c.put(b"more", NOW)
    assert first is not None and c.take(first, NOW) is None  # the oldest went first


def test_shared_between_the_workers_of_one_host(tmp_path: Path) -> None:
    path = str(tmp_path / "state.throttle")
    one, two = SqliteState(path), SqliteState(path)
    try:
        a, b = Challenges(one, ttl=120), Challenges(two, ttl=120)
        assert a.shared and b.shared
        check_once_and_expiry(a, b)
        race_once(a, b)
    finally:
        one.close()
        two.close()


def race_once(a: Challenges, b: Challenges) -> None:
    """Of many takers at once, exactly one gets a value."""
    handle = a.put(b"race", NOW)
    assert handle is not None
    got: list[bytes | None] = []
    start = threading.Barrier(8)

    def take() -> None:
        start.wait()
        got.append(b.take(handle, NOW))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got.count(b"race") == 1


@pytest.mark.redis
def test_shared_between_processes_through_redis(redis_state: RedisState, redis_prefix: str) -> None:
    other = RedisState(redis_state.url, redis_prefix)
    try:
        a, b = Challenges(redis_state, ttl=120), Challenges(other, ttl=120)
        assert a.shared and b.shared
        check_once_and_expiry(a, b)
        race_once(a, b)
    finally:
        other.close()


@pytest.mark.redis
def test_redis_away_keeps_nothing(redis_prefix: str) -> None:
    away = RedisState("redis://127.0.0.1:1/0", redis_prefix, timeout=0.05)
    try:
        c = Challenges(away)
        assert c.put(b"x", NOW) is None  # refused, not a challenge nobody can check
        assert c.take("anything", NOW) is None
    finally:
        away.close()
