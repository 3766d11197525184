"""User enumeration by timing: a known user with a wrong code vs an unknown user.

Run::

    .venv/bin/python bench/enumeration.py            # users file and SQLite
    .venv/bin/python bench/enumeration.py --rounds 3000

What is timed: :meth:`otpgate.auth.Authenticator.decide` for one attempt with
a wrong 6-digit code, as a front end calls it (the web gate and Apache ask
for the failure count to be written behind the answer when the Authenticator
offers that, ``write_behind=True``).  Known user ``alice`` (TOTP, a plain or
hashed PIN) and unknown users ``nobody<i>`` alternate; every attempt comes
from a fresh address so that the throttle never answers (and the per-user
guess budget is lifted, for the same reason).  The figure is the
difference of the medians (known minus unknown) in milliseconds, with each
median.  Nothing here is run by the test suite.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import time
from pathlib import Path

from otpgate.auth import Authenticator, AuthSettings
from otpgate.crypto import create_key_file
from otpgate.models import Pin, UserRecord
from otpgate.pins import FAST_TEST_HASHER
from otpgate.store import open_store
from otpgate.tokens import TokenType

KEY = b"12345678901234567890"
PIN = "1234"


def _store(kind: str, directory: Path) -> str:
    if kind == "users-file":
        path = directory / "users"
        path.write_text(f"HOTP/T30 alice {PIN} {KEY.hex()} 0\n")
        path.chmod(0o600)
        return f"users-file:{path}"
    key_file = directory / "otpgate.key"
    create_key_file(key_file)
    url = f"sqlite:///{directory / 'otpgate.db'}?key_file={key_file}"
    store = open_store(url)
    try:
        pin = Pin("hash", FAST_TEST_HASHER.hash(PIN))
        store.add(UserRecord("alice", TokenType("HOTP", 30, 6), KEY, pin))
    finally:
        store.close()
    return url


def measure(kind: str, rounds: int) -> tuple[float, float]:
    """Median seconds (known user, unknown user) per wrong attempt."""
    with tempfile.TemporaryDirectory() as tmp:
        # The guess budget (per user, across addresses) would soon answer alice's
        # wrong codes from memory: lifted, so that every attempt is evaluated.
        lifted = {"guess_budget": 10**9} if hasattr(AuthSettings, "guess_budget") else {}
        settings = AuthSettings(state_ttl=0, **lifted)  # type: ignore[arg-type]
        auth = Authenticator(open_store(_store(kind, Path(tmp))), settings)
        behind = "write_behind" in inspect.signature(auth.attempt).parameters
        options = {"write_behind": True} if behind else {}
        known: list[float] = []
        unknown: list[float] = []
        try:
            for i in range(rounds):
                ip = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                for user, into in (("alice", known), (f"nobody{i}", unknown)):
                    attempt = auth.attempt(user, PIN + "000000", ip, **options)
                    started = time.perf_counter()
                    decision = auth.decide(attempt)
                    into.append(time.perf_counter() - started)
                    assert not decision.ok
        finally:
            auth.close()
        return statistics.median(known), statistics.median(unknown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="attempts per user kind")
    parser.add_argument("--stores", default="users-file,sqlite")
    args = parser.parse_args(argv)
    print(f"{'store':<12} {'known ms':>9} {'unknown ms':>11} {'difference ms':>14}")
    for kind in args.stores.split(","):
        known, unknown = measure(kind, args.rounds)
        diff = (known - unknown) * 1000
        print(f"{kind:<12} {known * 1000:>9.3f} {unknown * 1000:>11.3f} {diff:>14.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
