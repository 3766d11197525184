"""``/validate/check`` of otpgate against privacyIDEA 3.14's, on this machine, in one run.

    .venv/bin/python bench/privacyidea.py [--logins 30] [--guesses 30] [--rounds 3]
        [--pi-venv DIR]

privacyIDEA 3.14 is installed from PyPI into a virtual environment of its own
(``--pi-venv``, made with ``/usr/bin/python3 -m venv`` and pip when missing),
set up as its own ``privacyidea-standalone`` would (SQLite, an encryption
key, audit keys, a passwd resolver with two users, one realm) and served by
gunicorn (one sync worker); two HOTP tokens with PIN 4711 are enrolled
through its API.  otpgate: ``otpgate serve`` over an SQLite store whose PINs
are argon2id hashes at the shipped cost, ``[privacyidea] enabled = true``.

Both get the same requests from one Python client over HTTP keep-alive,
sequentially, in rotating order, ``--rounds`` times (medians reported):

* fresh logins: user u0, PIN + its next HOTP code each time (each a full
  decision: store read, OTP, PIN hash, write);
* wrong guesses: user u1, PIN + a wrong code, from one address.  otpgate
  refuses a wrong code before the PIN hash and throttles the address after
  three; privacyIDEA pays its PIN hash for each.
* otpgate only, wrong guesses each from another address (the ``client``
  parameter, from a trusted proxy): every one evaluated, until the user's
  guess budget (100 a day) is spent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from _common import RESULTS, free_port, loadavg, machine, started
from _gate import PIN, make_sqlite, password, run_gate, user_key, write_config

PI_VERSION = "3.14"
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway benchmark instance
PI_CFG = """import os, logging
INSTANCE_DIRECTORY = os.path.abspath(os.path.dirname(__file__))
PI_ENCFILE = os.path.join(INSTANCE_DIRECTORY, 'encKey')
PI_AUDIT_KEY_PRIVATE = os.path.join(INSTANCE_DIRECTORY, 'private.pem')
PI_AUDIT_KEY_PUBLIC = os.path.join(INSTANCE_DIRECTORY, 'public.pem')
PI_AUDIT_SQL_TRUNCATE = True
PI_LOGFILE = os.path.join(INSTANCE_DIRECTORY, 'privacyidea.log')
PI_LOGLEVEL = logging.WARNING
SQLALCHEMY_DATABASE_URI = 'sqlite:///' + os.path.join(INSTANCE_DIRECTORY, 'privacyidea.sqlite')
SECRET_KEY = b'bench-secret-key-0123456789abcdef'
PI_PEPPER = 'benchpepper0123456789'
"""


def pi_venv(path: Path) -> Path:
    """A virtual environment with privacyIDEA 3.14 and gunicorn (made when missing)."""
    if not (path / "bin" / "gunicorn").exists() or not (path / "bin" / "pi-manage").exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(path)], check=True)
        pip = [str(path / "bin" / "pip"), "install", "-q", f"privacyidea=={PI_VERSION}"]
        subprocess.run([*pip, "gunicorn"], check=True)
    return path


def setup_privacyidea(venv: Path, directory: Path) -> dict[str, str]:
    """An instance in ``directory`` (its pi-manage commands); the environment to run it."""
    (directory / "pi.cfg").write_text(PI_CFG)
    (directory / "passwd").write_text(
        "".join(f"u{i}:x:{1000 + i}:{1000 + i}:Bench,,,:/home/u{i}:/bin/sh\n" for i in (0, 1))
    )
    (directory / "resolver.json").write_text(json.dumps({"fileName": str(directory / "passwd")}))
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "PRIVACYIDEA_CONFIGFILE": str(directory / "pi.cfg")}
    manage = [str(venv / "bin" / "pi-manage")]
    for args in (
        ["setup", "create_enckey"],
        ["setup", "create_audit_keys"],
        ["setup", "create_tables"],
        ["admin", "add", "admin", "-p", ADMIN_PASSWORD],
        ["config", "resolver", "create", "defresolver", "passwdresolver", "resolver.json"],
        ["config", "realm", "create", "defrealm", "defresolver"],
    ):
        subprocess.run([*manage, *args], env=env, cwd=directory, check=True, capture_output=True)
    return env


@contextlib.contextmanager
def run_privacyidea(venv: Path, directory: Path) -> Iterator[int]:
    """gunicorn with one sync worker serving the instance; yields its port."""
    env = setup_privacyidea(venv, directory)
    port = free_port()
    app = (
        "privacyidea.app:create_app(config_name='production', "
        f"config_file='{directory / 'pi.cfg'}', silent=True)"
    )
    argv = [str(venv / "bin" / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", app]
    with started(argv, port, directory / "gunicorn.log", "privacyIDEA", env=env, cwd=directory):
        enrol(port)
        yield port


def enrol(port: int) -> None:
    """HOTP tokens for u0 and u1 (the bench's keys, PIN 4711), through the admin API."""
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=60) as client:
        auth = client.post("/auth", data={"username": "admin", "password": ADMIN_PASSWORD})
        token = auth.json()["result"]["value"]["token"]
        for i in (0, 1):
            form = {"type": "hotp", "otpkey": user_key(i).hex(), "user": f"u{i}"}
            form |= {"realm": "defrealm", "pin": PIN, "genkey": "0"}
            r = client.post("/token/init", data=form, headers={"Authorization": token})
            assert r.json()["result"]["status"], r.text


class Server:
    """One server under test: where it is, and the next HOTP counter of u0."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        self.counter = 0

    def check(self, form: dict[str, str]) -> tuple[bool, float]:
        started_at = time.perf_counter()
        r = self.client.post("/validate/check", data=form)
        elapsed = time.perf_counter() - started_at
        return bool(r.json()["result"].get("value")), elapsed


def _phase(server: Server, forms: Callable[[int], dict[str, str]], n: int) -> dict[str, Any]:
    accepted, times = 0, []
    started_at = time.perf_counter()
    for i in range(n):
        ok, elapsed = server.check(forms(i))
        accepted += ok
        times.append(elapsed)
    total = time.perf_counter() - started_at
    return {
        "per_second": round(n / total, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "accepted": accepted,
        "requests": n,
    }


def fresh(server: Server, n: int) -> dict[str, Any]:
    def form(_: int) -> dict[str, str]:
        server.counter += 1
        return {"user": "u0", "pass": password(0, server.counter - 1)}

    return _phase(server, form, n)


def wrong(server: Server, n: int, user: int = 1, *, spread: bool = False) -> dict[str, Any]:
    # A code far past the counter: never right, whatever was used before.
    code = password(user, 10_000)

    def form(i: int) -> dict[str, str]:
        f = {"user": f"u{user}", "pass": code}
        if spread:
            f["client"] = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        return f

    return _phase(server, form, n)


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "per_second": statistics.median(r["per_second"] for r in runs),
        "median_ms": statistics.median(r["median_ms"] for r in runs),
        "accepted": [r["accepted"] for r in runs],
        "requests": runs[0]["requests"],
        "runs": [r["per_second"] for r in runs],
    }


def measure(servers: list[Server], args: argparse.Namespace) -> dict[str, Any]:
    """Every phase, ``rounds`` times, the servers in rotating order; medians."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {s.name: {} for s in servers}
    loads = [loadavg()]
    for round_ in range(args.rounds):
        order = servers[round_ % len(servers) :] + servers[: round_ % len(servers)]
        for server in order:
            mine = runs[server.name]
            mine.setdefault("fresh_sequential", []).append(fresh(server, args.logins))
            mine.setdefault("wrong_one_address", []).append(wrong(server, args.guesses))
            if server.name == "otpgate":
                # A user of its own per round: each round starts with a full guess budget.
                spread = wrong(server, args.guesses, 2 + round_, spread=True)
                mine.setdefault("wrong_new_address_each", []).append(spread)
        loads.append(loadavg())
    out = {name: {k: _median(v) for k, v in phases.items()} for name, phases in runs.items()}
    out["loadavg"] = loads
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=30, help="fresh logins per round")
    parser.add_argument("--guesses", type=int, default=30, help="wrong guesses per round (<= 100)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pi-venv", type=Path, default=Path(tempfile.gettempdir()) / "pi-venv")
    args = parser.parse_args(argv)
    venv = pi_venv(args.pi_venv)
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-pi-") as tmp:
        directory = Path(tmp)
        (directory / "pi").mkdir()
        store = make_sqlite(directory, 2 + args.rounds)
        config = write_config(directory, store)
        with config.open("a") as f:
            f.write("\n[privacyidea]\nenabled = true\n")
        with (
            run_gate(config, directory) as (gate_port, _),
            run_privacyidea(venv, directory / "pi") as pi_port,
        ):
            servers = [Server("otpgate", gate_port), Server("privacyidea", pi_port)]
            result = measure(servers, args)
    result["machine"] = machine()
    result["privacyidea_version"] = PI_VERSION
    result["settings"] = {"logins": args.logins, "guesses": args.guesses, "rounds": args.rounds}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "privacyidea.json").write_text(json.dumps(result, indent=2) + "\n")
    for phase in ("fresh_sequential", "wrong_one_address", "wrong_new_address_each"):
        row = [f"{phase:24}"]
        for name in ("otpgate", "privacyidea"):
            got = result[name].get(phase)
            row.append(f"{name} {got['per_second']}/s p50 {got['median_ms']} ms" if got else "")
        print("  ".join(row))
    print("load average:", " | ".join(result["loadavg"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
