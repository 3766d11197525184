"""Single-use entries: kept until they expire, taken at most once, by one of many takers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate.state import open_state
from otpgate.state.base import LocalState, SharedState
from otpgate.state.single_use import SingleUse

NOW = 1_800_000_000.0


@pytest.fixture(params=["local", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SharedState]:
    if request.param == "local":
        made: SharedState = LocalState()
    elif request.param == "sqlite":
        made = open_state(f"sqlite:///{tmp_path / 'state.db'}")
    else:
        url = request.getfixturevalue("redis_server_url")
        made = open_state(url, request.getfixturevalue("redis_prefix"))
    yield made
    made.close()


def test_taken_once(state: SharedState) -> None:
    assert state.put_single(b"d" * 32, b"value", 60, NOW)
    assert state.take_single(b"d" * 32, NOW + 1) == b"value"
    assert state.take_single(b"d" * 32, NOW + 1) is None


def test_unknown_is_none(state: SharedState) -> None:
    assert state.take_single(b"x" * 32, NOW) is None


def test_expired_is_none(state: SharedState) -> None:
    # Redis expires by its own clock: a TTL of a millisecond is gone at once.
    assert state.put_single(b"e" * 32, b"value", 0.001, NOW)
    threading.Event().wait(0.01)
    assert state.take_single(b"e" * 32, NOW + 1) is None


def test_many_takers_one_winner(state: SharedState) -> None:
    for round_ in range(20):
        key = bytes([round_]) * 32
        assert state.put_single(key, b"v", 60, NOW)
        got: list[bytes | None] = []

        def take(key: bytes = key, got: list[bytes | None] = got) -> None:
            got.append(state.take_single(key, NOW))

        threads = [threading.Thread(target=take) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got.count(b"v") == 1


def test_sqlite_entries_are_shared_between_processes_files(tmp_path: Path) -> None:
    a = open_state(f"sqlite:///{tmp_path / 'state.db'}")
    b = open_state(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert a.put_single(b"s" * 32, b"v", 60, NOW)
        assert b.take_single(b"s" * 32, NOW) == b"v"
        assert a.take_single(b"s" * 32, NOW) is None
    finally:
        a.close()
        b.close()


def test_memory_is_bounded() -> None:
    single = SingleUse(limit=10)
    for i in range(100):
        single.put(i.to_bytes(4, "big"), b"v", 60, NOW)
    assert len(single) <= 10
    # The newest stay, the oldest went.
    assert single.take((99).to_bytes(4, "big"), NOW) == b"v"
    assert single.take((0).to_bytes(4, "big"), NOW) is None


def test_memory_drops_the_expired_first() -> None:
    single = SingleUse(limit=3)
    single.put(b"old", b"v", 1, NOW)
    single.put(b"a", b"v", 60, NOW)
    single.put(b"b", b"v", 60, NOW)
    single.put(b"c", b"v", 60, NOW + 5)  # full: the expired one goes, not "a"
    assert single.take(b"a", NOW + 5) == b"v"
    assert single.take(b"old", NOW + 5) is None


def test_memory_expiry_is_exact() -> None:
    single = SingleUse()
    single.put(b"a", b"v", 60, NOW)
    single.put(b"b", b"v", 60, NOW)
    assert single.take(b"a", NOW + 60) is None
    assert single.take(b"b", NOW + 59.999) == b"v"


def test_sqlite_expiry_is_exact(tmp_path: Path) -> None:
    state = open_state(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        state.put_single(b"a" * 32, b"v", 60, NOW)
        state.put_single(b"b" * 32, b"v", 60, NOW)
        assert state.take_single(b"a" * 32, NOW + 60) is None
        assert state.take_single(b"b" * 32, NOW + 59.999) == b"v"
    finally:
        state.close()
