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

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.otp.algorithms import hotp, totp
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import TokenState
from otpgate.store import open_store
from otpgate.store.records import Pin, UserState
from otpgate.store.timed import TimedStore
from otpgate.store.usersfile import format_line

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
    first = auth.login(auth.attempt("alice", PIN + otp, IP))
    assert first.ok and first.fresh
    clock.now += 1
    again = auth.login(auth.attempt("alice", PIN + otp, IP))
    assert again.ok and not again.fresh  # lingering, no write
    yield auth, path, otp, reset
    auth.close()


def test_a_reset_ends_the_linger(setup: tuple[Authenticator, Path, str, str]) -> None:
    auth, path, otp, reset = setup
    write_outside(path, reset)
    auth.clock.now += 3  # type: ignore[attr-defined]  # past state_ttl: the file is read again
    before = path.read_bytes()
    decision = auth.login(auth.attempt("alice", PIN + otp, IP))
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
    auth.login(auth.attempt("alice", "", IP))  # the user signs out
    auth.clock.now += 1  # type: ignore[attr-defined]
    decision = auth.login(auth.attempt("alice", PIN + otp, IP))
    assert not decision.ok


def test_an_outside_change_is_seen_at_once_and_an_unchanged_file_is_not_read(
    setup: tuple[Authenticator, Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Within state_ttl the hot path reads nothing while the file is unchanged;
    # a change (its inode, size or modification time) is seen at once.
    auth, path, otp, reset = setup
    reads: list[str] = []
    timed = TimedStore(auth.store, lambda op, _: reads.append(op))
    monkeypatch.setattr(auth.store, "get", timed.get)
    decision = auth.check_cached(auth.attempt("alice", PIN + otp, IP))
    assert decision is not None and decision.ok and reads == []
    write_outside(path, reset)
    decision = auth.login(auth.attempt("alice", PIN + otp, IP))
    assert not decision.ok and "get" in reads


def module_line(user: str, otp: str, offset: int, when: float) -> str:
    """A line as mod_authn_otp's print_user writes it after accepting ``otp``."""
    state = UserState(TokenState(offset), last_otp=otp, last_auth=when, last_ip=IP)
    return format_line(user, parse_token_type("HOTP/T30"), KEY, Pin("plain", PIN), state).decode()


@pytest.mark.parametrize("later", [0.5, 5.0], ids=["within state_ttl", "after it"])
def test_an_older_code_the_module_accepts_does_not_reopen_the_newer_one(
    tmp_path: Path, later: float
) -> None:
    # Issue 17, item 11.  On a file shared with mod_authn_otp: otpgate accepts
    # the newer code; the module then accepts the older one (it remembers the
    # last code, not the step) and writes a drift of -1, so the step read
    # from its line is the older one.  otpgate accepted the newer code again:
    # from its linger (the file read 2 s before still counted), and after
    # that as a fresh code.
    path = tmp_path / "users"
    write_outside(path, f"HOTP/T30 bob {PIN} {KEY.hex()} 0\n")
    clock = Clock()
    clock.now = T0 + 5
    store = open_store(f"users-file:{path}")
    auth = Authenticator(store, AuthSettings(max_linger=600, state_ttl=2), clock=clock)
    newer, older = totp(KEY, T0), totp(KEY, T0 - 30)
    assert auth.login(auth.attempt("bob", PIN + newer, IP)).reason == "otp"
    clock.now = T0 + 6
    write_outside(path, module_line("bob", older, -1, clock.now))
    clock.now += later
    decision = auth.login(auth.attempt("bob", PIN + newer, IP))
    assert (decision.ok, decision.reason) == (False, "replayed")
    # The next code is still the user's.
    clock.now = T0 + 31
    assert auth.login(auth.attempt("bob", PIN + totp(KEY, T0 + 30), IP)).reason == "otp"
    auth.close()


def test_a_new_key_is_another_token_and_keeps_no_used_step(tmp_path: Path) -> None:
    # The floor holds for the token whose step was read: a new key (a reset by
    # another tool) starts afresh, its code of the same step is accepted.
    path = tmp_path / "users"
    write_outside(path, f"HOTP/T30 bob {PIN} {KEY.hex()} 0\n")
    clock = Clock()
    auth = Authenticator(open_store(f"users-file:{path}"), AuthSettings(), clock=clock)
    assert auth.login(auth.attempt("bob", PIN + totp(KEY, T0), IP)).reason == "otp"
    other = b"another-key-for-bob!"
    write_outside(path, f"HOTP/T30 bob {PIN} {other.hex()} 0\n")
    clock.now += 1
    assert auth.login(auth.attempt("bob", PIN + totp(other, T0), IP)).reason == "otp"
    auth.close()
