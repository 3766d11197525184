"""RADIUS Access-Requests per second through FreeRADIUS with otpgate in process.

    .venv/bin/python bench/radius.py [--duration 5] [--rounds 3] [--users 6000] [--no-rest]

Starts FreeRADIUS 3.2 with the shipped examples/freeradius/ (as the tests do:
127.0.0.1, a free port, this user) over an SQLite store of HOTP/E users with
argon2id PIN hashes at the shipped cost (bench/_gate.py: one shared hash, each
check still pays it).  The client is Python, one UDP socket per request,
PAP with Message-Authenticator (tests/adapters/radius/packet.py).  Phases:

* fresh logins, sequential and 16 in parallel: every request a new user with
  their first HOTP code, so each takes the full path (store read, OTP, PIN
  hash, compare-and-set write); no lingering involved (linger = 0);
* wrong guesses for one user with a PIN, 16 in parallel: from a new
  Calling-Station-Id each (every guess evaluated: store read, OTP check,
  failure written), and from one address (throttled after three).

Variants, run side by side in rotating order, ``--rounds`` times each (the
medians are reported): ``rlm_python3`` (the shipped configuration, otpgate in
the FreeRADIUS process), ``rlm_rest`` (examples/freeradius/rest/: FreeRADIUS
posts each request to ``POST /api/v1/radius`` of an ``otpgate serve --workers
2``, ``--gate``), ``api`` (``POST /api/v1/check`` of that gate, HTTP
keep-alive) and ``auth`` (fresh logins through that gate's ``/auth``, fresh
phases only): the same store, the same cores.

``reject_delay`` is set to 0 here: the shipped 1 s delays each Access-Reject
(and so a sequential guesser to 1 guess/s) but costs no server work, and it
would make the wrong-guess phases measure the delay instead of the decision.
Keep runs short: the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import RESULTS, ROOT, cpu_seconds, loadavg, machine, tree_pids
from _gate import PIN, make_sqlite, password, run_gate, write_config

sys.path.insert(0, str(ROOT / "tests"))

from adapters.radius.packet import ACCESS_ACCEPT, access_request, send
from adapters.radius.server import rest_variant, run_freeradius
from system_python import site_packages, system_venv

PRIVACYIDEA = {
    "fresh_sequential": "about 2 logins/s, median 480 ms",
    "wrong_guesses": "2.4 guesses/s",
}


class Users:
    """Hands out user numbers, each once (a fresh HOTP code per login)."""

    def __init__(self, first: int, last: int) -> None:
        self._next, self._last = first, last
        self._lock = threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._last:
                return None
            self._next += 1
            return self._next - 1


# An attempt answers "accept", "reject", "timeout", or None when it has no
# more users to log in.
Attempt = Callable[[], str | None]
PHASES = {  # name -> client threads
    "fresh_sequential": 1,
    "fresh_parallel_16": 16,
    "wrong_guesses_new_address_16": 16,
    "wrong_guesses_one_address_16": 16,
}


def drive(attempt: Attempt, threads: int, duration: float, pids: list[int]) -> dict[str, Any]:
    """Run ``attempt`` in threads for ``duration`` s; count what finished in that time.

    ``cpu_ms`` is the servers' (``pids``) user + system CPU time per answered
    request: unlike requests/s it does not depend on how much of the shared
    machine the servers got.
    """
    latencies: list[float] = []
    outcomes = {"accept": 0, "reject": 0, "timeout": 0}
    lock = threading.Lock()
    begun = time.monotonic()
    deadline = begun + duration

    def worker() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            outcome = attempt()
            if outcome is None:
                return
            took = time.perf_counter() - started
            if time.monotonic() > deadline:
                return  # finished after the window: not counted
            with lock:
                latencies.append(took)
                outcomes[outcome] += 1

    cpu_before = cpu_seconds(pids)
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    window = min(time.monotonic(), deadline) - begun
    cpu = cpu_seconds(pids) - cpu_before
    latencies.sort()
    n = len(latencies)
    return {
        "per_second": round(n / window, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if n else None,
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 1) if n else None,
        "cpu_ms": round(cpu * 1000 / n, 3) if n else None,
        "requests": n,
        **outcomes,
        "load": loadavg(),
    }


def _wrong() -> bytes:
    return f"{PIN}{secrets.randbelow(10**6):06d}".encode()


def _new_address() -> str:
    # An IPv4 address (the JSON API, and so the rlm_rest variant, wants one).
    return ".".join(str(b) for b in secrets.token_bytes(4))


def radius_attempts(port: int, secret: bytes, users: Users) -> dict[str, Attempt]:
    def ask(user: bytes, password_: bytes, station: bytes) -> str:
        reply = send(port, access_request(user, password_, secret, calling_station_id=station))
        if reply is None:
            return "timeout"
        return "accept" if reply[0] == ACCESS_ACCEPT else "reject"

    def fresh() -> str | None:
        i = users.take()
        return None if i is None else ask(f"u{i}".encode(), password(i).encode(), b"192.0.2.1")

    return {
        "fresh_sequential": fresh,
        "fresh_parallel_16": fresh,
        "wrong_guesses_new_address_16": lambda: ask(b"u0", _wrong(), _new_address().encode()),
        "wrong_guesses_one_address_16": lambda: ask(b"u1", _wrong(), b"203.0.113.9"),
    }


def api_attempts(port: int, key: str, users: Users) -> dict[str, Attempt]:
    """The same against ``POST /api/v1/check`` (httpx, one keep-alive client per thread)."""
    import httpx

    local = threading.local()

    def post(user: str, password_: str, ip: str) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(headers={"X-API-Key": key}, timeout=30)
        body = {"user": user, "password": password_, "ip": ip}
        r = local.client.post(f"http://127.0.0.1:{port}/api/v1/check", json=body)
        return "accept" if r.status_code == 200 else "reject"

    def fresh() -> str | None:
        i = users.take()
        return None if i is None else post(f"u{i}", password(i), "192.0.2.1")

    return {
        "fresh_sequential": fresh,
        "fresh_parallel_16": fresh,
        "wrong_guesses_new_address_16": lambda: post("u0", _wrong().decode(), _new_address()),
        "wrong_guesses_one_address_16": lambda: post("u1", _wrong().decode(), "203.0.113.9"),
    }


def auth_attempts(port: int, users: Users) -> dict[str, Attempt]:
    """Fresh logins through ``/auth`` (Basic, httpx keep-alive per thread): the web's rate."""
    import httpx
    from _gate import basic

    local = threading.local()

    def fresh() -> str | None:
        i = users.take()
        if i is None:
            return None
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
        headers = {"Authorization": basic(f"u{i}", password(i)), "X-Forwarded-For": "192.0.2.1"}
        r = local.client.get(f"http://127.0.0.1:{port}/auth?redirect=401", headers=headers)
        return "accept" if r.status_code == 200 else "reject"

    return {"fresh_sequential": fresh, "fresh_parallel_16": fresh}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase and run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every phase (median)")
    parser.add_argument("--users", type=int, default=6000, help="users in the store")
    parser.add_argument(
        "--no-rest", action="store_true", help="only rlm_python3 (no rlm_rest, no JSON API)"
    )
    parser.add_argument(
        "--gate",
        default="serve-w2",
        help="the gate rlm_rest, the API and /auth ask (bench/_gate.py SERVERS; serve-w2)",
    )
    parser.add_argument("--workdir", help="keep the store, configs and logs here (a new folder)")
    parser.add_argument("--save-as", default="radius", help="results/<name>.json")
    args = parser.parse_args(argv)
    freeradius = shutil.which("freeradius") or "/usr/sbin/freeradius"
    site = site_packages(system_venv())
    result: dict[str, Any] = {
        "machine": machine(),
        "privacyidea": PRIVACYIDEA,
        "duration": args.duration,
        "rounds": args.rounds,
    }
    with contextlib.ExitStack() as stack:
        if args.workdir:
            directory = Path(args.workdir)
            directory.mkdir(mode=0o700)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="otpgate-bench-radius-"))
            directory = Path(tmp)
        for sub in ("py", "rest"):
            (directory / sub).mkdir()
        store = make_sqlite(directory, args.users)
        config = write_config(directory, store)
        key = secrets.token_urlsafe(24)
        with open(config, "a") as f:
            f.write(f'api_keys = ["{key}"]\n')  # [web] is the file's last table
        edits = [("reject_delay = 1", "reject_delay = 0")]
        users = Users(2, args.users)
        py = stack.enter_context(run_freeradius(freeradius, directory / "py", site, config, edits))
        variants = {"rlm_python3": radius_attempts(py.port, py.secret.encode(), users)}
        pids = {"rlm_python3": [py.pid]}
        if not args.no_rest:
            gate_port, gate = stack.enter_context(run_gate(config, directory, args.gate))
            gate_pids = tree_pids(gate.pid)
            change = rest_variant(gate_port, key)
            rest = stack.enter_context(
                run_freeradius(freeradius, directory / "rest", site, config, edits, change)
            )
            variants["rlm_rest"] = radius_attempts(rest.port, rest.secret.encode(), users)
            variants["api"] = api_attempts(gate_port, key, users)
            variants["auth"] = auth_attempts(gate_port, users)
            pids["rlm_rest"] = [rest.pid, *gate_pids]
            pids["api"] = pids["auth"] = gate_pids
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {v: {} for v in variants}
        for round_ in range(args.rounds):
            # Side by side, in a rotating order: the machine's load moves by the minute.
            order = (
                list(variants)[round_ % len(variants) :] + list(variants)[: round_ % len(variants)]
            )
            for phase, threads in PHASES.items():
                for name in order:
                    if phase not in variants[name]:
                        continue
                    run = drive(variants[name][phase], threads, args.duration, pids[name])
                    runs[name].setdefault(phase, []).append(run)
                    print(f"round {round_ + 1} {name:12} {phase:30} {run}", flush=True)
        result["runs"] = runs
        result["median"] = {
            name: {
                phase: {
                    k: statistics.median(r[k] for r in rs if r[k] is not None)
                    for k in ("per_second", "p50_ms", "p99_ms", "cpu_ms")
                }
                for phase, rs in phases.items()
            }
            for name, phases in runs.items()
        }
        print(json.dumps(result["median"], indent=1))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{args.save_as}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
