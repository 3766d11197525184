"""New apps' keys waiting for their first code: sealed, single use, bound, expiring, shared."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate.accounts.pending_apps import TRIES, TTL, PendingApps
from otpgate.state import LocalState
from otpgate.state.base import SharedState
from otpgate.state.redis import RedisState
from otpgate.state.sqlite import SqliteState

NOW = 1_800_000_000.0
SECRET = b"s" * 32
SESSION = PendingApps.session_tag(NOW - 60, "binding")


def check(a: PendingApps, b: PendingApps) -> None:
    """``a`` keeps, ``b`` takes: once, for the right user and session, until it expires."""
    begun = a.begin("alice", SESSION, "Tablet", NOW)
    assert begun is not None
    handle, pending = begun
    assert pending.expires == NOW + TTL and len(pending.key) == 20
    taken = b.take(handle, "alice", SESSION, NOW + 1)
    assert taken == pending
    assert a.take(handle, "alice", SESSION, NOW + 1) is None  # used up
    assert b.take(handle, "alice", SESSION, NOW + 1) is None
    # Another user, another session, too late: refused (and the entry is used up).
    for user, session, when in (
        ("bob", SESSION, NOW),
        ("alice", PendingApps.session_tag(NOW, "binding"), NOW),
        ("alice", SESSION, NOW + TTL),
    ):
        begun = a.begin("alice", SESSION, "Tablet", NOW)
        assert begun is not None
        assert b.take(begun[0], user, session, when) is None
        assert b.take(begun[0], "alice", SESSION, NOW) is None
    for made_up in ("", "x" * 65, "nonexistent", handle + "x"):
        assert b.take(made_up, "alice", SESSION, NOW) is None


def test_in_one_process() -> None:
    apps = PendingApps(LocalState(), SECRET)
    check(apps, apps)


def test_another_secret_opens_nothing() -> None:
    state = LocalState()
    begun = PendingApps(state, SECRET).begin("alice", SESSION, "Tablet", NOW)
    assert begun is not None
    assert PendingApps(state, b"o" * 32).take(begun[0], "alice", SESSION, NOW) is None


def test_wrong_codes_keep_the_key_a_few_times_without_extending_it() -> None:
    apps = PendingApps(LocalState(), SECRET)
    begun = apps.begin("alice", SESSION, "Tablet", NOW)
    assert begun is not None
    handle, pending = begun
    for tries in range(1, TRIES):
        taken = apps.take(handle, "alice", SESSION, NOW + tries)
        assert taken is not None and taken.key == pending.key and taken.tries == tries - 1
        again = apps.again(taken, NOW + tries)
        assert again is not None and again != handle
        handle = again
    last = apps.take(handle, "alice", SESSION, NOW + TRIES)
    assert last is not None and last.tries == TRIES - 1
    assert last.expires == pending.expires  # a retry never extends the ten minutes
    assert apps.again(last, NOW + TRIES) is None  # spent: gone
    late = apps.begin("alice", SESSION, "Tablet", NOW)
    assert late is not None
    taken = apps.take(late[0], "alice", SESSION, NOW)
    assert taken is not None and apps.again(taken, NOW + TTL) is None
    assert apps.kept(taken, NOW + TTL) is None


def test_the_state_holds_nothing_readable() -> None:
    state = LocalState()
    begun = PendingApps(state, SECRET).begin("alice", SESSION, "Tablet", NOW)
    assert begun is not None
    held = b"".join(v for v, _ in state._single._entries.values())
    names = b"".join(state._single._entries)
    for secret in (begun[1].key, begun[1].key.hex().encode(), b"alice", b"Tablet"):
        assert secret not in held and secret not in names
    assert begun[0].encode() not in names


def race(a: PendingApps, b: PendingApps) -> None:
    """Of many takers at once, exactly one gets the key."""
    begun = a.begin("alice", SESSION, "Tablet", NOW)
    assert begun is not None
    got: list[object] = []
    start = threading.Barrier(8)

    def take() -> None:
        start.wait()
        got.append(b.take(begun[0], "alice", SESSION, NOW))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(x is not None for x in got) == 1


def _pair(one: SharedState, two: SharedState) -> None:
    a, b = PendingApps(one, SECRET), PendingApps(two, SECRET)
    check(a, b)
    race(a, b)


def test_shared_between_the_workers_of_one_host(tmp_path: Path) -> None:
    path = str(tmp_path / "state.throttle")
    one, two = SqliteState(path), SqliteState(path)
    try:
        _pair(one, two)
    finally:
        one.close()
        two.close()


@pytest.fixture
def redis_pair(redis_server_url: str, redis_prefix: str) -> Iterator[tuple[RedisState, RedisState]]:
    one = RedisState(redis_server_url, redis_prefix)
    two = RedisState(redis_server_url, redis_prefix)
    try:
        yield one, two
    finally:
        one.close()
        two.close()


@pytest.mark.redis
def test_shared_between_hosts_through_redis(redis_pair: tuple[RedisState, RedisState]) -> None:
    _pair(*redis_pair)


@pytest.mark.redis
def test_redis_away_keeps_nothing(redis_prefix: str) -> None:
    away = RedisState("redis://127.0.0.1:1/0", redis_prefix, timeout=0.05)
    try:
        assert PendingApps(away, SECRET).begin("alice", SESSION, "Tablet", NOW) is None
    finally:
        away.close()
