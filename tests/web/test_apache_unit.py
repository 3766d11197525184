"""otpgate.apache.check_password in-process: settings, fall-through, broken config."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate import apache
from otpgate._limits import MAX_PASSWORD, MAX_USER
from otpgate.otp import totp

from .servers import make_store

KEY = b"unit-apache-key-0004"


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    apache.reset()
    yield
    apache.reset()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url, key_file = make_store(tmp_path, [("dave", "1357", KEY)])
    path = tmp_path / "otpgate.toml"
    path.write_text(f'[store]\nurl = "{url}"\nkey_file = "{key_file}"\n')
    return path


def test_accepts_refuses_and_lingers(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTPGATE_CONFIG", str(config))
    check = apache.check_password  # the module itself as WSGIAuthUserScript
    environ = {"REMOTE_ADDR": "192.0.2.1"}
    password = "1357" + totp(KEY, time.time())
    assert check(environ, "dave", "0000" + password[4:]) is False
    assert check(environ, "dave", password) is False  # the OTP was used up by the bad PIN
    fresh = "1357" + totp(KEY, time.time() + 30)
    assert check(environ, "dave", fresh) is True
    assert check(environ, "dave", fresh) is True  # linger
    assert check(environ, "nobody", fresh) is False


def test_fall_through_directive_hands_unknown_users_on(config: Path) -> None:
    check = apache.provider(config, OTPAuthFallThrough=True)
    assert check({}, "nobody", "123456") is None
    assert check({}, "dave", "1357000000") is False
    assert apache.provider(config)({}, "nobody", "123456") is False


def test_broken_configuration_refuses_everyone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[store]\nurl = 5\n")
    check = apache.provider(bad)
    assert check({}, "dave", "1357123456") is False
    assert check({}, "dave", "1357123456") is False
    err = capsys.readouterr().err
    assert err.count("otpgate: cannot start") == 1
    assert "1357123456" not in err


def test_reference_configuration_carries_over(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(f"HOTP/T30 erin 2468 {KEY.hex()}\n")
    users.chmod(0o600)
    check = apache.provider(
        None, OTPAuthUsersFile=str(users), OTPAuthMaxLinger=600, OTPAuthLogoutOnIPChange=True
    )
    password = "2468" + totp(KEY, time.time())
    assert check({"REMOTE_ADDR": "192.0.2.1"}, "erin", password) is True
    assert check({"REMOTE_ADDR": "192.0.2.1"}, "erin", password) is True  # linger
    assert check({"REMOTE_ADDR": "192.0.2.2"}, "erin", password) is False  # another address
    # The file keeps the reference layout, with the login recorded in it.
    fields = users.read_text().split()
    assert fields[:4] == ["HOTP/T30", "erin", "2468", KEY.hex()]
    assert fields[-1] == "192.0.2.1"


@pytest.mark.parametrize("user", ["", "x" * (MAX_USER + 1), "eve\r\nX-Admin: 1", "eve\x85"])
def test_names_every_front_end_refuses_are_refused_not_handed_on(config: Path, user: str) -> None:
    check = apache.provider(config, OTPAuthFallThrough=True)
    assert check({}, "x" * MAX_USER, "1357123456") is None  # unknown, well formed: handed on
    assert check({}, user, "1357123456") is False


def test_an_overlong_password_is_refused_unread(config: Path) -> None:
    check = apache.provider(config)
    assert check({}, "dave", "1357" + "1" * MAX_PASSWORD) is False


def test_a_user_named_twice_does_not_stop_every_login(tmp_path: Path) -> None:
    # The store refused to open such a file, so every login in it failed until
    # Apache restarted.  As for mod_authn_otp, the first line counts.
    users = tmp_path / "users"
    users.write_text(
        f"HOTP/T30 erin 2468 {KEY.hex()}\nHOTP/T30 fred 1357 {KEY.hex()}\n"
        f"HOTP/T30 erin 9999 {KEY.hex()}\n"
    )
    users.chmod(0o600)
    check = apache.provider(None, OTPAuthUsersFile=str(users))
    environ = {"REMOTE_ADDR": "192.0.2.1"}
    assert check(environ, "fred", "1357" + totp(KEY, time.time())) is True
    assert check(environ, "erin", "2468" + totp(KEY, time.time() + 30)) is True


def test_pin_auth_provider_file_as_copied_from_apache(tmp_path: Path) -> None:
    # "OTPAuthPINAuthProvider file" with the AuthUserFile beside it refused every
    # login: the provider's name was not a setting otpgate knew.
    from otpgate.pins import apr1_md5

    users = tmp_path / "users"
    users.write_text(f"HOTP/T30 gail + {KEY.hex()}\n")
    users.chmod(0o600)
    pins = tmp_path / "pins"
    pins.write_text("gail:" + apr1_md5(b"8642", b"r31.....") + "\n")
    check = apache.provider(
        None,
        OTPAuthUsersFile=str(users),
        OTPAuthPINAuthProvider="file",
        AuthUserFile=str(pins),
    )
    environ = {"REMOTE_ADDR": "192.0.2.1"}
    assert check(environ, "gail", "8642" + totp(KEY, time.time())) is True
    assert check(environ, "gail", "1111" + totp(KEY, time.time() + 30)) is False
