"""User enumeration by timing: a known user with a wrong code vs an unknown user.

Run::

    .venv/bin/python bench/enumeration.py                  # both parts below
    .venv/bin/python bench/enumeration.py --part decide --rounds 3000
    .venv/bin/python bench/enumeration.py --part http --runs 5 --states redis

Two parts, each a difference of medians (known minus unknown) in
milliseconds, with each median.  Nothing here is run by the test suite.

``decide``: :meth:`otpgate.login.authenticator.Authenticator.decide` for one attempt with a
wrong 6-digit code, as a front end calls it (``write_behind=True``), in this
process, with in-process state or with Redis (``--states``).  Known user
``alice`` (TOTP, a plain or hashed PIN) and unknown users ``nobody<i>``
alternate; every attempt comes from a fresh address so that the throttle
never answers (and the per-user guess budget is lifted, for the same
reason).

``http``: the attack of issue 17 through the wire.  ``otpgate serve`` (one
process, SQLite store) with in-process state or ``[state] url`` = Redis,
asked ``POST /api/v1/check`` over one keep-alive connection: wrong
passwords for known users (``u<i>``, each once), for unknown names and for a
known user whose guess budget is spent, interleaved, a different ``ip``
each.  The time is the client's, request sent to answer read.  Each run
starts a fresh gate; the states alternate run by run, so that a change in
machine load hits both.  Needs Redis at 127.0.0.1:6379 (keys under a prefix
of the run's own, deleted afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import inspect
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.tokens import TokenType
from otpgate.state import LocalState, SharedState
from otpgate.store import open_store
from otpgate.store.crypto import create_key_file
from otpgate.store.records import Pin, UserRecord

KEY = b"12345678901234567890"
PIN = "1234"
REDIS = os.environ.get("OTPGATE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
API_KEY = "bench-api-key-0123456789abcdef"
# The spent user's budget (HTTP part): small, so that spending it is quick.
BUDGET = 5


def _drop(prefix: str) -> None:
    """Delete the run's keys from Redis."""
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@contextlib.contextmanager
def _state(kind: str) -> Iterator[SharedState]:
    """In-process state, or Redis under a key prefix of its own (deleted afterwards)."""
    if kind == "in-process":
        yield LocalState()
        return
    from otpgate.state.redis import RedisState

    prefix = f"otpgate-bench-{uuid.uuid4().hex[:8]}:"
    state = RedisState(REDIS, prefix)
    try:
        yield state
    finally:
        state.close()
        _drop(prefix)


# --- decide: the Authenticator in this process ----------------------------------------


def _store(kind: str, directory: Path) -> str:
    if kind == "users-file":
        path = directory / "users"
        path.write_text(f"HOTP/T30 alice {PIN} {KEY.hex()} 0\n")
        path.chmod(0o600)
        return f"users-file:{path}"
    key_file = directory / "otpgate.key"
    create_key_file(key_file)
    url = f"sqlite:///{directory / 'otpgate.db'}?key_file={key_file}"
    store = open_store(url)
    try:
        pin = Pin("hash", FAST_TEST_HASHER.hash(PIN))
        store.add(UserRecord("alice", TokenType("HOTP", 30, 6), KEY, pin))
    finally:
        store.close()
    return url


def measure(kind: str, rounds: int, state: str = "in-process") -> tuple[float, float]:
    """Median seconds (known user, unknown user) per wrong attempt."""
    with tempfile.TemporaryDirectory() as tmp, _state(state) as shared:
        # The guess budget (per user, across addresses) would soon answer alice's
        # wrong codes from memory: lifted, so that every attempt is evaluated.
        lifted = {"guess_budget": 10**9} if hasattr(AuthSettings, "guess_budget") else {}
        settings = AuthSettings(state_ttl=0, **lifted)  # type: ignore[arg-type]
        auth = Authenticator(open_store(_store(kind, Path(tmp))), settings, state=shared)
        behind = "write_behind" in inspect.signature(auth.attempt).parameters
        options = {"write_behind": True} if behind else {}
        known: list[float] = []
        unknown: list[float] = []
        try:
            for i in range(rounds):
                ip = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                for user, into in (("alice", known), (f"nobody{i}", unknown)):
                    attempt = auth.attempt(user, PIN + "000000", ip, **options)
                    started = time.perf_counter()
                    decision = auth.decide(attempt)
                    into.append(time.perf_counter() - started)
                    assert not decision.ok
        finally:
            auth.close()
        return statistics.median(known), statistics.median(unknown)


def decide_part(args: argparse.Namespace) -> None:
    print(f"{'store':<12} {'state':<11} {'known ms':>9} {'unknown ms':>11} {'difference ms':>14}")
    for kind in args.stores.split(","):
        for state in args.states.split(","):
            known, unknown = measure(kind, args.rounds, state)
            diff = (known - unknown) * 1000
            print(
                f"{kind:<12} {state:<11} {known * 1000:>9.3f} {unknown * 1000:>11.3f} {diff:>14.3f}"
            )


# --- http: otpgate serve and the JSON API ---------------------------------------------


def _config(directory: Path, store: Any) -> Path:
    from _gate import SECRET

    path = directory / "gate.toml"
    path.write_text(
        f"""
[store]
url = "{store.url}"
key_file = "{store.key_file}"

[auth]
guess_budget = {BUDGET}

[web]
session_secrets = ["{SECRET}"]
cookie_secure = false
api_keys = ["{API_KEY}"]
"""
    )
    return path


class Api:
    """One keep-alive connection to ``POST /api/v1/check``."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}

    def check(self, user: str, password: str, ip: str) -> tuple[int, float]:
        body = json.dumps({"user": user, "password": password, "ip": ip})
        started = time.perf_counter()
        self.conn.request("POST", "/api/v1/check", body, self.headers)
        response = self.conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started


def http_run(workdir: Path, state: str, rounds: int) -> dict[str, float]:
    """One fresh gate; median ms per kind of name, and the statuses seen."""
    from _gate import make_sqlite, run_gate

    spent = f"u{rounds}"  # u0 .. u<rounds-1> are the known users, each asked once
    store = make_sqlite(workdir, rounds + 1, hashed=FAST_TEST_HASHER.hash("4711"))
    prefix = f"otpgate-bench-{uuid.uuid4().hex[:8]}:"
    os.environ["OTPGATE_STATE_URL"] = REDIS if state == "redis" else ""
    os.environ["OTPGATE_STATE_KEY_PREFIX"] = prefix
    times: dict[str, list[float]] = {"known": [], "unknown": [], "spent": []}
    statuses: dict[str, set[int]] = {k: set() for k in times}
    try:
        with run_gate(_config(workdir, store), workdir) as (port, _):
            api = Api(port)
            for i in range(BUDGET + 1):  # spend the budget, from addresses of their own
                api.check(spent, "4711000000", f"198.51.100.{i + 1}")
            for i in range(20):  # warm up: imports, connections, caches
                api.check(f"warm{i}", "4711000000", f"192.0.2.{i + 1}")
            n = 0
            for i in range(rounds):
                for kind, user in (("known", f"u{i}"), ("unknown", f"x{i}"), ("spent", spent)):
                    n += 1
                    ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
                    status, took = api.check(user, "4711000000", ip)
                    times[kind].append(took)
                    statuses[kind].add(status)
    finally:
        if state == "redis":
            _drop(prefix)
    result = {k: statistics.median(v) * 1000 for k, v in times.items()}
    result["statuses"] = {k: sorted(v) for k, v in statuses.items()}  # type: ignore[assignment]
    return result


def http_part(args: argparse.Namespace) -> None:
    from _common import loadavg

    print(
        f"{'run':<4} {'state':<11} {'known':>7} {'unknown':>8} {'spent':>7} "
        f"{'known-unknown':>14} {'spent-unknown':>14}  load  statuses"
    )
    seen: dict[str, list[dict[str, float]]] = {}
    for run in range(args.runs):
        for state in args.states.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                r = http_run(Path(tmp), state, args.http_rounds)
            seen.setdefault(state, []).append(r)
            print(
                f"{run:<4} {state:<11} {r['known']:>7.3f} {r['unknown']:>8.3f} {r['spent']:>7.3f} "
                f"{r['known'] - r['unknown']:>14.3f} {r['spent'] - r['unknown']:>14.3f}  "
                f"{loadavg().split()[0]}  {r['statuses']}",
                flush=True,
            )
    for state, runs in seen.items():
        ku = statistics.median(r["known"] - r["unknown"] for r in runs)
        su = statistics.median(r["spent"] - r["unknown"] for r in runs)
        print(f"median of {len(runs)} runs, {state}: known-unknown {ku:.3f} ms, ", end="")
        print(f"spent-unknown {su:.3f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("decide", "http", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=2000, help="decide: attempts per kind")
    parser.add_argument("--stores", default="users-file,sqlite", help="decide: stores")
    parser.add_argument("--states", default="in-process,redis")
    parser.add_argument("--runs", type=int, default=3, help="http: fresh gates per state")
    parser.add_argument("--http-rounds", type=int, default=300, help="http: requests per kind")
    args = parser.parse_args(argv)
    if args.part in ("decide", "both"):
        decide_part(args)
    if args.part in ("http", "both"):
        http_part(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
