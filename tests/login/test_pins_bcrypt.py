"""bcrypt is the optional extra ``otpgate[htpasswd-bcrypt]``: without it, an
htpasswd file with bcrypt entries is refused loudly, not read as wrong PINs."""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path

import pytest

from otpgate.cli import main
from otpgate.errors import ConfigError
from otpgate.login import pins
from otpgate.login.pins import HtpasswdChecker

BCRYPT_LINE = "alice:$2y$04$abcdefghijklmnopqrstuuM0vZ3mHq8d7a3bmbv6cKq8Hq0b9xwJ2\n"
SHA_LINE = "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"  # "password"


def test_with_bcrypt_installed_the_entry_is_read(tmp_path: Path) -> None:
    import bcrypt

    ht = tmp_path / "htpasswd"
    hashed = bcrypt.hashpw(b"pin", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")
    ht.write_text(f"alice:{hashed}\n")
    assert HtpasswdChecker(ht).check("alice", "pin") is True


def test_missing_bcrypt_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pins, "bcrypt", None)
    ht = tmp_path / "htpasswd"
    ht.write_text(SHA_LINE + BCRYPT_LINE)
    with pytest.raises(ConfigError) as caught:
        HtpasswdChecker(ht)
    assert "pip install 'otpgate[htpasswd-bcrypt]'" in str(caught.value)
    assert str(ht) in str(caught.value)


def test_bcrypt_entries_added_later_refuse_and_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pins, "bcrypt", None)
    ht = tmp_path / "htpasswd"
    ht.write_text(SHA_LINE)
    checker = HtpasswdChecker(ht)  # no bcrypt entry: fine without the package
    assert checker.check("bob", "password") is True
    ht.write_text(SHA_LINE + BCRYPT_LINE)
    os.utime(ht, ns=(1, 1))  # a different stamp, so the file is read again
    with caplog.at_level(logging.ERROR, logger="otpgate.login.pins"):
        assert checker.check("alice", "anything") is None
        assert checker.check("bob", "password") is None  # the whole file is refused
    assert "otpgate[htpasswd-bcrypt]" in caplog.text


def test_check_command_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pins, "bcrypt", None)
    monkeypatch.delenv("OTPGATE_CONFIG", raising=False)
    ht = tmp_path / "htpasswd"
    ht.write_text(BCRYPT_LINE)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x123456\n")))
    code = main(["check", "alice", "--store", "memory:", "--htpasswd", str(ht)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "otpgate[htpasswd-bcrypt]" in err
