"""Every line form the reference reads, what it cannot, and each line kept byte for byte."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpgate.errors import StoreError
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import TokenState
from otpgate.store.records import Pin, UserRecord, UserState
from otpgate.store.usersfile import UsersFileStore, format_line

from ..conftest import make_users_file
from .conftest import KEY_HEX, NOW, local, ref_line, utc

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
