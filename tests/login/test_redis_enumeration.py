"""With Redis, a known name, an unknown name and a spent budget cost the same Redis work.

The attack (issue 17, item 2): through ``/api/v1/check`` with a Redis
``[state]``, wrong passwords for known users were answered 0.86-1.50 ms
later (median) than for unknown names, and a user whose guess budget was
spent 2.4 ms sooner: the number of calls to Redis depended on the answers
(a spent budget stopped after three calls, or was answered on the event
loop from what the process had learned), a budget window was read whole, and
the failure count written behind the answer started at once, beside the
known user's own round trip.

No timed assertion here: the commands Redis receives from the gate are read
with ``MONITOR`` on a redis-server of the test's own, attempt by attempt (a
marker command between attempts), and the round trips are counted where the
gate makes them (the state's ``observe`` hook, which the metrics use).  The
measured figures are in docs/accounts.md (bench/enumeration.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import parse_token_type
from otpgate.regulation import failure_writer as writebehind
from otpgate.state.redis import RedisState
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from redis_proc import own_redis

pytestmark = pytest.mark.redis

KEY = bytes(range(1, 21))
PIN = "4711"
NOW = 1_700_000_010.0
BUDGET = 3
SETTINGS = AuthSettings(state_ttl=0, guess_budget=BUDGET)
# Not part of any login: the listener's subscription and health checks, the marker.
QUIET = {"PING", "SUBSCRIBE", "ECHO", "CLIENT", "HELLO", "SELECT", "INFO"}


class Watched:
    """An Authenticator over a Redis of its own, whose commands are watched with MONITOR."""

    def __init__(self, url: str) -> None:
        import redis

        store = MemoryStore()
        for name in ("alice", "bob", "k0", "k1", "k2", "k3"):
            store.add(UserRecord(name, parse_token_type("HOTP/T30"), KEY, Pin("plain", PIN)))
        self.state = RedisState(url, "enum:")
        self.trips: list[str] = []
        self.state.observe = lambda op, seconds: self.trips.append(op)
        self.auth = Authenticator(store, SETTINGS, clock=lambda: NOW, state=self.state)
        self.marker = redis.Redis.from_url(url)
        self.monitor = redis.Redis.from_url(url).monitor()
        self.monitor.__enter__()
        self.marks = 0

    def commands(self) -> list[str]:
        """The commands the gate sent since the last call (the first word of each)."""
        self.marks += 1
        mark = f"mark-{self.marks}"
        self.marker.echo(mark)
        seen: list[str] = []
        while True:
            got: dict[str, Any] = self.monitor.next_command()
            words = got["command"].split(" ")
            if words[0].upper() == "ECHO" and words[-1] == mark:
                return seen
            if got["client_type"] != "lua" and words[0].upper() not in QUIET:
                seen.append(words[0].upper())

    def front_end(self, user: str, ip: str, proven: bool) -> tuple[Reason, list[str], list[str]]:
        """One wrong password as the web gate sends it: the event loop, then a worker thread.

        Returns the reason, the commands and the round trips.
        """
        attempt = self.auth.attempt(user, PIN + "000000", ip, write_behind=True, proven=proven)
        self.commands()
        self.trips.clear()
        decision = self.auth.check_cached(attempt, now=NOW)
        assert self.commands() == []  # the event loop never waits for Redis
        if decision is None:
            decision = self.auth.decide(attempt, now=NOW)
        return decision.reason, self.commands(), list(self.trips)

    def close(self) -> None:
        self.monitor.__exit__()
        self.marker.close()
        self.auth.close()


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Watched]:
    with own_redis(tmp_path) as server:
        w = Watched(server.url)
        try:
            yield w
        finally:
            w.close()


@pytest.mark.parametrize("proven", [False, True], ids=["claimed-address", "proven-address"])
def test_known_unknown_and_spent_names_cost_the_same_redis_work(
    watched: Watched, proven: bool
) -> None:
    # bob's budget is spent (by anyone: strangers from addresses of their own).
    for n in range(BUDGET):
        reason, _, _ = watched.front_end("bob", f"198.51.100.{n + 1}", proven)
        assert reason is Reason.NO_MATCH
    seen: dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for i in range(4):  # the first round loads the scripts; it is not compared
        for kind, user, expected in (
            ("known", f"k{i}", Reason.NO_MATCH),
            ("unknown", f"nobody{i}", Reason.UNKNOWN_USER),
            ("spent", "bob", Reason.THROTTLED),
        ):
            ip = f"10.{int(proven)}.{i}.{len(kind)}"
            reason, commands, trips = watched.front_end(user, ip, proven)
            assert reason is expected, (kind, reason)
            if i:
                seen.setdefault(kind, set()).add((tuple(sorted(commands)), tuple(trips)))
    # One shape per kind of name, and the same shape for all three.
    assert all(len(shapes) == 1 for shapes in seen.values()), seen
    assert seen["known"] == seen["unknown"] == seen["spent"], seen
    (commands, trips), *_ = seen["known"]
    assert trips == ("ask", "tell")  # two round trips: a pipeline of reads, one script
    assert commands.count("EVALSHA") == 1


def test_a_window_is_read_as_one_entry_however_full(watched: Watched) -> None:
    # A name with many failures behind it costs the same read as a fresh one.
    state = watched.state
    for n in range(50):
        state.window_failure("budget", "full", NOW + n, 3600.0, 100)
    watched.commands()
    assert state.window_retry_after("budget", "full", NOW + 50, 3600.0, 100) is None
    assert state.window_retry_after("budget", "full", NOW + 50, 3600.0, 50) == 3600.0 - 50
    assert state.window_retry_after("budget", "full", NOW + 50, 3600.0, 10) == 3600.0 - 10
    assert state.window_retry_after("budget", "fresh", NOW + 50, 3600.0, 10) is None
    assert watched.commands() == ["ZRANGE"] * 4
    # The answer is the one failure that decides the wait, not the window.
    assert len(state._window_read(state._redis, ("budget", "full"), 10)) == 1


def test_the_failure_count_is_written_after_the_attempt_not_beside_it(
    watched: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer is not woken by the failure, it looks at its own tick: its work
    # stays off the known user's own round trip and answer.  (A long tick here;
    # flush() does not wait for it.)
    monkeypatch.setattr(writebehind, "TICK", 60.0)
    watched.front_end("nobody", "10.9.9.8", proven=False)  # the writer runs, for any name
    store = watched.auth.store
    reason, _, _ = watched.front_end("alice", "10.9.9.9", proven=False)
    assert reason is Reason.NO_MATCH
    record = store.get("alice")
    assert record is not None and record.state.failures == 0  # not yet
    assert watched.auth.flush(10)
    record = store.get("alice")
    assert record is not None and record.state.failures == 1
