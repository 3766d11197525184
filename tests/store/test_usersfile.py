"""The users file: every line form, byte-for-byte preservation, locking, failures."""

from __future__ import annotations

import calendar
import fcntl
import json
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpgate.errors import ReplayedCode, StoreError
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import Policy, TokenState, verify
from otpgate.store import open_store
from otpgate.store.records import Pin, UserRecord, UserState
from otpgate.store.usersfile import UsersFileStore, format_line

from .conftest import make_users_file

SAMPLE = Path(__file__).parent.parent / "data" / "users.sample"
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


# -- every line form ---------------------------------------------------------

FORMS = f"""\
HOTP/T30 alice - {KEY_HEX}
MOTP bob 1234 0123456789abcdef 3
HOTP/E/8 carol + {KEY_HEX} 5 3
HOTP/T30 dave - {KEY_HEX} 1 123456 2024-01-02T03:04:05L
HOTP/T60 erin - {KEY_HEX} 0 234567 2024-01-02T03:04:05L 10.0.0.1
HOTP/E frank secret {KEY_HEX} 9 2 345678 2024-01-02T03:04:05L 2001:db8::5
E gina - {KEY_HEX.upper()} 4
T hank - {KEY_HEX} -1 456789 2009-06-04T21:17:03Z
MOTP/E ivy 99 0123456789abcdef
HOTP/E/4 judy - {KEY_HEX}
\t HOTP   kate\t-\t{KEY_HEX}   7  \r
HOTP    lena          -       {KEY_HEX} 5   2  567890  2024-01-02T03:04:05L{" "}
"""


def test_every_line_form_is_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = make_users_file(tmp_path / "users", FORMS.encode())
    with caplog.at_level(logging.WARNING, logger="otpgate.store.usersfile"):
        s = UsersFileStore(str(path))
    u = {r.username: r for r in s.list_users()}
    assert len(u) == 12 and s.problems() == []
    key = bytes.fromhex(KEY_HEX)
    assert u["alice"].state == UserState() and u["alice"].token_type.step == 30
    assert u["bob"].token_type.kind == "MOTP" and u["bob"].token_type.step == 10
    assert u["bob"].key == bytes.fromhex("0123456789abcdef") and u["bob"].state.token.counter == 3
    assert u["carol"].pin == Pin("delegated") and u["carol"].token_type.digits == 8
    assert u["carol"].state == UserState(TokenState(5), failures=3)
    t = local("2024-01-02T03:04:05")
    assert u["dave"].state == UserState(TokenState(1, int(t) // 30 + 1), 0, "123456", t, None)
    assert u["erin"].state == UserState(TokenState(0, int(t) // 60), 0, "234567", t, "10.0.0.1")
    assert u["frank"].pin == Pin("plain", "secret")
    assert u["frank"].state == UserState(TokenState(9), 2, "345678", t, "2001:db8::5")
    assert u["gina"].key == key and u["gina"].token_type == parse_token_type("HOTP/E")
    z = utc("2009-06-04T21:17:03")
    assert u["hank"].state == UserState(TokenState(-1, int(z) // 30 - 1), 0, "456789", z, None)
    assert u["ivy"].token_type.step == 0 and u["ivy"].token_type.kind == "MOTP"
    assert u["judy"].token_type.digits == 4
    assert "line 10" in caplog.text and "4-digit" in caplog.text
    assert u["kate"].state.token.counter == 7
    # The reference module's own line when it had no client address.
    assert u["lena"].state == UserState(TokenState(5), 2, "567890", t, None)


MALFORMED = [
    (b"XOTP mallory - " + KEY_HEX.encode() + b"\n", "token type"),
    (b"HOTP mallory - zz" + KEY_HEX.encode() + b"\n", "hex"),
    (b"HOTP mallory - " + KEY_HEX.encode() + b"a\n", "hex"),
    (b"HOTP/E/99 mallory - " + KEY_HEX.encode() + b"\n", "token type"),
    (b"HOTP mallory - " + KEY_HEX.encode() + b" abc\n", "counter"),
    (b"HOTP mallory - " + KEY_HEX.encode() + b" 99999999999999999999\n", "counter"),
    (b"HOTP mallory - " + KEY_HEX.encode() + b" 1 x\n", "failure count"),
    (b"HOTP mallory - " + KEY_HEX.encode() + b" 1 123456 2024-13-45T99:00:00L\n", "timestamp"),
    (b"HOTP mallory - " + KEY_HEX.encode() + b" 1 123456 yesterday\n", "timestamp"),
    (b"HOTP mallory - " + KEY_HEX.encode() + b" 1 2 3 4 5 6\n", "fields"),
    (b"HOTP mal\x00lory - " + KEY_HEX.encode() + b"\n", "NUL"),
    (b"HOTP mall\xffory - " + KEY_HEX.encode() + b"\n", "UTF-8"),
    (b"HOTP mallory -\n", "key"),
    (b"HOTP mallory\n", "PIN"),
    (b"HOTP\n", "username"),
    (b"HOTP mallory - " + b"ab" * 300 + b"\n", "longer"),
    # A typo in a key is named as such, not as "an odd number of digits".
    (b"HOTP mallory - " + KEY_HEX[:-1].encode() + b"g\n", "not a hex digit (0-9, a-f)"),
    (b"HOTP mallory - " + KEY_HEX[:-1].encode() + b"\n", "odd number of hex digits"),
]


@pytest.mark.parametrize(("bad", "reason"), MALFORMED)
def test_malformed_lines_are_reported_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: bytes, reason: str
) -> None:
    head = b"# users\n" + format_line(
        "alice", parse_token_type("HOTP/E"), bytes.fromhex(KEY_HEX), Pin("none"), UserState()
    )
    tail = b"\n#end\n"
    path = make_users_file(tmp_path / "users", head + bad + tail)
    with caplog.at_level(logging.WARNING, logger="otpgate.store.usersfile"):
        s = UsersFileStore(str(path))
    problems = s.problems()
    assert len(problems) == 1 and problems[0][0] == 3 and reason in problems[0][1]
    assert "line 3" in caplog.text and reason in caplog.text
    assert KEY_HEX not in caplog.text  # reasons never quote a key
    assert "123456" not in caplog.text  # nor a last OTP, which lingers
    assert s.get("mallory") is None
    alice = s.get("alice")
    assert alice is not None
    new = s.compare_and_set("alice", alice.version, replace(alice.state, failures=1))
    assert new is not None
    data = path.read_bytes()
    assert data.startswith(b"# users\n") and data.endswith(bad + tail)
    assert data.count(bad) == 1


def test_duplicate_user_uses_the_first_line_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # mod_authn_otp reads the first line of a user named twice; a store that
    # refused to open made every login in the file fail until a restart.
    first = f"HOTP alice 1111 {KEY_HEX} 5\n".encode()
    second = f"HOTP alice 2222 {KEY_HEX} 9\n".encode()
    bob = f"HOTP bob - {KEY_HEX}\n".encode()
    path = make_users_file(tmp_path / "users", b"#\n" + first + bob + second)
    with caplog.at_level(logging.WARNING, logger="otpgate.store.usersfile"):
        s = UsersFileStore(str(path))
        rec = s.get("alice")
        assert rec is not None and rec.pin.value == "1111" and rec.state.token.counter == 5
        assert s.get("bob") is not None
        assert [r.username for r in s.list_users()] == ["alice", "bob"]
        assert s.problems() == [(4, "user 'alice' repeats line 2; the first line counts")]
        # A write changes the first line only; the repeat is kept as it is.
        assert s.compare_and_set("alice", rec.version, UserState(TokenState(6))) is not None
        content = path.read_bytes()
        assert content.startswith(b"#\n" + ref_line("HOTP", "alice", "1111", KEY_HEX, 6, 0))
        assert content.endswith(bob + second)
        assert s.get("alice").state.token.counter == 6  # type: ignore[union-attr]
    repeats = [r for r in caplog.records if "repeats line 2" in r.getMessage()]
    assert len(repeats) == 1, "warned once, not on every read"
    assert "line 4" in repeats[0].getMessage() and "first" in repeats[0].getMessage()
    # Removing the user removes every line of it: nothing of alice may remain.
    assert s.remove("alice")
    assert s.get("alice") is None
    assert path.read_bytes() == b"#\n" + bob
    assert s.problems() == []


def test_world_readable_file_is_refused(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    path.chmod(0o644)
    with pytest.raises(StoreError, match="chmod o-rwx"):
        UsersFileStore(str(path))
    path.chmod(0o640)
    s = UsersFileStore(str(path))
    assert s.get("alice") is not None
    path.chmod(0o604)
    with pytest.raises(StoreError, match="plain text"):
        s.get("alice")


# -- writing -----------------------------------------------------------------


def test_format_line_is_print_user() -> None:
    key = bytes.fromhex(KEY_HEX)
    state = UserState(TokenState(-3), 2, "123456", NOW, "192.0.2.1")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SL", time.localtime(NOW))
    tt = parse_token_type("T")
    assert format_line("al", tt, key, Pin("plain", "12"), state) == ref_line(
        "HOTP/T30", "al", "12", KEY_HEX, -3, 2, f" 123456  {stamp} 192.0.2.1"
    )
    assert format_line("al", parse_token_type("MOTP"), key, Pin("delegated"), UserState()) == (
        ref_line("MOTP", "al", "+", KEY_HEX, 0, 0)
    )
    assert format_line(
        "a-very-long-user-name", parse_token_type("HOTP/E/8"), key, Pin("none"), UserState()
    ) == ref_line("HOTP/E/8", "a-very-long-user-name", "-", KEY_HEX, 0, 0)


@pytest.mark.parametrize(
    ("name", "pin", "words"),
    [
        ("al ice", Pin("none"), "without spaces"),
        ("", Pin("none"), "without spaces"),
        ("#alice", Pin("none"), "comment"),
        ("alice", Pin("plain", "12 34"), "PIN"),
        ("alice", Pin("plain", "-"), "special meaning"),
        ("alice", Pin("hash", "$argon2id$x"), "hashed PIN"),
    ],
)
def test_unwritable_records_are_refused(tmp_path: Path, name: str, pin: Pin, words: str) -> None:
    path = make_users_file(tmp_path / "users")
    s = UsersFileStore(str(path))
    with pytest.raises(StoreError, match=words):
        s.add(UserRecord(name, parse_token_type("HOTP"), b"k" * 20, pin))
    assert path.read_bytes() == b""


def test_add_after_a_last_line_without_newline(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", b"# no newline at the end")
    s = UsersFileStore(str(path))
    s.add(UserRecord("alice", parse_token_type("HOTP"), b"k" * 20, Pin("none")))
    lines = path.read_bytes().split(b"\n")
    assert lines[0] == b"# no newline at the end" and lines[1].split()[1] == b"alice"


def test_crlf_lines_are_read_and_kept(tmp_path: Path) -> None:
    content = f"# windows\r\nHOTP alice - {KEY_HEX} 3\r\nHOTP bob - {KEY_HEX} 4\r\n".encode()
    path = make_users_file(tmp_path / "users", content)
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None and alice.state.token.counter == 3
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(5))) is not None
    lines = path.read_bytes().splitlines(keepends=True)
    assert lines[0] == b"# windows\r\n" and lines[2] == f"HOTP bob - {KEY_HEX} 4\r\n".encode()


def test_owner_and_mode_are_kept(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    path.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(path, 4242, 4343)
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(1))) is not None
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (4242, 4343)


@pytest.mark.parametrize("fail_at", ["replace", "fsync", "write"])
def test_write_failure_raises_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    content = f"# keep\nHOTP alice - {KEY_HEX} 3\n".encode()
    path = make_users_file(tmp_path / "users", content)
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None

    def boom(*args: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, fail_at, boom)
        with pytest.raises(StoreError, match="No space left"):
            s.compare_and_set("alice", alice.version, UserState(TokenState(4)))
    assert path.read_bytes() == content
    assert not Path(f"{path}.new").exists()
    # The store still works, and the caller's version is still current.
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(4))) is not None


def test_stale_new_and_lock_files_do_not_block(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    Path(f"{path}.new").write_bytes(b"half a line from a killed wri")
    Path(f"{path}.lock").write_bytes(b"")
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(1))) is not None
    assert not Path(f"{path}.new").exists()


def test_writers_wait_for_the_reference_lock(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    fd = os.open(f"{path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as mod_authn_otp holds it while writing
    results: list[object] = []
    t = threading.Thread(
        target=lambda: results.append(
            s.compare_and_set("alice", alice.version, UserState(TokenState(1)))
        )
    )
    t.start()
    t.join(0.3)
    assert t.is_alive() and results == []  # blocked on the lock
    # Meanwhile the holder changes alice: the waiting writer must lose.
    path.write_bytes(f"HOTP alice - {KEY_HEX} 7\n".encode())
    os.close(fd)
    t.join()
    assert results == [None]
    again = s.get("alice")
    assert again is not None and again.state.token.counter == 7


# -- the sidecar -------------------------------------------------------------


def test_sidecar_holds_what_the_line_cannot(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"T alice 12 {KEY_HEX}\n".encode())
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    state = UserState(TokenState(0, 5), 1, None, NOW + 0.5, None, locked_until=NOW + 60)
    assert s.compare_and_set("alice", alice.version, state) is not None
    side = Path(f"{path}.otpgate.json")
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    doc = json.loads(side.read_text())
    assert doc["users"]["alice"]["locked_until"] == NOW + 60
    assert "12" not in json.dumps(doc).split("alice")[0]  # no PIN, no key in the sidecar
    assert KEY_HEX not in side.read_text()
    got = s.get("alice")
    assert got is not None and got.state == state
    # The line stays in the reference layout.
    assert path.read_bytes() == ref_line("HOTP/T30", "alice", "12", KEY_HEX, 0, 1)


def test_a_line_rewritten_by_another_tool_wins_over_the_sidecar(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"T alice - {KEY_HEX}\n".encode())
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    state = UserState(TokenState(0, 999), 0, None, NOW + 0.5, None, revoked_before=NOW)
    assert s.compare_and_set("alice", alice.version, state) is not None
    # mod_authn_otp accepts a login and rewrites alice's line.
    path.write_bytes(
        ref_line("HOTP/T30", "alice", "-", KEY_HEX, 1, 0, " 123456 2024-01-02T03:04:05L ::1")
    )
    got = s.get("alice")
    t = local("2024-01-02T03:04:05")
    assert got is not None
    assert got.state.token == TokenState(1, int(t) // 30 + 1)
    assert got.state.last_auth == t and got.state.last_ip == "::1"
    assert got.state.revoked_before == NOW  # not a line field: still from the sidecar


def test_remove_drops_the_sidecar_entry(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    s = open_store(f"users-file:{path}")
    s.set_recovery_codes("alice", ["d"])
    assert s.remove("alice") is True
    assert json.loads(Path(f"{path}.otpgate.json").read_text())["users"] == {}
    assert path.read_bytes() == b""


# -- anything at all in the file ----------------------------------------------

_JUNK = st.lists(
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" "))
    | st.lists(
        st.sampled_from(
            [
                b"HOTP",
                b"E",
                b"T",
                b"MOTP/T10/8",
                b"-",
                b"+",
                b"12",
                b"-3",
                b"#",
                KEY_HEX.encode(),
                b"abc",
                b"\x00",
                b"\xff",
                b"2024-01-02T03:04:05L",
                b"\t",
                b"\r",
                b"::1",
                b"x" * 9,
            ]
        ),
        max_size=11,
    ).map(b" ".join),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(before=_JUNK, after=_JUNK)
def test_any_other_line_survives_a_write_byte_for_byte(
    before: list[bytes], after: list[bytes]
) -> None:
    alice = f"HOTP/E alice-the-tester - {KEY_HEX} 3\n".encode()
    content = b"\n".join(before) + b"\n" + alice + b"\n".join(after) + b"\n"
    with tempfile.TemporaryDirectory() as d:
        path = make_users_file(Path(d) / "users", content)
        try:
            s = UsersFileStore(str(path))
        except StoreError as exc:
            # Only a file that is really an SQLite database (Hypothesis finds
            # the header in the module's constants) may stop the store from
            # opening; a user named on two lines does not.
            assert content.startswith(b"SQLite format 3\0")
            assert "is an SQLite database" in str(exc)
            return
        for lineno, reason in s.problems():
            assert 1 <= lineno <= content.count(b"\n") and reason
        rec = s.get("alice-the-tester")
        assert rec is not None and rec.state.token.counter == 3
        assert s.compare_and_set("alice-the-tester", rec.version, UserState(TokenState(4)))
        new_alice = ref_line("HOTP", "alice-the-tester", "-", KEY_HEX, 4, 0)
        assert path.read_bytes() == content.replace(alice, new_alice, 1)


def test_bare_path_to_sqlite_database_is_named_as_such(tmp_path: Path) -> None:
    from otpgate.store.crypto import create_key_file

    db = tmp_path / "otpgate.db"
    create_key_file(f"{db}.key")
    open_store(f"sqlite:///{db}").close()
    assert db.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(StoreError, match="SQLite database"):
        open_store(str(db))
