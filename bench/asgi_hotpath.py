"""The /auth hot path of two source trees, in-process and interleaved: what our code costs.

Through HTTP (bench/hotpath.py) the spread between runs of one build on a shared
machine is larger than a few microseconds of our own code.  This drives each
tree's ASGI app directly (``otpgate.cli.serve:worker_app``, the app ``serve``
runs), with no server and no socket: one child process per tree, the rounds
alternating between them, so a change in machine load hits both.

    .venv/bin/python bench/asgi_hotpath.py --tree before=/path/to/old/src --tree after=src

Each round times ``--calls`` requests with a session cookie and as many with a
lingering Basic credential; the figures are µs per request (median and fastest
round).  Both trees read one SQLite store made by this checkout's bench helpers,
so they must share its schema version.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _gate import basic, make_sqlite, password, session_cookie, write_config

CHILD = r"""
import asyncio, json, sys, time
from otpgate.cli.serve import worker_app

app = worker_app()
cookie, authorization = sys.argv[1].encode(), sys.argv[2].encode()

def scope(header):
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/auth", "raw_path": b"/auth",
            "root_path": "", "query_string": b"", "headers": [header],
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 9090)}

async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}

async def call(header):
    status = []
    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])
    await app(scope(header), receive, send)
    return status[0]

async def main():
    cookie_h, basic_h = (b"cookie", cookie), (b"authorization", authorization)
    for header in (cookie_h, basic_h):          # the first Basic request is the fresh login
        assert await call(header) == 200, header[0]
    for line in sys.stdin:
        calls = int(line)
        out = {}
        for name, header in (("cookie", cookie_h), ("basic-linger", basic_h)):
            start = time.perf_counter()
            for _ in range(calls):
                await call(header)
            out[name] = (time.perf_counter() - start) / calls * 1e6
        print(json.dumps(out), flush=True)

asyncio.run(main())
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, metavar="NAME=SRC")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = write_config(work, make_sqlite(work, 10))
        cookie = f"otpgate_session={session_cookie('u0')}"
        children = {}
        # A user per tree: the first Basic request is a fresh login with a
        # single-use code, and both children share the store.
        for user, (name, src) in enumerate(trees.items(), start=1):
            env = {
                **os.environ,
                "PYTHONPATH": str(Path(src).resolve()),
                "OTPGATE_CONFIG": str(config),
            }
            children[name] = subprocess.Popen(
                [sys.executable, "-c", CHILD, cookie, basic(f"u{user}", password(user, 0))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=tmp,
            )
        times: dict[str, dict[str, list[float]]] = {n: {} for n in trees}
        try:
            for _ in range(args.rounds):
                for name, child in children.items():
                    assert child.stdin is not None and child.stdout is not None
                    child.stdin.write(f"{args.calls}\n")
                    child.stdin.flush()
                    for path, us in json.loads(child.stdout.readline()).items():
                        times[name].setdefault(path, []).append(us)
        finally:
            for child in children.values():
                child.kill()
    load = os.getloadavg()
    print(
        f"{args.rounds} rounds x {args.calls} calls each, load average {load[0]:.1f} {load[1]:.1f}"
    )
    for name, paths in times.items():
        for path, values in paths.items():
            median, fastest = statistics.median(values), min(values)
            print(f"  {name:8} {path:13} median {median:6.2f} µs  fastest {fastest:6.2f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
