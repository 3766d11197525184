"""The reference module's own sample file: read, logged into, restarted."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from otpgate.errors import ReplayedCode
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import TokenState, verify
from otpgate.store.records import Pin, UserState
from otpgate.store.usersfile import UsersFileStore

from .conftest import NOW, local, login, ref_line, utc

# -- the reference module's own sample -------------------------------------


def test_sample_file_is_read(sample: Path) -> None:
    s = UsersFileStore(str(sample))
    users = {r.username: r for r in s.list_users()}
    assert sorted(users) == ["barney", "betty", "fred", "joe", "wilma"]
    barney = users["barney"]
    assert barney.token_type == parse_token_type("HOTP/E")
    assert barney.pin == Pin("plain", "1234")
    assert barney.key == bytes.fromhex("8a2d55707a9084982649dadc04b426a06df19ab2")
    assert barney.state == UserState(
        TokenState(21, None), 0, "820658", utc("2009-06-12T17:52:32"), None
    )
    joe = users["joe"]
    assert joe.token_type == parse_token_type("HOTP/T30")
    assert joe.pin == Pin("plain", "999999")
    auth = utc("2009-06-04T21:17:03")
    # The last accepted step is derived: time / interval + offset.
    assert joe.state.token == TokenState(-2, int(auth) // 30 - 2)
    assert users["wilma"].state == UserState()
    assert users["betty"].pin == Pin("none")
    if time.timezone != 0:
        # The sample's 'Z' times are UTC whatever the zone.
        assert barney.state.last_auth != local("2009-06-12T17:52:32")
    assert s.problems() == []


def test_sample_event_login_rewrites_only_that_line(sample: Path) -> None:
    original = sample.read_bytes()
    s = UsersFileStore(str(sample))
    fred = s.get("fred")
    assert fred is not None
    code = fred.token().code(78 + 2)  # two presses ahead
    login(s, "fred", code, NOW, "192.0.2.1")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SL", time.localtime(NOW))
    new_fred = ref_line(
        "HOTP",
        "fred",
        "5678",
        "acbd18db4cc2f85cedef654fccc4a4d8bd537891",
        81,
        0,
        " %-7s %s %s" % (code, stamp, "192.0.2.1"),  # noqa: UP031
    )
    old_lines = original.splitlines(keepends=True)
    expected = b"".join(new_fred if ln.startswith(b"E fred ") else ln for ln in old_lines)
    assert sample.read_bytes() == expected
    assert stat.S_IMODE(sample.stat().st_mode) == 0o600
    # Nothing needed a sidecar, and no temporary file is left.
    assert sorted(p.name for p in sample.parent.iterdir()) == ["users", "users.lock"]
    again = UsersFileStore(str(sample)).get("fred")
    assert again is not None and again.state.token == TokenState(81, None)
    assert again.state.last_otp == code and again.state.last_ip == "192.0.2.1"


def test_sample_time_login_survives_a_restart_without_replay(sample: Path) -> None:
    s = UsersFileStore(str(sample))
    joe = s.get("joe")
    assert joe is not None
    token = joe.token()
    step = token.step_at(NOW) - 2  # joe's clock runs two steps behind
    login(s, "joe", token.code(step), NOW, "192.0.2.9")
    line = next(ln for ln in sample.read_bytes().splitlines() if b" joe " in ln)
    assert line.startswith(b"HOTP/T30 joe           999999  ef654fcc")
    # A new process: the step is derived from the line, so the code is refused.
    fresh = UsersFileStore(str(sample)).get("joe")
    assert fresh is not None and fresh.state.token == TokenState(-2, step)
    with pytest.raises(ReplayedCode):
        verify(token, fresh.state.token, token.code(step), now=NOW + 5)
    # So is an older code that is still inside the window.
    with pytest.raises(ReplayedCode):
        verify(token, fresh.state.token, token.code(step - 1), now=NOW + 5)
