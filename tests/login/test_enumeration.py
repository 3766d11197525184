"""A known user with a wrong code and an unknown user cost the same work on the request path.

The attack (issue 9, item 9): a known user with a wrong OTP was answered
0.7-2.3 ms later (median) than an unknown user, because the counted failure
was written to the store before the answer.  Now the front ends ask for the
failure count to be written behind the answer (``write_behind``), and an
unknown user's attempt is verified against a decoy token, so both paths do
the same kinds and numbers of operations before the answer: one store read,
one verification with the same window.  No timed assertion here; the
measured figures are in docs/accounts.md (bench/enumeration.py).
"""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.otp.tokens import TokenType
from otpgate.store import Store, open_store
from otpgate.store.records import Pin, UserRecord

KEY = b"12345678901234567890"
PIN = "1234"
T0 = 1_800_000_000.0
WRONG = PIN + "000000"
STORE_CALLS = ("get", "compare_and_set", "consume_recovery_code", "replace", "add", "remove")


class CountingStore:
    """A real store; every call is noted with the thread that made it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[tuple[int, str]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in STORE_CALLS:
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((threading.get_ident(), name))
            return attr(*args, **kwargs)

        return counted

    def close(self) -> None:
        self.closed = True  # the fixture closes the real store after the test reads it

    def here(self) -> Counter[str]:
        me = threading.get_ident()
        return Counter(name for tid, name in self.calls if tid == me)


@pytest.fixture(params=["memory", "users-file", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CountingStore]:
    if request.param == "users-file":
        path = tmp_path / "users"
        path.write_text(f"HOTP/T30 alice {PIN} {KEY.hex()} 0\n")
        path.chmod(0o600)
        inner = open_store(f"users-file:{path}")
    else:
        from otpgate.login.pins import FAST_TEST_HASHER
        from otpgate.store.crypto import create_key_file

        url = "memory:"
        if request.param == "sqlite":
            create_key_file(tmp_path / "k")
            url = f"sqlite:///{tmp_path / 'db'}?key_file={tmp_path / 'k'}"
        inner = open_store(url)
        pin = Pin("hash", FAST_TEST_HASHER.hash(PIN))
        inner.add(UserRecord("alice", TokenType("HOTP", 30, 6), KEY, pin))
    yield CountingStore(inner)
    inner.close()


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, object]]:
    """Every OTP verification: (token type, policy), wherever the login rules call it."""
    seen: list[tuple[object, object]] = []
    for name in ("otpgate.login.rules", "otpgate.login.authenticator"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        real = getattr(module, "verify", None)
        if real is None:
            continue

        def counting(token: Any, *args: Any, _real: Callable[..., Any] = real, **kw: Any) -> Any:
            seen.append((token.type, kw.get("policy")))
            return _real(token, *args, **kw)

        monkeypatch.setattr(module, "verify", counting)
    return seen


def make_auth(store: CountingStore, **settings: Any) -> Authenticator:
    return Authenticator(
        cast(Store, store), AuthSettings(state_ttl=0, **settings), clock=lambda: T0
    )


def work(
    auth: Authenticator, store: CountingStore, verifies: list[Any], user: str, ip: str
) -> tuple[Counter[str], list[Any]]:
    """The operations one wrong attempt does on the caller's thread, before the answer."""
    store.calls.clear()
    verifies.clear()
    decision = auth.decide(auth.attempt(user, WRONG, ip, write_behind=True))
    assert not decision.ok
    return store.here(), list(verifies)


def test_known_and_unknown_users_cost_the_same_operations(
    store: CountingStore, verifies: list[Any]
) -> None:
    auth = make_auth(store)
    try:
        for i in range(3):
            known = work(auth, store, verifies, "alice", f"192.0.2.{i}")
            unknown = work(auth, store, verifies, f"nobody{i}", f"192.0.2.{i}")
            assert known[0] == unknown[0] == Counter({"get": 1})
            assert len(known[1]) == len(unknown[1]) == 1
            assert known[1] == unknown[1]  # the same token type and window
        auth.flush()
        # The failures were counted, not lost: written behind the answers.
        record = store.inner.get("alice")
        assert record is not None and record.state.failures == 3
    finally:
        auth.close()


def test_concurrent_failures_written_behind_are_all_counted(store: CountingStore) -> None:
    auth = make_auth(store)
    try:

        def guess(i: int) -> None:
            for j in range(5):
                auth.decide(auth.attempt("alice", WRONG, f"10.0.{i}.{j}", write_behind=True))

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        auth.flush()
        record = store.inner.get("alice")
        assert record is not None and record.state.failures == 40
    finally:
        auth.close()


def test_the_failure_limit_still_locks(store: CountingStore) -> None:
    auth = make_auth(store, max_otp_failures=3)
    try:
        for i in range(3):
            auth.decide(auth.attempt("alice", WRONG, f"10.1.0.{i}", write_behind=True))
        auth.flush()
        record = store.inner.get("alice")
        assert record is not None and record.state.locked_until is not None
        locked = auth.decide(auth.attempt("alice", WRONG, "10.1.1.1", write_behind=True))
        assert locked.reason == "locked"
    finally:
        auth.close()


def test_close_writes_what_is_pending(store: CountingStore) -> None:
    auth = make_auth(store)
    auth.decide(auth.attempt("alice", WRONG, "10.2.0.1", write_behind=True))
    auth.close()
    record = store.inner.get("alice")
    assert record is not None and record.state.failures == 1


def test_without_write_behind_the_failure_is_written_before_the_answer(
    store: CountingStore,
) -> None:
    auth = make_auth(store)
    try:
        store.calls.clear()
        auth.login(auth.attempt("alice", WRONG, "10.3.0.1"))
        assert store.here()["compare_and_set"] == 1
        record = store.inner.get("alice")
        assert record is not None and record.state.failures == 1
    finally:
        auth.close()


def test_a_failure_written_behind_a_later_success_is_not_consecutive(
    store: CountingStore,
) -> None:
    from otpgate.otp.algorithms import totp

    auth = make_auth(store)
    try:
        with auth.regulator._failures._cond:  # hold the writer back until the login is in
            auth.decide(auth.attempt("alice", WRONG, "10.4.0.1", write_behind=True))
            assert auth.login(auth.attempt("alice", PIN + totp(KEY, T0), "10.4.0.2")).ok
        auth.flush()
        record = store.inner.get("alice")
        assert record is not None and record.state.failures == 0
    finally:
        auth.close()


def test_the_writer_thread_ends_when_idle_and_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from otpgate.regulation import failure_writer as writebehind

    monkeypatch.setattr(writebehind, "IDLE_EXIT", 0.01)
    written: list[tuple[str, int]] = []
    writer = writebehind.FailureWriter(lambda user, count, now: written.append((user, count)))
    assert writer.submit("alice", T0) and writer.submit("alice", T0)
    assert writer.flush(5)
    thread = writer._thread
    if thread is not None:
        thread.join(5)  # a bound for a broken writer, not a timing assertion
        assert not thread.is_alive()
    assert writer._thread is None
    assert writer.submit("bob", T0) and writer.flush(5)
    writer.close()
    assert not writer.submit("carol", T0)  # closed: the caller writes itself
    assert sum(c for u, c in written if u == "alice") == 2 and ("bob", 1) in written


def test_every_attempt_has_the_writer_running_not_only_a_known_users(store: CountingStore) -> None:
    # Starting the writer thread (or waking it) was part of a known user's wrong
    # code alone; now an unknown name's attempt starts it just the same, and a
    # failure handed over does not wake it (issue 17: it looks at its own tick).
    auth = make_auth(store)
    try:
        assert auth.regulator._failures._thread is None
        auth.decide(auth.attempt("nobody", WRONG, "10.5.0.1", write_behind=True))
        assert auth.regulator._failures._thread is not None
    finally:
        auth.close()
