"""RADIUS Access-Requests per second through FreeRADIUS with otpgate in process.

    .venv/bin/python bench/radius.py [--duration 10] [--users 6000]

Starts FreeRADIUS 3.2 with the shipped examples/freeradius/ (as the tests do:
127.0.0.1, a free port, this user) over an SQLite store of HOTP/E users with
argon2id PIN hashes at the shipped cost (bench/_gate.py: one shared hash, each
check still pays it).  The client is Python, one UDP socket per request,
PAP with Message-Authenticator (tests/radius/packet.py).  Phases:

* fresh logins, sequential and 16 in parallel: every request a new user with
  their first HOTP code, so each takes the full path (store read, OTP, PIN
  hash, compare-and-set write); no lingering involved (linger = 0);
* wrong guesses for one user with a PIN, 16 in parallel: from a new
  Calling-Station-Id each (every guess evaluated: store read, OTP check,
  failure written), and from one address (throttled after three);
* for the choice between rlm_python3 and rlm_rest: the same fresh logins
  against ``POST /api/v1/check`` of ``otpgate serve``, the leg an rlm_rest
  configuration adds after FreeRADIUS has parsed the packet.

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

from _common import RESULTS, ROOT, loadavg, machine
from _gate import PIN, make_sqlite, password, run_gate, write_config

sys.path.insert(0, str(ROOT / "tests"))

from radius.packet import ACCESS_ACCEPT, access_request, send
from radius.server import run_freeradius
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


def drive(attempt: Callable[[], bool | None], threads: int, duration: float) -> dict[str, Any]:
    """Run ``attempt`` in threads for ``duration`` s; ``None`` from it ends a thread."""
    latencies: list[float] = []
    outcomes = {"accepted": 0, "refused": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def worker() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            ok = attempt()
            if ok is None:
                return
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                outcomes["accepted" if ok else "refused"] += 1

    begun = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.monotonic() - begun
    latencies.sort()
    n = len(latencies)
    return {
        "threads": threads,
        "requests": n,
        "per_second": round(n / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if n else None,
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 1) if n else None,
        **outcomes,
        "load": loadavg(),
    }


def radius_phases(
    port: int, secret: bytes, users: Users, duration: float, label: str
) -> dict[str, Any]:
    def fresh() -> bool | None:
        i = users.take()
        if i is None:
            return None
        reply = send(port, access_request(f"u{i}".encode(), password(i).encode(), secret))
        return reply is not None and reply[0] == ACCESS_ACCEPT

    def guess_from_anywhere() -> bool:
        wrong = f"{PIN}{secrets.randbelow(10**6):06d}".encode()
        # An IPv4 address (the JSON API of the rlm_rest variant wants one), new each time.
        station = ".".join(str(b) for b in secrets.token_bytes(4)).encode()
        reply = send(port, access_request(b"u0", wrong, secret, calling_station_id=station))
        return reply is not None and reply[0] == ACCESS_ACCEPT

    def guess_from_one_place() -> bool:
        wrong = f"{PIN}{secrets.randbelow(10**6):06d}".encode()
        reply = send(port, access_request(b"u1", wrong, secret, calling_station_id=b"203.0.113.9"))
        return reply is not None and reply[0] == ACCESS_ACCEPT

    out = {}
    for name, fn, threads in (
        ("fresh_sequential", fresh, 1),
        ("fresh_parallel_16", fresh, 16),
        ("wrong_guesses_new_address_16", guess_from_anywhere, 16),
        ("wrong_guesses_one_address_16", guess_from_one_place, 16),
    ):
        out[name] = drive(fn, threads, duration)
        print(f"  {label} {name}: {out[name]}", flush=True)
    return out


REST_MODULE = """
# rlm_rest instead of rlm_python3: FreeRADIUS asks otpgate serve's JSON API.
# Benchmark only: data is not JSON-escaped (the benchmark's names and
# passwords need none); the API answers 200 / 401 / 429, which rlm_rest maps
# to ok / reject / invalid (a reject too).
rest otpgate {
	connect_uri = "http://127.0.0.1:%(port)d"
	authenticate {
		uri = "${..connect_uri}/api/v1/check"
		method = 'post'
		body = 'json'
		data = '{"user":"%%{User-Name}","password":"%%{User-Password}",\
"ip":"%%{Calling-Station-Id}"}'
		force_to = 'plain'
		timeout = 30
	}
	pool {
		start = 4
		min = 4
		max = 32
		spare = 8
		uses = 0
		retry_delay = 30
		lifetime = 0
		idle_timeout = 60
	}
}
"""


def rest_variant(port: int, key: str) -> Callable[[Path], None]:
    """Turn an installed examples/freeradius copy into the rlm_rest variant."""

    def change(raddb: Path) -> None:
        (raddb / "mods-enabled/otpgate").write_text(REST_MODULE % {"port": port})
        (raddb / "mods-enabled/ok").write_text("always ok {\n\trcode = ok\n}\n")
        (raddb / "mods-enabled/ok").chmod(0o600)
        site = raddb / "sites-enabled/otpgate"
        text = site.read_text()
        header = f'\t\tupdate control {{\n\t\t\t&REST-HTTP-Header += "X-API-Key: {key}"\n\t\t}}\n'
        text = text.replace("\tauthorize {\n", "\tauthorize {\n" + header, 1)
        # rlm_rest says "updated" for a 200 with a body; authenticate wants "ok".
        ok = "\t\t\totpgate\n\t\t\tif (updated) {\n\t\t\t\tok\n\t\t\t}\n"
        site.write_text(text.replace("\t\t\totpgate\n", ok, 1))
        site.chmod(0o600)

    return change


def api_phases(port: int, key: str, users: Users, duration: float) -> dict[str, Any]:
    """Fresh logins and evaluated wrong guesses straight to the JSON API (httpx)."""
    import httpx

    local = threading.local()

    def post(user: str, password_: str, ip: str) -> bool:
        if not hasattr(local, "client"):
            local.client = httpx.Client(headers={"X-API-Key": key}, timeout=30)
        body = {"user": user, "password": password_, "ip": ip}
        r = local.client.post(f"http://127.0.0.1:{port}/api/v1/check", json=body)
        return r.status_code == 200

    def fresh() -> bool | None:
        i = users.take()
        return None if i is None else post(f"u{i}", password(i), "192.0.2.1")

    def guess_from_anywhere() -> bool:
        ip = ".".join(str(b) for b in secrets.token_bytes(4))
        return post("u0", f"{PIN}{secrets.randbelow(10**6):06d}", ip)

    out = {}
    for name, fn, threads in (
        ("fresh_sequential", fresh, 1),
        ("fresh_parallel_16", fresh, 16),
        ("wrong_guesses_new_address_16", guess_from_anywhere, 16),
    ):
        out[name] = drive(fn, threads, duration)
        print(f"  api {name}: {out[name]}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--users", type=int, default=6000, help="users in the store")
    parser.add_argument(
        "--no-rest", action="store_true", help="skip the rlm_rest and JSON API comparison"
    )
    parser.add_argument("--workdir", help="keep the store, configs and logs here (a new folder)")
    parser.add_argument("--save-as", default="radius", help="results/<name>.json")
    args = parser.parse_args(argv)
    freeradius = shutil.which("freeradius") or "/usr/sbin/freeradius"
    site = site_packages(system_venv())
    result: dict[str, Any] = {"machine": machine(), "privacyidea": PRIVACYIDEA}
    with contextlib.ExitStack() as stack:
        if args.workdir:
            directory = Path(args.workdir)
            directory.mkdir(mode=0o700)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="otpgate-bench-radius-"))
            directory = Path(tmp)
        store = make_sqlite(directory, args.users)
        (directory / "py").mkdir()
        (directory / "rest").mkdir()
        config = write_config(directory, store)
        edits = [("reject_delay = 1", "reject_delay = 0")]
        parts = 2 if args.no_rest else 3
        pools = [
            Users(2 + k * args.users // parts, (k + 1) * args.users // parts) for k in range(3)
        ]
        print(f"FreeRADIUS + rlm_python3, {args.users} users, load {loadavg()}", flush=True)
        with run_freeradius(freeradius, directory / "py", site, config, edits) as server:
            result["rlm_python3"] = radius_phases(
                server.port, server.secret.encode(), pools[0], args.duration, "rlm_python3"
            )
        if not args.no_rest:
            key = secrets.token_urlsafe(24)
            with open(config, "a") as f:
                f.write(f'api_keys = ["{key}"]\n')  # [web] is the file's last table
            with run_gate(config, directory) as (gate_port, _proc):
                print("otpgate serve, POST /api/v1/check alone", flush=True)
                result["api"] = api_phases(gate_port, key, pools[1], args.duration)
                print("FreeRADIUS + rlm_rest -> otpgate serve", flush=True)
                change = rest_variant(gate_port, key)
                rest_dir = directory / "rest"
                with run_freeradius(freeradius, rest_dir, site, config, edits, change) as server:
                    result["rlm_rest"] = radius_phases(
                        server.port, server.secret.encode(), pools[2], args.duration, "rlm_rest"
                    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{args.save_as}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
