"""otpgate.adapters.apache.check_password in-process: settings, fall-through, broken config."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate._limits import MAX_PASSWORD, MAX_USER
from otpgate.adapters import apache
from otpgate.otp.algorithms import totp
from web.servers import make_store

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
    assert check(environ, "nobody", fresh) is None  # the next provider's, as in the module


def test_unknown_users_always_go_to_the_next_provider(config: Path) -> None:
    # mod_authn_otp answers AUTH_USER_NOT_FOUND for a name its file does not
    # hold, whatever OTPAuthFallThrough says: "AuthBasicProvider OTP file" lets
    # the file's users in.  Those users send their password with every request:
    # counted here, they were throttled (refused) after three.
    check = apache.provider(config)
    environ = {"REMOTE_ADDR": "192.0.2.9"}
    for _ in range(10):
        assert check(environ, "nobody", "htpasswd-password") is None
    # Off: a known user's refusal is final, as in the module.
    assert check(environ, "dave", "1357000000") is False
    assert check(environ, "dave", "12") is False


def _passes(check: apache.CheckPassword, user: str, password: str, ip: str) -> bool | None:
    return check({"REMOTE_ADDR": ip}, user, password)


def test_fall_through_passes_on_what_the_module_passes_on(config: Path) -> None:
    # With OTPAuthFallThrough On the module answers AUTH_USER_NOT_FOUND for a
    # wrong PIN, a password of the wrong length, a locked user and a logout
    # too; otpgate checks the code before the PIN and does not say which of
    # the two was wrong, so a wrong or used code is passed on as well.
    audit = config.parent / "audit.log"
    config.write_text(config.read_text() + f'[auth]\naudit_log = "{audit}"\n')
    on = apache.provider(config, OTPAuthFallThrough=True, OTPAuthMaxOTPFailure=2)
    now = time.time()
    fresh = "1357" + totp(KEY, now + 30)
    attempts = [
        ("0000" + totp(KEY, now), None),  # wrong PIN (the code is used up)
        ("12", None),  # too short
        (fresh, True),
        ("", None),  # logout from the last address
        (fresh, None),  # a used code
        ("1357000000", None),  # wrong code
        ("1357000001", None),  # wrong code: the second failure locks
        ("1357000002", None),  # locked
    ]
    for i, (password, answer) in enumerate(attempts):
        ip = "192.0.2.3" if password in (fresh, "") else f"192.0.2.{10 + i}"
        assert _passes(on, "dave", password, ip) is answer, (i, password)
        for authenticator in apache._kept.values():
            authenticator.flush()  # failure counts are written behind the answer
    assert _passes(on, "nobody", "1357123456", "192.0.2.30") is None
    # Only these are never passed on: input no front end accepts, and a gate
    # that cannot start.
    assert _passes(on, "dave\n", "1357123456", "192.0.2.31") is False
    reasons = [json.loads(line)["reason"] for line in audit.read_text().splitlines()]
    assert reasons == [
        "bad_pin", "malformed", "otp", "logout", "replayed", "no_match", "no_match", "locked",
        "unknown_user",
    ]  # fmt: skip


def test_fall_through_gives_a_guesser_no_free_guesses(config: Path) -> None:
    # Passed on or not, a wrong guess counts: after the throttle's free
    # failures the right PIN and code are not even looked at (and go to the
    # next provider, which has its own password for dave, or none).
    on = apache.provider(config, OTPAuthFallThrough=True)
    for i in range(4):  # the throttle's 3 free failures and one more
        assert _passes(on, "dave", f"135700000{i}", "192.0.2.7") is None
    right = "1357" + totp(KEY, time.time())
    assert _passes(on, "dave", right, "192.0.2.7") is None  # throttled: not checked
    assert _passes(on, "dave", right, "192.0.2.8") is True  # another address: checked


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
    from otpgate.login.pins import apr1_md5

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
