"""A store URL in an error message never shows its password (issue 9, item 8).

Found by attacking the CLI: ``otpgate user list --store
'postgresql://u:SeCrEt@h:notaport/db'`` printed the URL, password and all,
and so did ``serve``.  Every message that names a store URL shows it with the
password as ``***``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from otpgate.cli import main
from otpgate.errors import ConfigError
from otpgate.store import crypto, open_store, parse_store_url

SECRET = "SeCrEt"

# Each is wrong in a different way, so each reaches a different message.
BAD_URLS = [
    f"postgresql://u:{SECRET}@h:notaport/db",  # the port is not a number
    f"postgresql://u:{SECRET}@[::1/db",  # an unclosed IPv6 bracket
    f"postgresql://u:{SECRET}@h/db",  # no key file
    f"postgresql://u:{SECRET}@h/db?key_file=a&key_file=b",  # key_file twice
    f"postgresql://u:{SECRET}@h/db?key_file=",  # key_file empty
    f"postgresql://u:{SECRET}@h/db?a=1&&b",  # a malformed query string
    f"postgres://u:{SECRET}@h/db#x",  # a fragment
    f"postgresql:u:{SECRET}@h/db",  # no //
    f"postgresql://u@h/db?password={SECRET}&port=x#frag",  # the password as a parameter
    f"postgresql://u:{SECRET}@h:99999/db",  # a port out of range
    f"postgresql://u:{SECRET}@h/db ",  # a trailing space
    f"postgresql://u:p@ss{SECRET}@h:x/db",  # an '@' inside the password
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_user_list_never_echoes_the_password(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "list", "--store", url]) == 1
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert err.startswith("otpgate: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("url", BAD_URLS)
def test_serve_never_echoes_the_password(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "session.secret"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"0123456789abcdef0123456789abcdef\n")
    os.close(fd)
    config = tmp_path / "otpgate.toml"
    config.write_text(f"[web]\nsession_secret_file = {str(secret)!r}\n")
    # The URL from the environment, as every command's --store takes it.
    monkeypatch.setenv("OTPGATE_STORE", url)
    assert main(["serve", "--config", str(config), "--listen", "127.0.0.1:1"]) == 1
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert err.startswith("otpgate: "), err


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_library_messages_redact_too(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(url)  # parsing fails, or opening does (no key file)
    message = str(info.value)
    assert SECRET not in message
    assert "***" in message


def test_a_good_url_keeps_its_password_for_the_connection(tmp_path: Path) -> None:
    key = str(tmp_path / "k")
    crypto.create_key_file(key)
    kind, target, _ = parse_store_url(f"postgresql://u:{SECRET}@h:5432/db?key_file={key}")
    assert (kind, target) == ("postgresql", f"postgresql://u:{SECRET}@h:5432/db")


def test_commands_that_succeed_do_not_print_the_password_either(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The local server trusts the connection, so a password in the URL is
    # accepted and ignored: every command below succeeds.
    url = postgres_url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@", 1)
    assert SECRET in url
    key = str(tmp_path / "pg.key")
    assert main(["init", "--store", url, "--key-file", key]) == 0
    assert main(["user", "list", "--store", url, "--key-file", key]) == 0
    users = tmp_path / "users"
    copied = main(["import", url, "--src-key-file", key, "--into", f"users-file:{users}"])
    assert copied == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "***" in err  # the URL is named, without its password
