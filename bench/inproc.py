"""The gate's own CPU time per ``/auth`` request: the ASGI app called in process, no server.

    .venv/bin/python bench/inproc.py [--number 10000] [--repeat 7] [--profile basic]
    PYTHONPATH=../other-checkout/src .venv/bin/python bench/inproc.py   # another version

A lingering Basic credential and a session cookie, as nginx's ``auth_request``
sends them (``X-Forwarded-For``, ``X-Original-URL``), against the app
``otpgate serve`` serves (SQLite store, bench/_gate.py's config), on uvloop.
Each figure is the median of ``--repeat`` runs of ``--number`` requests, the
two credentials alternating, in CPU time (``time.process_time``: what other
processes on a shared machine do not change much).  What a server (uvicorn,
granian) adds comes on top: bench/limit.py measures the whole.
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

from _gate import basic, make_sqlite, password, session_cookie, write_config

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=10_000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--profile", choices=("basic", "cookie"), help="cProfile one case")
    args = parser.parse_args(argv)
    import uvloop

    uvloop.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
