"""The gate's own CPU time per ``/auth`` request: the ASGI app called in process, no server.

    .venv/bin/python bench/inproc.py [--number 10000] [--repeat 7] [--profile basic]
    PYTHONPATH=../other-checkout/src .venv/bin/python bench/inproc.py   # another version
    .venv/bin/python bench/inproc.py --fresh [--profile fresh]          # fresh logins

A lingering Basic credential and a session cookie, as nginx's ``auth_request``
sends them (``X-Forwarded-For``, ``X-Original-URL``), against the app
``otpgate serve`` serves (SQLite store, bench/_gate.py's config), on uvloop.
Each figure is the median of ``--repeat`` runs of ``--number`` requests, the
two credentials alternating, in CPU time (``time.process_time``: what other
processes on a shared machine do not change much).  What a server (uvicorn,
granian) adds comes on top: bench/limit.py measures the whole.

``--fresh``: what a fresh login costs besides its PIN hash.  The Authenticator
that ``serve`` opens (``open_authenticator``, SQLite store, an audit log)
called in process for every user once (``login(attempt)``, as a worker thread
calls it); the users' PINs are argon2id at the cheapest cost, whose own CPU
time (measured alone, same runs) is subtracted, so the figure is the rest: the
store's read, the key's decryption, the OTP, the compare-and-set write, the
audit line.  Add the shipped hash's cost (bench/fresh.py measures it) for a
whole login.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _gate import PIN, basic, make_sqlite, password, session_cookie, write_config

import otpgate
from otpgate.cli._common import load_settings
from otpgate.cli.serve import build_app

Headers = list[tuple[bytes, bytes]]


def _scope(headers: Headers) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/auth",
        "raw_path": b"/auth",
        "query_string": b"redirect=401",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"x-original-url", b"http://127.0.0.1/app/index.html"),
            (b"x-forwarded-for", b"127.0.0.1"),
            (b"x-forwarded-proto", b"http"),
            *headers,
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 9090),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class _Sink:
    def __init__(self) -> None:
        self.status = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


async def _run(app: Any, headers: Headers, number: int) -> float:
    """CPU µs per request over ``number`` requests (each answered 200, or it raises)."""
    scope, sink = _scope(headers), _Sink()
    started = time.process_time()
    for _ in range(number):
        await app(dict(scope), _receive, sink)
    if sink.status != 200:
        raise RuntimeError(f"/auth answered {sink.status}")
    return (time.process_time() - started) / number * 1e6


async def _main(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="otpgate-bench-inproc-"))
    app = build_app(load_settings(str(write_config(directory, make_sqlite(directory, 100)))))
    cases = {
        "basic": [(b"authorization", basic("u1", password(1, 0)).encode())],
        "cookie": [(b"cookie", f"otpgate_session={session_cookie('u0')}".encode())],
    }
    for headers in cases.values():
        await _run(app, headers, 100)  # the fresh login, the caches, the stack
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        await _run(app, cases[args.profile], args.number)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, headers in cases.items():
            samples[name].append(await _run(app, headers, args.number))
    print(f"otpgate from {Path(otpgate.__file__).parent}")
    for name, values in samples.items():
        print(
            f"{name:7} {statistics.median(values):6.2f} µs CPU per request (median), "
            f"{min(values):6.2f} (least)"
        )


def _fresh_logins(authenticator: Any, users: range) -> float:
    """CPU µs per fresh login of each user in ``users`` (each accepted, or it raises)."""
    secrets = {i: password(i, 0) for i in users}  # the bench's own work, not timed
    started = time.process_time()
    for i in users:
        decision = authenticator.login(authenticator.attempt(f"u{i}", secrets[i], "127.0.0.1"))
        if not decision.ok:
            raise RuntimeError(f"u{i}'s fresh login was refused: {decision.reason}")
    return (time.process_time() - started) / len(users) * 1e6


def _hash_alone(hasher: Any, stored: str, number: int) -> float:
    started = time.process_time()
    for _ in range(number):
        hasher.verify(stored, PIN)
    return (time.process_time() - started) / number * 1e6


def _fresh(args: argparse.Namespace) -> None:
    from otpgate.login.assembly import open_authenticator
    from otpgate.login.pins import FAST_TEST_HASHER, PinHasher

    directory = Path(tempfile.mkdtemp(prefix="otpgate-bench-fresh-"))
    hasher = PinHasher() if args.shipped_hash else FAST_TEST_HASHER
    stored = hasher.hash(PIN)
    users = (args.repeat + 1) * args.number
    store = make_sqlite(directory, users, hashed=stored)
    audit = f'audit_log = "{directory / "audit.log"}"'
    authenticator = open_authenticator(load_settings(str(write_config(directory, store, audit))))
    try:
        _fresh_logins(authenticator, range(args.number))  # warm: imports, caches, the file
        if args.profile:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            _fresh_logins(authenticator, range(args.number, 2 * args.number))
            profile.disable()
            pstats.Stats(profile).sort_stats(args.sort).print_stats(40)
            return
        logins, hashes = [], []
        for r in range(1, args.repeat + 1):
            logins.append(
                _fresh_logins(authenticator, range(r * args.number, (r + 1) * args.number))
            )
            hashes.append(_hash_alone(hasher, stored, args.number))
    finally:
        authenticator.close()
    rest = [login - h for login, h in zip(logins, hashes, strict=True)]
    print(f"otpgate from {Path(otpgate.__file__).parent}; {args.repeat} runs of {args.number}")
    for label, values in (("fresh login", logins), ("the hash alone", hashes), ("the rest", rest)):
        median, least = statistics.median(values), min(values)
        print(f"{label:15} {median:8.1f} µs CPU per login (median), {least:8.1f} (least)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=10_000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--profile", choices=("basic", "cookie", "fresh"), help="cProfile one case")
    parser.add_argument("--fresh", action="store_true", help="fresh logins without the hash")
    parser.add_argument("--sort", default="tottime", help="--profile's order (tottime, cumtime)")
    parser.add_argument(
        "--shipped-hash", action="store_true", help="--fresh with the shipped PIN hash's cost"
    )
    args = parser.parse_args(argv)
    if args.fresh or args.profile == "fresh":
        if "--number" not in " ".join(argv or sys.argv):
            args.number = 1000
        _fresh(args)
        return 0
    import uvloop

    uvloop.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
