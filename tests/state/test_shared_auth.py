"""Two Authenticators (two gate processes) sharing one store and one Redis.

What the shared state must give: one throttle, lingering credentials found
without a PIN hash, revocations heard at once; and without Redis, logins go on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import generate
from otpgate.state import LocalState
from otpgate.state.redis import RedisState
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from redis_proc import own_redis

NOW = 1_700_000_010.0
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"
DIGEST_KEY = b"k" * 32
# A long state_ttl: anything taking effect here did so through the shared state.
SETTINGS = AuthSettings(state_ttl=3600.0, throttle_base=60.0)


def code(now: float = NOW) -> str:
    return generate(make_store().get("alice").token(), now=now)  # type: ignore[union-attr]


def make_store() -> MemoryStore:
    store = MemoryStore()
    ttype = parse_token_type("HOTP/T30")
    store.add(UserRecord("alice", ttype, KEY, Pin("hash", FAST_TEST_HASHER.hash(PIN))))
    return store


class Pair:
    """Two Authenticators over one store and one Redis prefix."""

    def __init__(self, url: str, prefix: str, store: MemoryStore, **kw: Any) -> None:
        self.store = store
        self.heard = threading.Event()  # by B (A hears its own revocations too)
        self.a = self._auth(url, prefix, kw.get("key_a", DIGEST_KEY), threading.Event())
        self.b = self._auth(url, prefix, kw.get("key_b", DIGEST_KEY), self.heard)
        for auth in (self.a, self.b):
            assert auth.state.subscribed.wait(10)  # type: ignore[attr-defined]
        self.pin_checks = 0
        hasher = self.b._decider.pin_hasher
        outer = self

        class Counting:
            def verify(self, stored: str, pin: str) -> bool:
                outer.pin_checks += 1
                return hasher.verify(stored, pin)

        self.b._decider.pin_hasher = Counting()  # type: ignore[assignment]

    def _auth(self, url: str, prefix: str, key: bytes, event: threading.Event) -> Authenticator:
        state = RedisState(url, prefix)
        auth = Authenticator(self.store, SETTINGS, clock=lambda: NOW, state=state, digest_key=key)
        forget = auth._memory.forget

        def heard(user: str) -> None:
            forget(user)
            event.set()

        auth._memory.forget = heard  # type: ignore[method-assign]
        return auth

    def close(self) -> None:
        # The store is shared: close the states only.
        self.a.state.close()
        self.b.state.close()


@pytest.fixture
def pair(redis_server_url: str, redis_prefix: str) -> Iterator[Pair]:
    p = Pair(redis_server_url, redis_prefix, make_store())
    yield p
    p.close()


def test_guesses_spread_over_two_processes_meet_one_throttle(pair: Pair) -> None:
    reasons = []
    for i in range(12):
        auth = pair.a if i % 2 else pair.b
        reasons.append(auth.login(auth.attempt("alice", PIN + "000000", IP), now=NOW).reason)
    evaluated = [r for r in reasons if r is not Reason.THROTTLED]
    # One process allows throttle_free_failures + 1 evaluated guesses, then backs off.
    assert len(evaluated) == SETTINGS.throttle_free_failures + 1
    assert reasons[-1] is Reason.THROTTLED


def test_a_credential_accepted_by_one_lingers_in_the_other_without_a_pin_hash(
    pair: Pair,
) -> None:
    password = PIN + code()
    first = pair.a.login(pair.a.attempt("alice", password, IP), now=NOW)
    assert first.ok and first.fresh
    again = pair.b.login(pair.b.attempt("alice", password, IP), now=NOW + 1)
    assert again.ok and again.reason is Reason.LINGER
    assert pair.pin_checks == 0
    # Now in B's own memory: answered on the event loop's path.
    cached = pair.b.check_cached(pair.b.attempt("alice", password, IP), now=NOW + 2)
    assert cached is not None and cached.ok


def test_without_the_common_key_the_other_process_checks_the_pin(
    redis_server_url: str, redis_prefix: str
) -> None:
    p = Pair(redis_server_url, redis_prefix, make_store(), key_b=b"other" * 8)
    try:
        password = PIN + code()
        assert p.a.login(p.a.attempt("alice", password, IP), now=NOW).ok
        again = p.b.login(p.b.attempt("alice", password, IP), now=NOW + 1)
        assert again.ok  # the store's own linger, after a PIN check
        assert p.pin_checks == 1
    finally:
        p.close()


def test_a_forged_or_moved_entry_in_redis_is_not_believed(pair: Pair, redis_prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(pair.a.state.url)  # type: ignore[attr-defined]
    password = PIN + code()
    right = pair.b.attempt("alice", password, IP).key
    wrong = pair.b.attempt("alice", PIN + "123456", IP).key
    assert pair.a.login(pair.a.attempt("alice", password, IP), now=NOW).ok
    sealed = client.get(f"{redis_prefix}c:{right.hex()}".encode())
    assert sealed is not None
    # Copied to the digest of a wrong password, and made up from scratch.
    client.set(f"{redis_prefix}c:{wrong.hex()}".encode(), sealed)
    assert not pair.b.login(pair.b.attempt("alice", PIN + "123456", IP), now=NOW + 1).ok
    client.set(f"{redis_prefix}c:{right.hex()}".encode(), b"x" * 32 + sealed[32:])
    pair.b._memory.clear()
    d = pair.b.login(pair.b.attempt("alice", password, IP), now=NOW + 2)
    assert d.ok and pair.pin_checks == 1  # not from the forged entry: through the PIN
    client.close()


def test_a_logout_in_one_process_is_heard_by_the_other(pair: Pair) -> None:
    password = PIN + code()
    assert pair.a.login(pair.a.attempt("alice", password, IP), now=NOW).ok
    assert pair.b.login(pair.b.attempt("alice", password, IP), now=NOW + 1).ok
    assert pair.b.session_valid("alice", NOW, now=NOW + 1)
    pair.a.logout("alice", now=NOW + 2)
    assert pair.heard.wait(10)
    # Within state_ttl (an hour here): the other process re-read the store.
    assert not pair.b.session_valid("alice", NOW, now=NOW + 3)
    assert pair.b.check_cached(pair.b.attempt("alice", password, IP), now=NOW + 3) is None
    assert not pair.b.login(pair.b.attempt("alice", password, IP), now=NOW + 3).ok


def test_an_empty_password_logout_is_heard_too(pair: Pair) -> None:
    # The reference module's logout: an empty password from the last address.
    password = PIN + code()
    assert pair.a.login(pair.a.attempt("alice", password, IP), now=NOW).ok
    assert pair.b.login(pair.b.attempt("alice", password, IP), now=NOW + 1).ok
    out = pair.a.login(pair.a.attempt("alice", "", IP), now=NOW + 2)
    assert out.reason is Reason.LOGOUT
    assert pair.heard.wait(10)
    assert not pair.b.session_valid("alice", NOW, now=NOW + 3)
    assert not pair.b.login(pair.b.attempt("alice", password, IP), now=NOW + 3).ok


def test_without_redis_logins_go_on_and_each_process_throttles(
    tmp_path: Path, redis_prefix: str
) -> None:
    with own_redis(tmp_path) as server:
        p = Pair(server.url, redis_prefix, make_store())
        try:
            server.stop()
            password = PIN + code()
            # The store still decides: one fresh acceptance, the copy is a replay or a linger.
            first = p.a.login(p.a.attempt("alice", password, IP), now=NOW)
            assert first.ok and first.fresh
            second = p.b.login(p.b.attempt("alice", password, IP), now=NOW + 1)
            assert not second.fresh
            assert p.a.state.problem() is not None
            reasons = [
                p.a.login(p.a.attempt("alice", PIN + "000000", "192.0.2.50"), now=NOW).reason
                for _ in range(6)
            ]
            assert reasons.count(Reason.THROTTLED) == 2  # per process, still held back
        finally:
            p.close()


def test_local_state_shares_nothing() -> None:
    store = make_store()
    a = Authenticator(store, SETTINGS, clock=lambda: NOW, state=LocalState())
    b = Authenticator(store, SETTINGS, clock=lambda: NOW)
    reasons = [
        auth.login(auth.attempt("alice", PIN + "000000", IP), now=NOW).reason
        for auth in (a if i % 2 else b for i in range(12))
    ]
    assert sum(r is not Reason.THROTTLED for r in reasons) == 2 * (
        SETTINGS.throttle_free_failures + 1
    )


def test_a_revocation_already_delivered_is_applied_before_the_next_answer(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The listener thread may not be scheduled before the user's next request
    # (a loaded host): the request path applies what has arrived itself.
    import select as real_select
    import time

    from otpgate.state import redis as redis_module

    class ListenerAsleep:
        """select() that never wakes the listener thread; the request path's works."""

        @staticmethod
        def select(r: Any, w: Any, x: Any, timeout: float | None = None) -> Any:
            if threading.current_thread().name == "otpgate-revocations":
                time.sleep(timeout or 0)
                return [], [], []
            return real_select.select(r, w, x, timeout)

    password = PIN + code()
    assert pair.a.login(pair.a.attempt("alice", password, IP), now=NOW).ok
    assert pair.b.session_valid("alice", NOW, now=NOW + 1)
    monkeypatch.setattr(redis_module, "select", ListenerAsleep)
    time.sleep(1.2)  # the listener is now inside the sleeping select
    pair.a.logout("alice", now=NOW + 2)
    deadline = time.monotonic() + 10
    # Delivered to B's socket within loopback time; B's next answer applies it.
    while pair.b.session_valid("alice", NOW, now=NOW + 3):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert pair.heard.is_set()  # through the request path: the listener never woke
    assert pair.b.check_cached(pair.b.attempt("alice", password, IP), now=NOW + 3) is None
