"""Instructions per hot-path request in the gate's process, counted by callgrind.

    .venv/bin/python bench/instructions.py                      # serve and serve-no-fast
    .venv/bin/python bench/instructions.py --before /tmp/before --requests 2000

CPU time per request moves with the machine's load (other processes, caches,
frequency); the number of instructions the gate's process executes per request
does not, much.  Each contender (bench/_gate.py SERVERS, ``serve`` options
only) runs under ``valgrind --tool=callgrind`` with counting off
(``--instr-atstart=no``); after a fresh
login and a warm-up, counting is switched on (``callgrind_control -i on``) for
``--requests`` lingering Basic requests, then as many session-cookie requests,
each kind sent one after the other on one keep-alive connection as nginx's
``auth_request`` sends them (``X-Forwarded-For``, ``X-Original-URL``).  User
space only (the kernel's share of a system call is not counted), every thread.
The figure is (instructions after ``2n`` requests - after ``n``) / ``n``, so
what does not grow with the requests (starting, stopping) cancels out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import PY, RESULTS, ROOT, free_port, machine
from _gate import basic, make_sqlite, password, session_cookie, wait_healthy, write_config

FLAGS = {"serve": [], "serve-no-fast": ["--no-fast-path"]}
_LENGTH = re.compile(rb"\r\ncontent-length: (\d+)", re.IGNORECASE)


def _request(header: str) -> bytes:
    return (
        "GET /auth?redirect=401 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "X-Original-URL: http://127.0.0.1/app/index.html\r\n"
        f"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n{header}\r\n\r\n"
    ).encode()


def _send(port: int, data: bytes, number: int) -> None:
    """``number`` requests one after the other on one connection; each must be a 200."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        buffered = b""
        for _ in range(number):
            sock.sendall(data)
            while b"\r\n\r\n" not in buffered:
                buffered += sock.recv(65536)
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200 "):
                raise RuntimeError(f"/auth answered {head[:40]!r}")
            length = _LENGTH.search(head)
            size = int(length.group(1)) if length else 0
            while len(buffered) < size:
                buffered += sock.recv(65536)
            buffered = buffered[size:]


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


@contextlib.contextmanager
def _gate(config: Path, directory: Path, flags: list[str], src: Path) -> Iterator[tuple[int, Any]]:
    """``otpgate serve`` under callgrind, counting off; yields (port, process)."""
    port = free_port()
    out = directory / f"callgrind-{port}.out"
    argv = [
        *("valgrind", "--tool=callgrind", "--instr-atstart=no"),
        f"--callgrind-out-file={out}",
        *(PY, "-c", "from otpgate.cli import main; raise SystemExit(main())"),
        *("serve", "--config", str(config), "--listen", f"127.0.0.1:{port}", *flags),
    ]
    env = {**os.environ, "OTPGATE_CONFIG": str(config), "PYTHONPATH": str(src)}
    log = open(directory / f"gate-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    try:
        wait_healthy(port, timeout=300)
        yield port, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _total(pid: int) -> int:
    """Instructions counted so far, all threads (``callgrind_control -e``: one line each)."""
    done = subprocess.run(["callgrind_control", "-e", str(pid)], capture_output=True, text=True)
    threads = re.findall(r"^\s*Th\s+\d+\s+([\d,]+)", done.stdout, re.MULTILINE)
    if not threads:
        raise RuntimeError(f"callgrind_control -e said: {done.stdout}{done.stderr}")
    return sum(int(t.replace(",", "")) for t in threads)


def count(port: int, pid: int, data: bytes, number: int) -> float:
    """Instructions per request: counted over ``number`` and ``2 * number`` requests."""
    _send(port, data, 50)  # warm: the credential lingers, the caches are full
    _control(pid, "-z")
    _control(pid, "-i", "on")
    _send(port, data, number)
    first = _total(pid)
    _send(port, data, number)
    second = _total(pid)
    _control(pid, "-i", "off")
    return (second - first) / number


def measure(name: str, config: Path, directory: Path, src: Path, number: int) -> dict[str, float]:
    flags = FLAGS[name.removeprefix("before:")]
    with _gate(config, directory, flags, src) as (port, proc):
        linger = _request(f"Authorization: {basic('u1', password(1, 0))}")
        cookie = _request(f"Cookie: otpgate_session={session_cookie('u0')}")
        _send(port, linger, 1)  # the fresh login
        time.sleep(0.5)
        return {
            "basic-linger": count(port, proc.pid, linger, number),
            "cookie": count(port, proc.pid, cookie, number),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="serve,serve-no-fast", help=", ".join(FLAGS))
    parser.add_argument("--requests", type=int, default=1000, help="n (default 1000)")
    parser.add_argument("--before", metavar="CHECKOUT", help="also `serve` of this checkout")
    parser.add_argument("--save-as", default="instructions", help="results/<name>.json")
    args = parser.parse_args(argv)
    names = [s for s in args.servers.split(",") if s]
    if unknown := [n for n in names if n not in FLAGS]:
        parser.error(f"unknown server {unknown[0]!r}; known: {', '.join(FLAGS)}")
    runs = [(n, ROOT / "src") for n in names]
    if args.before:
        runs.append(("before:serve", Path(args.before) / "src"))
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-instructions-") as tmp:
        directory = Path(tmp)
        config = write_config(directory, make_sqlite(directory, 100))
        for name, src in runs:
            rows[name] = measure(name, config, directory, src, args.requests)
            print(f"{name:16} " + "  ".join(f"{k} {v:,.0f}" for k, v in rows[name].items()))
    result = {"rows": rows, "requests": args.requests, "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.save_as}.json").write_text(json.dumps(result, indent=1) + "\n")
    print("| gate | instructions / request, lingering Basic | session cookie |")
    print("|---|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['basic-linger']:,.0f} | {row['cookie']:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
