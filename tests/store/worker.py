"""A separate process for the concurrency and crash tests (run as a script).

Modes:
    race URL KEYFILE USER CODE NOW   wait for "go" on stdin, then log in once
    login URL KEYFILE USER PASSWORD NOW   wait for "go", then one form login
                                     (no linger) through the Authenticator
    bump URL KEYFILE USER N          N times: counter + 1 by compare-and-set,
                                     printing each committed value
    hold-lock USERSFILE              take the users-file lock, write half of
                                     <file>.new, say "ready", wait to be killed
    sqlite-midtx DBFILE              begin a write transaction, change rows,
                                     say "ready", wait to be killed
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import time
from dataclasses import replace

from otpgate.errors import VerificationError
from otpgate.otp.verify import Policy, verify
from otpgate.store import open_store


def race(url: str, key_file: str, user: str, code: str, now: float) -> str:
    store = open_store(url, key_file=key_file or None)
    store.ping()  # connect before the start signal, so all start together
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        while True:
            rec = store.get(user)
            assert rec is not None
            try:
                match = verify(rec.token(), rec.state.token, code, now=now, policy=Policy())
            except VerificationError as exc:
                return f"rejected {type(exc).__name__}"
            state = replace(rec.state, token=match.state, last_otp=code, last_auth=now)
            if store.compare_and_set(user, rec.version, state) is not None:
                return "accepted"
            # Lost the race: read again and decide again.
    finally:
        store.close()


def login(url: str, key_file: str, user: str, password: str, now: float) -> str:
    from otpgate.login.authenticator import Authenticator, AuthSettings

    store = open_store(url, key_file=key_file or None)
    store.ping()
    auth = Authenticator(store, AuthSettings(), clock=lambda: now)
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        decision = auth.decide(auth.attempt(user, password, "192.0.2.1", linger=False))
        return "accepted" if decision.ok else f"rejected {decision.reason}"
    finally:
        auth.close()


def bump(url: str, key_file: str, user: str, n: int) -> None:
    store = open_store(url, key_file=key_file or None)
    for _ in range(n):
        while True:
            rec = store.get(user)
            assert rec is not None
            counter = rec.state.token.counter + 1
            state = replace(rec.state, token=replace(rec.state.token, counter=counter))
            if store.compare_and_set(user, rec.version, state) is not None:
                break
        print(counter, flush=True)
    store.close()


def hold_lock(path: str) -> None:
    fd = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    with open(path, "rb") as f:
        data = f.read()
    with open(path + ".new", "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
    print("ready", flush=True)
    time.sleep(60)


def sqlite_midtx(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE tokens SET counter = 0")
    conn.execute("UPDATE users SET version = version + 1")
    conn.execute("DELETE FROM users WHERE username = 'bob'")
    conn.execute("DELETE FROM recovery_codes")
    print("ready", flush=True)
    time.sleep(60)


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "race":
        print(race(argv[1], argv[2], argv[3], argv[4], float(argv[5])), flush=True)
    elif mode == "login":
        print(login(argv[1], argv[2], argv[3], argv[4], float(argv[5])), flush=True)
    elif mode == "bump":
        bump(argv[1], argv[2], argv[3], int(argv[4]))
    elif mode == "hold-lock":
        hold_lock(argv[1])
    elif mode == "sqlite-midtx":
        sqlite_midtx(argv[1])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
