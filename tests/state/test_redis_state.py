"""The shared state in Redis: backoff tables, known credentials, revocations, outages.

Against the real Redis at 127.0.0.1:6379 (a key prefix per test), and a
redis-server of the test's own where the test stops it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from otpgate.state import Backoff, LocalState, open_state
from otpgate.state.redis import RedisState, describe
from redis_proc import own_redis

from .processes import Process

RULE = Backoff(free=3, base=10.0, cap=900.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_rule() -> None:
    assert [RULE.delay(n) for n in range(1, 7)] == [None, None, None, 10.0, 20.0, 40.0]
    assert RULE.delay(10**6) == 900.0


def test_failures_from_two_clients_count_as_one_table(
    redis_server_url: str, redis_prefix: str
) -> None:
    a = RedisState(redis_server_url, redis_prefix)
    b = RedisState(redis_server_url, redis_prefix)
    try:
        now = 5000.0
        got = [(a if i % 2 else b).failure("t", "k", now, RULE) for i in range(5)]
        assert got == [None, None, None, 10.0, 20.0]
        assert a.retry_after("t", "k", now + 5) == pytest.approx(15.0)
        assert b.retry_after("t", "other", now) is None
        b.clear("t", "k")
        assert a.retry_after("t", "k", now + 5) is None
    finally:
        a.close()
        b.close()


def test_concurrent_failures_are_each_counted(redis_server_url: str, redis_prefix: str) -> None:
    states = [RedisState(redis_server_url, redis_prefix) for _ in range(4)]
    rule = Backoff(free=1000, base=1.0, cap=900.0)
    try:

        def hammer(state: RedisState) -> None:
            for _ in range(50):
                state.failure("t", "k", 100.0, rule)

        threads = [threading.Thread(target=hammer, args=(s,)) for s in states]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The 201st failure is the first past 200: its count proves none was lost.
        assert states[0].failure("t", "k", 100.0, Backoff(free=200, base=1.0, cap=9.0)) == 1.0
    finally:
        for s in states:
            s.close()


def test_entries_expire_in_redis(redis_server_url: str, redis_prefix: str) -> None:
    import redis

    state = RedisState(redis_server_url, redis_prefix)
    try:
        state.failure("t", "k", time.time(), Backoff(free=3, base=1.0, cap=2.0))
        ttl = redis.Redis.from_url(redis_server_url).pttl(f"{redis_prefix}b:t:k")
        assert 0 < ttl <= 3000  # quiet entries go by themselves: nothing to evict by hand
    finally:
        state.close()


def test_a_quiet_entry_starts_over(redis_server_url: str, redis_prefix: str) -> None:
    state = RedisState(redis_server_url, redis_prefix)
    rule = Backoff(free=1, base=1.0, cap=5.0)
    try:
        assert state.failure("t", "k", 0.0, rule) is None
        assert state.failure("t", "k", 1.0, rule) == 1.0
        # Past the block and quiet for cap seconds: forgotten, free again.
        assert state.failure("t", "k", 7.0, rule) is None
    finally:
        state.close()


def test_known_credentials(redis_server_url: str, redis_prefix: str) -> None:
    a = RedisState(redis_server_url, redis_prefix)
    b = RedisState(redis_server_url, redis_prefix)
    try:
        a.put_credential(b"\x01" * 32, b"entry", 60)
        assert b.get_credential(b"\x01" * 32) == b"entry"
        assert b.get_credential(b"\x02" * 32) is None
        a.put_credential(b"\x03" * 32, b"short", 0.05)
        deadline = time.monotonic() + 5
        while b.get_credential(b"\x03" * 32) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert b.get_credential(b"\x03" * 32) is None
    finally:
        a.close()
        b.close()


def test_revocations_reach_every_listener(redis_server_url: str, redis_prefix: str) -> None:
    publisher = RedisState(redis_server_url, redis_prefix)
    listeners = [RedisState(redis_server_url, redis_prefix) for _ in range(2)]
    heard: list[list[str]] = [[], []]
    resets = [threading.Event(), threading.Event()]
    got = [threading.Event(), threading.Event()]
    try:
        for i, state in enumerate(listeners):

            def on_user(user: str, i: int = i) -> None:
                heard[i].append(user)
                got[i].set()

            state.listen(on_user, resets[i].set)
        assert all(r.wait(10) for r in resets)
        publisher.revoke("älice")
        assert all(g.wait(10) for g in got)
        assert heard == [["älice"], ["älice"]]
    finally:
        for s in (publisher, *listeners):
            s.close()


def test_other_prefixes_are_not_heard(redis_server_url: str, redis_prefix: str) -> None:
    a = RedisState(redis_server_url, redis_prefix)
    b = RedisState(redis_server_url, redis_prefix + "other:")
    try:
        a.failure("t", "k", 0.0, Backoff(free=0, base=5.0, cap=9.0))
        assert b.retry_after("t", "k", 1.0) is None
        assert a.retry_after("t", "k", 1.0) == 4.0
    finally:
        a.close()
        b.close()


def test_shared_throttle_across_processes(redis_server_url: str, redis_prefix: str) -> None:
    # Four "processes" (throttles over their own Redis clients), guesses alternated:
    # no more evaluated guesses than one process allows.
    processes = [Process(RedisState(redis_server_url, redis_prefix)) for _ in range(4)]
    try:
        evaluated = sum(processes[i % 4].guess("mallory", "192.0.2.1", 100.0) for i in range(40))
        assert evaluated == 4
        # Each process learned the wait: the no-network check refuses too.
        assert all(p.regulator.peek("mallory", "192.0.2.1", 100.0) is not None for p in processes)
        # Another address is not held back, and a success clears the pair everywhere.
        assert processes[0].retry_after("mallory", "192.0.2.2", 100.0) is None
        processes[1].success("mallory", "192.0.2.1", 100.0)
        assert processes[2].retry_after("mallory", "192.0.2.1", 100.0) is None
    finally:
        for p in processes:
            p.state.close()


def test_separate_local_throttles_let_more_through() -> None:
    # The same pattern without shared state: what the shared table prevents.
    processes = [Process(LocalState()) for _ in range(4)]
    evaluated = sum(processes[i % 4].guess("mallory", "192.0.2.1", 100.0) for i in range(40))
    assert evaluated == 16


def test_redis_down_and_back(
    tmp_path: Path, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with own_redis(tmp_path) as server:
        state = RedisState(server.url, redis_prefix, timeout=0.2, retry_interval=1.0, clock=clock)
        changes: list[str | None] = []
        state.on_change = changes.append
        throttle = Process(state)
        local = throttle.local
        try:
            assert state.check() is None
            throttle.failure("u", "192.0.2.9", 0.0)
            server.stop()
            caplog.set_level(logging.ERROR, logger="otpgate.state")
            # Down: each call answers at once with "nothing known"; the local table counts on.
            started = time.monotonic()
            for _ in range(20):
                throttle.failure("u", "192.0.2.9", 0.0)
                clock.now += 0.01
            assert time.monotonic() - started < 5
            assert local.failures("u", "192.0.2.9") == 21
            assert throttle.retry_after("u", "192.0.2.9", 0.0) is not None  # per process
            problem = state.problem()
            assert problem is not None and "unreachable" in problem
            assert server.url.split("//")[1].split("/")[0] in problem
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 1  # once, not per request
            assert changes == [problem]
            # Back on the same port: picked up on the next try after retry_interval.
            server.start()
            clock.now += 1.5
            assert state.check() is None
            assert changes == [problem, None]
            throttle.success("u", "192.0.2.9", 0.0)
            for _ in range(4):
                state.failure("throttle", "192.0.2.9|v", 0.0, RULE)
            assert Process(state).retry_after("v", "192.0.2.9", 0.0) is not None
        finally:
            state.close()


def test_urls() -> None:
    assert describe("redis://user:secret@example.com:6380/2") == "redis://example.com:6380/2"
    assert isinstance(open_state(None), LocalState)
    assert isinstance(open_state(""), LocalState)
    with pytest.raises(ValueError, match=r"state\.url"):
        open_state("memcached://x")


def test_state_settings_from_the_environment_and_their_checks() -> None:
    from otpgate.config.loader import load_config
    from otpgate.errors import ConfigError

    env = {"OTPGATE_STATE_URL": "redis://127.0.0.1:6379/2", "OTPGATE_STATE_TIMEOUT": "0.5"}
    config = load_config(None, env=env)
    assert config.state.url == "redis://127.0.0.1:6379/2" and config.state.timeout == 0.5
    bad = {"OTPGATE_STATE_URL": "memcached://x", "OTPGATE_STATE_KEY_PREFIX": "a b"}
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={**bad, "OTPGATE_STATE_TIMEOUT": "0"})
    message = str(caught.value)
    assert "url must be" in message and "key_prefix" in message and "timeout" in message
    assert "memcached" not in repr(load_config(None, env=env).state)  # may hold a password


def test_windows_and_marks_for_a_guess_budget(redis_server_url: str, redis_prefix: str) -> None:
    # What otpgate.regulation.budget needs to count across processes: at most `limit`
    # failures per user in any `window`, and trusted addresses that expire.
    a = RedisState(redis_server_url, redis_prefix)
    b = RedisState(redis_server_url, redis_prefix)
    try:
        for i in range(5):
            (a if i % 2 else b).window_failure("budget", "alice", 100.0 + i, 60.0, 5)
        assert a.window_retry_after("budget", "alice", 104.0, 60.0, 6) is None
        # Five in the window: free again when the first (t=100) leaves it.
        assert b.window_retry_after("budget", "alice", 104.0, 60.0, 5) == pytest.approx(56.0)
        assert b.window_retry_after("budget", "alice", 161.0, 60.0, 5) is None
        a.window_failure("budget", "alice", 104.0, 60.0, 5)  # same instant twice: both count
        assert b.window_retry_after("budget", "alice", 104.5, 60.0, 5) == pytest.approx(56.5)
        assert not b.marked("known", "alice|192.0.2.1")
        a.mark("known", "alice|192.0.2.1", 60.0)
        assert b.marked("known", "alice|192.0.2.1")
        a.window_failure("budget", "bob", 104.0, 60.0, 1)
        b.window_clear("budget", "alice")  # a trusted client logged in: its window only
        assert a.window_retry_after("budget", "alice", 104.5, 60.0, 1) is None
        assert a.window_retry_after("budget", "bob", 104.5, 60.0, 1) == pytest.approx(59.5)
        assert LocalState().window_retry_after("budget", "alice", 104.0, 60.0, 1) is None
    finally:
        a.close()
        b.close()
