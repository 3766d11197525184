"""A fresh passkey sign-in against a fresh PIN + TOTP sign-in, in the same run.

Run::

    .venv/bin/python bench/passkeys.py               # 60 sign-ins of each kind
    .venv/bin/python bench/passkeys.py --users 200   # more

``otpgate serve`` (one process, SQLite store, PINs hashed with the default
argon2id parameters) on 127.0.0.1; the client is httpx, one sign-in after
another, each as a browser does it with a new cookie jar:

* ``totp``: ``GET /login`` (the form and its CSRF token), ``POST /login``
  with user name, PIN and a current code (each user signs in once: a code is
  single use);
* ``passkey+pin``: ``GET /login``, ``POST /passkey/options`` with the user
  name, the software authenticator signs (tests/soft_authenticator.py),
  ``POST /passkey`` with user name, PIN and the answer;
* ``passkey``: the same without user name and PIN (no PIN hash; the
  authenticator verified the user).

The kinds take turns (user 1 totp, passkey+pin, passkey; user 2 ...), so load
changes on this shared machine hit all three alike; the table gives median
and p90 milliseconds per whole sign-in and the ratios of the medians, with
the load average before and after.  bench/results/passkeys.json keeps them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, free_port, loadavg, machine, serve_argv, started

from otpgate.login.passkeys import Ceremonies, RelyingParty
from otpgate.login.pins import PinHasher
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import TokenType
from otpgate.state import LocalState
from otpgate.state.challenges import Challenges
from otpgate.store import open_store
from otpgate.store.crypto import create_key_file
from otpgate.store.records import Pin, UserRecord
from soft_authenticator import SoftAuthenticator, challenge_of

PIN = "walnut-73"
SECRET = "bench-session-secret-0123456789abcdef"  # noqa: S105 -- a throwaway gate


def prepare(directory: Path, users: int, origin: str) -> tuple[Path, list[SoftAuthenticator]]:
    """A store with ``users`` users (hashed PINs), each with a passkey; the config file."""
    key_file = directory / "otpgate.key"
    create_key_file(key_file)
    url = f"sqlite:///{directory / 'otpgate.db'}"
    store = open_store(url, key_file=str(key_file))
    rp = RelyingParty("localhost", (origin,), "bench", b"k" * 32)
    cer = Ceremonies(rp, Challenges(LocalState()), store)  # type: ignore[arg-type]
    pin = Pin("hash", PinHasher().hash(PIN))
    souls = []
    for i in range(users):
        name = f"user{i:04d}"
        store.add(UserRecord(name, TokenType("HOTP", 30, 6), key_of(i), pin))
        soft = SoftAuthenticator(origin=origin, rp_id="localhost")
        handle, options = cer.registration_options(name, time.time())
        cer.register(name, handle, soft.create(challenge_of(options)), "bench", time.time())
        souls.append(soft)
    store.close()
    config = directory / "otpgate.toml"
    config.write_text(
        f'[store]\nurl = "{url}"\nkey_file = "{key_file}"\n\n[web]\n'
        f'session_secrets = ["{SECRET}"]\ncookie_secure = false\n'
        f'webauthn_rp_id = "localhost"\nwebauthn_origins = ["{origin}"]\n'
    )
    return config, souls


def key_of(i: int) -> bytes:
    return f"bench-key-{i:010d}".encode()


def csrf(client: httpx.Client) -> str:
    page = client.get("/login").text
    start = page.index('name="csrf" value="') + len('name="csrf" value="')
    return page[start : page.index('"', start)]


def totp_sign_in(base: str, i: int, soft: SoftAuthenticator) -> None:
    with httpx.Client(base_url=base) as c:
        token = csrf(c)
        data = {"username": f"user{i:04d}", "pin": PIN, "code": totp(key_of(i), time.time())}
        r = c.post("/login", data={**data, "csrf": token, "rd": ""})
        assert r.status_code == 303, r.text


def passkey_sign_in(base: str, i: int, soft: SoftAuthenticator, with_pin: bool) -> None:
    with httpx.Client(base_url=base) as c:
        token = csrf(c)
        name = f"user{i:04d}" if with_pin else ""
        got = c.post("/passkey/options", data={"purpose": "login", "username": name, "csrf": token})
        assert got.status_code == 200, got.text
        options = got.json()
        answer = soft.get(challenge_of(options["publicKey"]))
        data = {"csrf": token, "rd": "", "handle": options["handle"], "credential": answer}
        if with_pin:
            data.update(username=name, pin=PIN)
        r = c.post("/passkey", data=data)
        assert r.status_code == 303, r.text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=60, help="sign-ins of each kind")
    args = parser.parse_args(argv)
    import tempfile

    kinds: dict[str, Callable[[str, int, SoftAuthenticator], None]] = {
        "totp": totp_sign_in,
        "passkey+pin": lambda b, i, s: passkey_sign_in(b, i, s, True),
        "passkey": lambda b, i, s: passkey_sign_in(b, i, s, False),
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-") as tmp:
        directory = Path(tmp)
        port = free_port()
        origin = f"http://localhost:{port}"
        config, souls = prepare(directory, args.users, origin)
        before = loadavg()
        log = directory / "gate.log"
        with started(serve_argv(config, port), port, log, "otpgate serve", cwd=directory):
            base = f"http://127.0.0.1:{port}"
            for i, soft in enumerate(souls):
                for kind, run in kinds.items():
                    started_at = time.perf_counter()
                    run(base, i, soft)
                    times[kind].append((time.perf_counter() - started_at) * 1000)
        after = loadavg()
    result = summary(times, before, after)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "passkeys.json").write_text(json.dumps({**result, "machine": machine()}, indent=2))
    return 0


def summary(times: dict[str, list[float]], before: str, after: str) -> dict[str, object]:
    med = {k: statistics.median(v) for k, v in times.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] for k, v in times.items()}
    return {
        "sign_ins_per_kind": len(times["totp"]),
        "median_ms": {k: round(v, 2) for k, v in med.items()},
        "p90_ms": {k: round(v, 2) for k, v in p90.items()},
        "ratio_to_totp": {k: round(v / med["totp"], 2) for k, v in med.items()},
        "loadavg_before": before,
        "loadavg_after": after,
    }


if __name__ == "__main__":
    raise SystemExit(main())
