"""``OTPAuthMaxIdle`` across processes: the last use is kept in the store.

The attack on the rule (issue 17, item 8): Apache's children each kept their
own idle clock.  With an idle limit of 20 s, a login, a request at +12 s in a
second child and one at +24 s in a third: mod_authn_otp answered 200 and 200
(it writes the time of the last use to its file, at most every idle/16 s),
otpgate 200 and 401 (the third child counted from the login).  Here each
"child" is an Authenticator of its own over one users file, as under Apache;
tests/adapters/test_apache_module.py runs the same against real Apache children.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.otp.algorithms import totp
from otpgate.store import open_store
from otpgate.store.usersfile import UsersFileStore

KEY = b"12345678901234567890"
PIN = "1234"
T0 = 1_800_000_000.0
IP = "192.0.2.7"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    path.write_text(f"HOTP/T30 alice {PIN} {KEY.hex()} 0\n")
    path.chmod(0o600)
    return path


def child(users: Path, clock: Clock, idle: float) -> Authenticator:
    """One Apache child: its own Authenticator (memory) over the shared file."""
    return Authenticator(
        open_store(f"users-file:{users}"), AuthSettings(max_idle=idle), clock=clock
    )


def ask(auth: Authenticator, password: str) -> str:
    """What the Apache provider asks: the cached answer first, then the decision."""
    attempt = auth.attempt("alice", password, IP)
    decision = auth.check_cached(attempt) or auth.decide(attempt)
    return decision.reason if not decision.ok else f"ok:{decision.reason}"


def last_use(users: Path) -> float | None:
    record = UsersFileStore(str(users)).get("alice")
    assert record is not None
    return record.state.last_auth


@pytest.mark.parametrize("second_child_is_the_first", [False, True])
def test_three_children_share_one_idle_clock(users: Path, second_child_is_the_first: bool) -> None:
    clock = Clock()
    a, b, c = (child(users, clock, 20) for _ in range(3))
    password = PIN + totp(KEY, T0)
    assert ask(a, password) == "ok:otp"
    clock.now = T0 + 12
    # In another child (from the store's last OTP), or in the same one (from memory).
    assert ask(a if second_child_is_the_first else b, password) == "ok:linger"
    assert last_use(users) == T0 + 12, "the use is written, as mod_authn_otp writes it"
    clock.now = T0 + 24  # 24 s after the login, 12 s after the last use
    assert ask(c, password) == "ok:linger"
    assert last_use(users) == T0 + 24
    clock.now = T0 + 24 + 20  # exactly 20 s after the last use: idle too long, everywhere
    assert ask(a, password) == "replayed"
    assert ask(c, password) == "replayed"
    for auth in (a, b, c):
        auth.close()


def test_the_use_is_written_at_most_every_sixteenth_of_the_idle_time(users: Path) -> None:
    # Not a store write per request: the module's own rule, now - last > idle / 16.
    clock = Clock()
    auth = child(users, clock, 32)  # 32 / 16 = 2 s
    password = PIN + totp(KEY, T0)
    assert ask(auth, password) == "ok:otp"
    before = users.read_bytes()
    for t in (0.5, 1.0, 2.0):  # exactly 2 s: not yet
        clock.now = T0 + t
        assert ask(auth, password) == "ok:linger"
        assert users.read_bytes() == before, t
    clock.now = T0 + 2.5
    assert ask(auth, password) == "ok:linger"
    assert last_use(users) == T0 + 2.5
    clock.now = T0 + 4.5  # exactly 2 s after that write: not yet
    assert ask(auth, password) == "ok:linger"
    assert last_use(users) == T0 + 2.5
    auth.close()


def test_a_fixed_linger_writes_nothing(users: Path) -> None:
    clock = Clock()
    auth = Authenticator(
        open_store(f"users-file:{users}"), AuthSettings(max_linger=600), clock=clock
    )
    password = PIN + totp(KEY, T0)
    assert ask(auth, password) == "ok:otp"
    before = users.read_bytes()
    for t in (10, 100, 599):
        clock.now = T0 + t
        assert ask(auth, password) == "ok:linger"
    assert users.read_bytes() == before
    auth.close()


def test_a_logout_is_not_undone_by_a_later_use(users: Path) -> None:
    clock = Clock()
    a, b = child(users, clock, 20), child(users, clock, 20)
    password = PIN + totp(KEY, T0)
    assert ask(a, password) == "ok:otp"
    clock.now = T0 + 5
    assert ask(b, "") == "logout"
    clock.now = T0 + 10  # a's memory still holds the credential; the store says no
    assert ask(a, password) == "replayed"
    clock.now = T0 + 15
    assert ask(b, password) == "replayed"
    assert last_use(users) == T0  # the logout wrote no use, nor did the refusals
    a.close()
    b.close()
