"""A lingering credential ends when the user's record is changed outside the gate.

The attack (issue 9, item 11): an administrator (or another tool) reset a
user in the users file with a new counter, same PIN, key and type.  The
gate's linger cache still held the code accepted before the reset, accepted
it again with no file write, and an empty-password logout was then ignored.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from otpgate.auth import Authenticator, AuthSettings
from otpgate.otp import hotp, totp
from otpgate.store import open_store

KEY = b"12345678901234567890"
PIN = "1234"
T0 = 1_800_000_000.0
IP = "192.0.2.7"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def write_outside(path: Path, text: str) -> None:
    """Another writer: a new file renamed over the old one, as editors and tools do."""
    tmp = path.with_name(path.name + ".outside")
    tmp.write_text(text)
    tmp.chmod(0o600)
    os.replace(tmp, path)


@pytest.fixture(params=["event", "time"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Authenticator, Path, str, str]:
    """(authenticator, users file, the accepted code, the line that resets the user)."""
    path = tmp_path / "users"
    if request.param == "event":
        write_outside(path, f"HOTP alice {PIN} {KEY.hex()} 0\n")
        otp = hotp(KEY, 0)
        reset = f"HOTP alice {PIN} {KEY.hex()} 50\n"  # resynchronised far ahead
    else:
        write_outside(path, f"HOTP/T30 alice {PIN} {KEY.hex()} 0\n")
        otp = totp(KEY, T0)
        reset = f"HOTP/T30 alice {PIN} {KEY.hex()} 20\n"  # a new drift of 20 steps
    clock = Clock()
    auth = Authenticator(
        open_store(f"users-file:{path}"), AuthSettings(max_linger=600, state_ttl=2), clock=clock
    )
    first = auth.authenticate("alice", PIN + otp, IP)
    assert first.ok and first.fresh
    clock.now += 1
    again = auth.authenticate("alice", PIN + otp, IP)
    assert again.ok and not again.fresh  # lingering, no write
    yield auth, path, otp, reset
    auth.close()


def test_a_reset_ends_the_linger(setup: tuple[Authenticator, Path, str, str]) -> None:
    auth, path, otp, reset = setup
    write_outside(path, reset)
    auth.clock.now += 3  # type: ignore[attr-defined]  # past state_ttl: the file is read again
    before = path.read_bytes()
    decision = auth.check_cached("alice", PIN + otp, IP) or auth.authenticate(
        "alice", PIN + otp, IP
    )
    assert not decision.ok
    # Nothing was accepted silently: the file holds no login from after the reset.
    assert b"alice" in path.read_bytes() and path.read_bytes() != b""
    assert before.split()[4] == path.read_bytes().split()[4]  # the counter the reset set


def test_an_empty_password_after_a_reset_leaves_nothing_lingering(
    setup: tuple[Authenticator, Path, str, str],
) -> None:
    auth, path, otp, reset = setup
    write_outside(path, reset)
    auth.clock.now += 3  # type: ignore[attr-defined]
    auth.authenticate("alice", "", IP)  # the user signs out
    auth.clock.now += 1  # type: ignore[attr-defined]
    decision = auth.check_cached("alice", PIN + otp, IP) or auth.authenticate(
        "alice", PIN + otp, IP
    )
    assert not decision.ok


def test_the_linger_stays_within_state_ttl_without_a_read(
    setup: tuple[Authenticator, Path, str, str],
) -> None:
    # The hot path still reads nothing within state_ttl: the reset is seen after it.
    auth, path, otp, reset = setup
    write_outside(path, reset)
    decision = auth.check_cached("alice", PIN + otp, IP)
    assert decision is not None and decision.ok
