"""Shared state (issue 10): the gate with in-process state against Redis, same run.

    .venv/bin/python bench/state.py                     # 3 runs of 5 s per figure
    .venv/bin/python bench/state.py --runs 1 --duration 3
    .venv/bin/python bench/state.py --calls-only        # the in-process timings alone

For each run and each state (in-process, then Redis, alternately, so that a
change in machine load hits both), ``otpgate serve`` (one process) is started
on a fresh SQLite store and measured with wrk on ``/auth``:

* the hot path: a session cookie, and a lingering Basic credential;
* fresh logins: every request a new HOTP code for its user (bench/fresh.lua),
  with a cheap PIN hash so that the state's own cost shows (with the OWASP
  hash, about 20 ms per login, it is lost in the noise);

plus the cost of one call to each throttle backend (in-process table, the
one-host SQLite file, Redis), measured in this process.  Results go to
bench/results/state.json; figures are medians.  Needs wrk and Redis at
127.0.0.1:6379 (keys under a prefix of the run's own, deleted afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH, cpu_seconds, loadavg, machine, median_result, tree_pids, wrk
from _gate import (
    basic,
    get,
    make_sqlite,
    password,
    pin_hash,
    run_gate,
    session_cookie,
    write_config,
)

from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.regulation.throttle import Throttle
from otpgate.state import Backoff
from otpgate.state.redis import RedisState
from otpgate.state.sqlite import SqliteState

REDIS = os.environ.get("OTPGATE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
WRK = {"threads": 2, "connections": 32}
LOGIN_WRK = {"threads": 2, "connections": 8}
STATES = ("in-process", "redis")


def _measure(port: int, proc: Any, headers: list[str], duration: float, **kw: Any) -> Any:
    pids = tree_pids(proc.pid)
    before = cpu_seconds(pids)
    res = wrk(f"http://127.0.0.1:{port}/auth", duration=duration, headers=headers, **kw)
    res.extra["gate_cpu_us"] = (cpu_seconds(pids) - before) / max(res.requests, 1) * 1e6
    return res


def gate_runs(workdir: Path, runs: int, duration: float, users: int) -> dict[str, Any]:
    prefix = f"otpgate-bench-{uuid.uuid4().hex[:8]}:"
    stores = {s: make_sqlite(workdir / s, users, hashed=pin_hash(FAST_TEST_HASHER)) for s in STATES}
    results: dict[str, dict[str, list[Any]]] = {s: {} for s in STATES}
    fresh_users = users - runs  # the last `runs` users linger, one per run
    for r in range(runs):
        for state in STATES:
            os.environ["OTPGATE_STATE_URL"] = REDIS if state == "redis" else ""
            os.environ["OTPGATE_STATE_KEY_PREFIX"] = prefix
            config = write_config(workdir / state, stores[state])
            with run_gate(config, workdir / state) as (port, proc):
                linger = basic(f"u{fresh_users + r}", password(fresh_users + r, 0))
                assert get(port, "/auth", {"Authorization": linger}) == 200
                cookie = f"otpgate_session={session_cookie('u0')}"
                assert get(port, "/auth", {"Cookie": cookie}) == 200
                cases = {
                    "cookie": [f"Cookie: {cookie}"],
                    "basic-linger": [f"Authorization: {linger}"],
                }
                for name, headers in cases.items():
                    wrk(f"http://127.0.0.1:{port}/auth", duration=1, headers=headers, **WRK)
                    results[state].setdefault(name, []).append(
                        _measure(port, proc, headers, duration, **WRK)
                    )
                lines = workdir / state / f"fresh-{r}.txt"
                lines.write_text(
                    "".join(basic(f"u{i}", password(i, r)) + "\n" for i in range(fresh_users))
                )
                res = _measure(
                    port,
                    proc,
                    [],
                    duration,
                    script=BENCH / "fresh.lua",
                    script_args=[str(lines), str(LOGIN_WRK["threads"])],
                    **LOGIN_WRK,
                )
                ok = res.requests - res.non2xx
                res.extra["exhausted"] = ok >= fresh_users
                res.rps = ok / duration
                results[state].setdefault("fresh", []).append(res)
            print(f"  run {r + 1}/{runs} {state} done (load {loadavg()})", flush=True)
    os.environ.pop("OTPGATE_STATE_URL", None)
    os.environ.pop("OTPGATE_STATE_KEY_PREFIX", None)
    _clean(prefix)
    return {s: {k: median_result(v) for k, v in cases.items()} for s, cases in results.items()}


def _clean(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _per_call(fn: Any, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - started) / n * 1e6


def backend_calls(workdir: Path, n: int = 3000) -> dict[str, dict[str, float]]:
    """µs per throttle call in this process: a read (``retry_after``) and a failure."""
    rule = Backoff(10**9, 1.0, 900.0)
    local = Throttle(10**9, 1.0, 900.0)
    prefix = f"otpgate-bench-{uuid.uuid4().hex[:8]}:"
    redis_state = RedisState(REDIS, prefix)
    sqlite_state = SqliteState(str(workdir / "throttle.db"))
    out: dict[str, dict[str, float]] = {}
    try:
        for name, read, fail in (
            (
                "in-process",
                lambda i: local.retry_after(f"u{i % 500}", "192.0.2.1", 0.0),
                lambda i: local.failure(f"u{i % 500}", "192.0.2.1", 0.0),
            ),
            (
                "sqlite file",
                lambda i: sqlite_state.retry_after("t", f"u{i % 500}", 0.0),
                lambda i: sqlite_state.failure("t", f"u{i % 500}", 0.0, rule),
            ),
            (
                "redis",
                lambda i: redis_state.retry_after("t", f"u{i % 500}", 0.0),
                lambda i: redis_state.failure("t", f"u{i % 500}", 0.0, rule),
            ),
        ):
            reads = [_per_call(read, n) for _ in range(3)]
            fails = [_per_call(fail, n) for _ in range(3)]
            out[name] = {
                "read_us": statistics.median(reads),
                "failure_us": statistics.median(fails),
            }
            print(f"  {name:12} read {out[name]['read_us']:7.1f} µs  failure "
                  f"{out[name]['failure_us']:7.1f} µs", flush=True)  # fmt: skip
    finally:
        redis_state.close()
        sqlite_state.close()
        _clean(prefix)
    return out


def memory_path(n: int = 20_000, rounds: int = 5) -> dict[str, float]:
    """µs per ``attempt`` + ``check_cached`` for a lingering credential, in this process.

    The Authenticator's own share of the hot path, without HTTP: in-process
    state against Redis state (each with a store of its own).
    """
    from otpgate.login.authenticator import Authenticator, AuthSettings
    from otpgate.otp.tokens import parse_token_type
    from otpgate.otp.verify import generate
    from otpgate.store.memory import MemoryStore
    from otpgate.store.records import Pin, UserRecord

    prefix = f"otpgate-bench-{uuid.uuid4().hex[:8]}:"
    now = time.time()
    auths: dict[str, Authenticator] = {}
    password = ""
    for name in STATES:
        store = MemoryStore()
        store.add(UserRecord("alice", parse_token_type("HOTP/T30"), b"k" * 20, Pin("plain", "1")))
        state = RedisState(REDIS, prefix) if name == "redis" else None
        auth = Authenticator(store, AuthSettings(), state=state, digest_key=b"d" * 32)
        if state is not None:
            state.subscribed.wait(10)
        record = store.get("alice")
        assert record is not None
        password = "1" + generate(record.token(), now=now)
        assert auth.login(auth.attempt("alice", password, "192.0.2.1"), now=now).fresh
        auths[name] = auth
    times: dict[str, list[float]] = {name: [] for name in STATES}
    try:
        for _ in range(rounds):
            for name, auth in auths.items():

                def call(i: int, auth: Authenticator = auth) -> None:
                    hit = auth.check_cached(auth.attempt("alice", password, "192.0.2.1"), now=now)
                    assert hit is not None and hit.ok

                times[name].append(_per_call(call, n))
    finally:
        for auth in auths.values():
            auth.state.close()
        _clean(prefix)
    out = {name: statistics.median(v) for name, v in times.items()}
    print(f"  memory path: in-process {out['in-process']:.2f} µs, redis {out['redis']:.2f} µs")
    return out


def table(result: dict[str, Any]) -> str:
    rows = [
        "| case | in-process req/s | Redis req/s | Redis / in-process | gate CPU µs/request |",
        "|---|---:|---:|---:|---:|",
    ]
    gates = result["gate"]
    for case, label in (
        ("cookie", "session cookie"),
        ("basic-linger", "lingering Basic"),
        ("fresh", "fresh logins (cheap PIN hash), logins/s"),
    ):
        a, b = gates["in-process"][case], gates["redis"][case]
        rows.append(
            f"| {label} | {a['rps']:,.0f} | {b['rps']:,.0f} | {b['rps'] / a['rps']:.2f}x | "
            f"{a['gate_cpu_us']:.0f} → {b['gate_cpu_us']:.0f} |"
        )
    rows += ["", "| throttle backend | read µs | failure µs |", "|---|---:|---:|"]
    for name, v in result["calls"].items():
        rows.append(f"| {name} | {v['read_us']:.1f} | {v['failure_us']:.1f} |")
    if "memory_path" in result:
        m = result["memory_path"]
        rows.append(
            f"\nlingering credential from memory (attempt + check_cached): in-process "
            f"{m['in-process']:.2f} µs, Redis state {m['redis']:.2f} µs"
        )
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument(
        "--calls-only",
        action="store_true",
        help="only the in-process timings (throttle calls, the memory path); "
        "written to bench/results/state-calls.json",
    )
    args = p.parse_args()
    started = loadavg()
    if args.calls_only:
        with tempfile.TemporaryDirectory(prefix="otpgate-bench-state-") as tmp:
            calls = {
                "machine": machine(),
                "loadavg_start": started,
                "calls": backend_calls(Path(tmp)),
                "memory_path": memory_path(),
                "loadavg_end": loadavg(),
            }
        (BENCH / "results" / "state-calls.json").write_text(json.dumps(calls, indent=1) + "\n")
        return 0
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-state-") as tmp:
        workdir = Path(tmp)
        for s in STATES:
            (workdir / s).mkdir()
        result = {
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "loadavg_start": started,
            "gate": gate_runs(workdir, args.runs, args.duration, args.users),
            "calls": backend_calls(workdir),
            "memory_path": memory_path(),
            "loadavg_end": loadavg(),
        }
    out = BENCH / "results" / "state.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
