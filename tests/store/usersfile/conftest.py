"""The users file's tests share a clock, a key, the reference module's sample and its writer."""

from __future__ import annotations

import calendar
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate.otp.verify import Policy, verify
from otpgate.store.records import UserRecord, UserState
from otpgate.store.usersfile import UsersFileStore

SAMPLE = Path(__file__).parents[2] / "data" / "users.sample"
KEY_HEX = "3132333435363738393031323334353637383930"
NOW = 1_700_000_000.0  # a fixed clock: 2023-11-14T22:13:20Z


@pytest.fixture(autouse=True)
def _local_time_is_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in a zone with DST so local ('L') and UTC ('Z') times really differ."""
    if not os.path.exists("/usr/share/zoneinfo/Europe/Berlin"):
        yield None
        return
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield None
    monkeypatch.undo()
    time.tzset()


def utc(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))


def local(text: str) -> float:
    return float(time.mktime((*time.strptime(text, "%Y-%m-%dT%H:%M:%S")[:8], -1)))


def ref_line(
    type_: str, user: str, pin: str, key: str, offset: int, fails: int, tail: str = ""
) -> bytes:
    """mod_authn_otp's print_user, transcribed from its C format strings."""
    # UP031: the C format strings, kept as written in mod_authn_otp.c.
    text = "%-7s %-13s %-7s " % (type_, user, pin)  # noqa: UP031
    text += key + " %-3ld %-2u" % (offset, fails)  # noqa: UP031
    return (text + tail + "\n").encode()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    shutil.copyfile(SAMPLE, path)
    path.chmod(0o600)
    return path


def login(store: UsersFileStore, name: str, code: str, now: float, ip: str) -> UserRecord:
    """What the Authenticator does: read, verify, compare-and-set."""
    rec = store.get(name)
    assert rec is not None
    match = verify(rec.token(), rec.state.token, code, now=now, policy=Policy(window=1))
    state = UserState(match.state, 0, code, now, ip)
    new = store.compare_and_set(name, rec.version, state)
    assert new is not None
    return new
