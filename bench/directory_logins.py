"""Fresh logins with users from a directory: ``pin = "directory"`` against otpgate's own PIN.

One slapd (tests/slapd_proc.py), one process, the same run, rounds taken in
turn so that the machine's load falls on every kind alike:

* ``store, no PIN`` and ``directory, no PIN``: the code alone, to show
  what the directory's lookup costs by itself;
* ``store, own PIN``: no directory (the store alone), argon2id PIN;
* ``directory, own PIN``: the user looked up in the directory (user, groups,
  disabled filter), argon2id PIN;
* ``directory, password``: the user looked up, the password checked by a
  bind as the user (a new StartTLS connection).

Every login is fresh (event tokens, a new code each time, no linger), and
goes through the one Authenticator with the production PIN hasher.  Prints
milliseconds per login (median of the rounds) and the load average::

    python bench/directory_logins.py [--logins 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "directory"))

from otpgate.config.auth import AuthSettings
from otpgate.directory.settings import DirectorySettings
from otpgate.login.authenticator import Authenticator
from otpgate.login.directory import with_directory
from otpgate.login.pins import PinHasher
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import generate
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from slapd_proc import PASSWORDS, own_slapd

USERS = ("alice", "bob", "erin")  # may log in (erin and bob through a nested group)
HOTP = parse_token_type("HOTP/E")
KEY = bytes(range(1, 21))
RULES = AuthSettings(max_linger=0, guess_budget=0, throttle_free_failures=10**6)


class Kind:
    """One way to log in: its Authenticator, and each user's next counter and password."""

    def __init__(self, name: str, directory: DirectorySettings | None) -> None:
        self.name = name
        inner = MemoryStore()
        store: Any = inner
        checker = None
        rules = RULES
        if directory is not None:
            store, checker, rules = with_directory(inner, directory, RULES, None)
        own = name.endswith("own PIN")
        pin = Pin("hash", PinHasher().hash("4711")) if own else Pin("none")
        for user in USERS:
            store.add(UserRecord(user, HOTP, KEY, pin))
        self.auth = Authenticator(store, rules, pin_checker=checker)
        self.counter = dict.fromkeys(USERS, 0)
        bind = directory is not None and directory.pin == "directory"
        self.secret = {u: "4711" if own else PASSWORDS[u] if bind else "" for u in USERS}

    def login(self, i: int) -> None:
        user = USERS[i % len(USERS)]
        code = generate(Token(HOTP, KEY), counter=self.counter[user])
        self.counter[user] += 1
        decision = self.auth.login(self.auth.attempt(user, self.secret[user] + code, "192.0.2.1"))
        assert decision.ok, (self.name, decision)

    def round(self, logins: int) -> float:
        start = time.perf_counter()
        for i in range(logins):
            self.login(i)
        return (time.perf_counter() - start) / logins * 1000


def settings(slapd: Any, pin: str) -> DirectorySettings:
    password = slapd.directory / "bind.pw"
    password.write_text("service-secret\n")
    password.chmod(0o600)
    base = "dc=example,dc=org"
    return DirectorySettings(
        url=(slapd.url,),
        ca_file=str(slapd.tls.ca_file),
        bind_dn=f"cn=otpgate,ou=services,{base}",
        bind_password_file=str(password),
        base_dn=base,
        user_group=f"cn=otp-users,ou=groups,{base}",
        disabled_filter="(employeeType=disabled)",
        pin=pin,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, own_slapd(Path(tmp)) as slapd:
        kinds = [
            Kind("store, no PIN", None),
            Kind("directory, no PIN", settings(slapd, "none")),
            Kind("store, own PIN", None),
            Kind("directory, own PIN", settings(slapd, "own")),
            Kind("directory, password", settings(slapd, "directory")),
        ]
        times: dict[str, list[float]] = {k.name: [] for k in kinds}
        print(f"load average before: {os.getloadavg()}")
        for _ in range(args.rounds):
            for kind in kinds:
                times[kind.name].append(kind.round(args.logins))
        print(f"load average after: {os.getloadavg()}")
        base = statistics.median(times[kinds[3].name])
        for kind in kinds:
            ms = statistics.median(times[kind.name])
            print(
                f"{kind.name:22} {ms:7.2f} ms/login {1000 / ms:7.0f} logins/s "
                f"({ms / base:4.2f} x directory, own PIN)"
            )
            kind.auth.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
