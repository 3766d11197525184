"""Separate processes against one store: races, lost updates, crashes.

Every test here starts real processes (tests/store/worker.py), each opening
the store itself, so nothing is shared but the file or the database.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import Token, TokenState
from otpgate.store import open_store
from otpgate.store.authenticators import OtpToken, TokenMeta
from otpgate.store.records import Pin, UserRecord, UserState
from otpgate.store.usersfile import UsersFileStore

from .conftest import POSTGRESQL, make_users_file

WORKER = str(Path(__file__).with_name("worker.py"))
KEY = bytes.fromhex("3132333435363738393031323334353637383930")
NOW = 1_700_000_000.0
PROCS = 16


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(params=["users-file", "sqlite", POSTGRESQL])
def shared(request: pytest.FixtureRequest, tmp_path: Path, key_file: str) -> tuple[str, str]:
    """(URL, key file) of a fresh store that separate processes can open."""
    if request.param == "users-file":
        return f"users-file:{make_users_file(tmp_path / 'users')}", ""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'otpgate.db'}", key_file
    url: str = request.getfixturevalue("postgres_url")
    return url, key_file


def test_one_fresh_code_is_accepted_exactly_once(shared: tuple[str, str]) -> None:
    url, key_file = shared
    store = open_store(url, key_file=key_file or None)
    tt = parse_token_type("HOTP/T30")
    store.add(UserRecord("alice", tt, KEY, Pin("none")))
    store.add(UserRecord("bob", tt, KEY, Pin("none")))
    token = Token(tt, KEY)
    code = token.code(token.step_at(NOW))
    procs = [spawn("race", url, key_file, "alice", code, str(NOW)) for _ in range(PROCS)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:  # every process is connected; start them together
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = Counter(p.communicate(timeout=60)[0].strip() for p in procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert results == {"accepted": 1, "rejected ReplayedCode": PROCS - 1}
    alice = store.get("alice")
    assert alice is not None and alice.state.token.last_step == token.step_at(NOW)
    bob = store.get("bob")
    assert bob is not None and bob.state == UserState()  # untouched
    store.close()


def _together(procs: list[subprocess.Popen[str]]) -> Counter[str]:
    """Start processes that said "ready" at once; what each printed last."""
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        return Counter(p.communicate(timeout=60)[0].strip() for p in procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


@pytest.mark.parametrize("shared", ["sqlite", POSTGRESQL], indirect=True)
def test_one_code_of_either_token_is_accepted_exactly_once(shared: tuple[str, str]) -> None:
    """A user with a TOTP app and an HOTP spare: each token's code, sent 16 times at
    once through the login rules, is accepted once; the other token is untouched."""
    url, key_file = shared
    store = open_store(url, key_file=key_file)
    app, spare = parse_token_type("HOTP/T30"), parse_token_type("HOTP/E")
    store.add(UserRecord("alice", app, KEY, Pin("none")))
    spare_key = bytes(range(40, 60))
    kept = store.add_token("alice", OtpToken(spare, spare_key, TokenMeta(name="spare")))
    for token, code in (
        (Token(spare, spare_key), Token(spare, spare_key).code(0)),
        (Token(app, KEY), Token(app, KEY).code(Token(app, KEY).step_at(NOW))),
    ):
        before = store.get("alice")
        procs = [spawn("login", url, key_file, "alice", code, str(NOW)) for _ in range(PROCS)]
        results = _together(procs)
        assert results["accepted"] == 1, results
        assert sum(results.values()) == PROCS and results["rejected replayed"] == PROCS - 1
        after = store.get("alice")
        assert before is not None and after is not None
        moved = [b.state != a.state for b, a in zip(before.tokens(), after.tokens(), strict=True)]
        assert moved == ([False, True] if token.type is spare else [True, False])
    got = store.get("alice")
    assert got is not None and got.find(kept.meta.id).state.counter == 1  # type: ignore[union-attr]
    store.close()


def test_two_processes_updating_different_users_lose_nothing(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", b"# two writers\n")
    s = UsersFileStore(str(path))
    for name in ("alice", "bob"):
        s.add(UserRecord(name, parse_token_type("HOTP/E"), KEY, Pin("none")))
    n = 60
    procs = [spawn("bump", f"users-file:{path}", "", name, str(n)) for name in ("alice", "bob")]
    outs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == [[str(i) for i in range(1, n + 1)]] * 2
    got = {r.username: r.state.token.counter for r in s.list_users()}
    assert got == {"alice": n, "bob": n}
    assert path.read_bytes().startswith(b"# two writers\n")


def test_killed_while_holding_the_lock_with_half_a_new_file(tmp_path: Path) -> None:
    content = b"# keep me\nHOTP alice - " + KEY.hex().encode() + b" 5\n"
    path = make_users_file(tmp_path / "users", content)
    p = spawn("hold-lock", str(path))
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert Path(f"{path}.new").exists()  # the half-written file is left behind
    assert path.read_bytes() == content
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None and alice.state.token.counter == 5
    # The dead process's lock is gone with it; the next writer is not blocked.
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(6))) is not None
    assert not Path(f"{path}.new").exists()


@pytest.mark.parametrize("kind", ["users-file", "sqlite"])
def test_killed_at_random_moments_never_loses_or_rewinds(
    tmp_path: Path, key_file: str, kind: str
) -> None:
    if kind == "users-file":
        path = make_users_file(tmp_path / "users", b"# crash test\n")
        url = f"users-file:{path}"
    else:
        url = f"sqlite:///{tmp_path / 'otpgate.db'}"
    store = open_store(url, key_file=key_file)
    others = [f"user{i}" for i in range(5)]
    for name in ["alice", *others]:
        store.add(UserRecord(name, parse_token_type("HOTP/E"), KEY, Pin("none")))
    store.close()
    rng = random.Random(1234)  # seeded: a failure can be reproduced
    last = 0
    for _ in range(3):
        p = spawn("bump", url, key_file, "alice", "100000")
        assert p.stdout is not None
        for _ in range(rng.randint(1, 40)):
            line = p.stdout.readline()
            assert line, "the writer died early"
            last = int(line)
        os.kill(p.pid, signal.SIGKILL)  # mid-write, most likely
        p.wait()
        # The writer runs ahead of this reader: what it printed before dying was committed.
        for line in p.stdout.read().split():
            last = int(line)
        p.stdout.close()
        store = open_store(url, key_file=key_file)
        alice = store.get("alice")
        assert alice is not None
        # Committed values survive; at most one unreported commit on top.
        assert last <= alice.state.token.counter <= last + 1
        last = alice.state.token.counter
        assert sorted(r.username for r in store.list_users()) == sorted(["alice", *others])
        if isinstance(store, UsersFileStore):
            assert store.problems() == []
        store.close()


def test_sqlite_killed_mid_transaction(tmp_path: Path, key_file: str) -> None:
    db = tmp_path / "otpgate.db"
    store = open_store(f"sqlite:///{db}", key_file=key_file)
    tt = parse_token_type("HOTP/E")
    for name in ("alice", "bob"):
        store.add(UserRecord(name, tt, KEY, Pin("none"), UserState(TokenState(42))))
    store.set_recovery_codes("alice", ["d1"])
    store.close()
    p = spawn("sqlite-midtx", str(db))
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGKILL)
    p.wait()
    store = open_store(f"sqlite:///{db}", key_file=key_file)
    users = {r.username: r.state.token.counter for r in store.list_users()}
    assert users == {"alice": 42, "bob": 42}
    # The dead writer's lock is gone: the next transaction goes through.
    alice = store.get("alice")
    assert alice is not None
    assert store.compare_and_set("alice", alice.version, UserState(TokenState(43))) is not None
    assert store.consume_recovery_code("alice", "d1") is True
    store.close()
