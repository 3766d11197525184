"""open_store: every URL form, and a clear error for every malformed one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from otpgate.errors import ConfigError, OTPGateError, StoreError
from otpgate.store import MemoryStore, crypto, default_key_file, open_store, parse_store_url
from otpgate.store.sqlite import SQLiteStore
from otpgate.store.usersfile import UsersFileStore

from .conftest import make_users_file


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("memory:", ("memory", "", None)),
        ("sqlite:///otpgate.db", ("sqlite", "otpgate.db", None)),
        ("sqlite:////var/lib/otpgate/otpgate.db", ("sqlite", "/var/lib/otpgate/otpgate.db", None)),
        ("sqlite:////x/a.db?key_file=/etc/k", ("sqlite", "/x/a.db", "/etc/k")),
        ("sqlite:////x/my%20db.db", ("sqlite", "/x/my db.db", None)),
        ("users-file:/etc/otp/users", ("users-file", "/etc/otp/users", None)),
        ("users-file:///etc/otp/users", ("users-file", "/etc/otp/users", None)),
        ("users-file:users", ("users-file", "users", None)),
        ("/etc/otp/users", ("users-file", "/etc/otp/users", None)),
        ("./users", ("users-file", "./users", None)),
        ("postgresql://gate@db/otp", ("postgresql", "postgresql://gate@db/otp", None)),
        (
            "postgres://gate@db:5433/otp?sslmode=require&key_file=/k",
            ("postgresql", "postgres://gate@db:5433/otp?sslmode=require", "/k"),
        ),
    ],
)
def test_url_forms(url: str, expected: tuple[str, str, str | None]) -> None:
    assert parse_store_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (" sqlite:///a.db", "spaces"),
        ("sqlite:///a\x00.db", "NUL"),
        ("mysql://db/otp", "unknown kind"),
        ("sqlite:a.db", "sqlite:///"),
        ("sqlite://host/a.db", "no host"),
        ("sqlite:///", "no database file"),
        ("sqlite:///a.db?mode=ro", "unknown parameters"),
        ("sqlite:///a.db?key_file=", "empty"),
        ("sqlite:///a.db?key_file=a&key_file=b", "more than once"),
        ("users-file:", "names no users file"),
        ("users-file:/x?y=1", "no parameters"),
        ("memory:x", "nothing after"),
        ("postgresql:db", "postgresql://"),
        ("postgresql://h:port/db", "port"),
        ("postgresql://h/db#x", "fragment"),
    ],
)
def test_malformed_urls_are_clear_errors(url: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(url)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)  # input errors are ValueErrors too


def test_open_store_builds_each_backend(tmp_path: Path) -> None:
    key = str(tmp_path / "k")
    crypto.create_key_file(key)
    users = make_users_file(tmp_path / "users")
    assert isinstance(open_store("memory:"), MemoryStore)
    db = tmp_path / "a.db"
    s = open_store(f"sqlite:///{db}", key_file=key)
    assert isinstance(s, SQLiteStore) and s.url == f"sqlite:///{db}"
    s.close()
    assert isinstance(open_store(f"users-file:{users}"), UsersFileStore)
    assert isinstance(open_store(str(users)), UsersFileStore)


def test_sqlite_default_key_file_sits_next_to_the_database(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    url = f"sqlite:///{db}"
    assert default_key_file(url) == f"{db}.key"
    assert default_key_file(f"{url}?key_file=/k") == "/k"
    assert default_key_file("memory:") is None
    with pytest.raises(ConfigError, match="otpgate init"):
        open_store(url)  # no key file yet
    assert not db.exists()
    crypto.create_key_file(f"{db}.key")
    open_store(url).close()
    assert db.exists()


def test_postgres_needs_a_key_file() -> None:
    with pytest.raises(ConfigError, match="key file"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


def test_missing_users_file_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"users-file:{tmp_path / 'nope'}")


def test_unreachable_postgres_is_a_store_error_without_the_password(tmp_path: Path) -> None:
    key = str(tmp_path / "k")
    crypto.create_key_file(key)
    # Opening is lazy; the first operation reports the failure.
    s = open_store("postgresql://gate:s3cret-pw@127.0.0.1:1/otp?connect_timeout=1", key_file=key)
    with pytest.raises(StoreError) as info:
        s.ping()
    assert "s3cret-pw" not in str(info.value)
    s.close()


def test_every_store_error_is_an_otpgate_error(tmp_path: Path) -> None:
    with pytest.raises(OTPGateError):
        open_store(os.fspath(tmp_path / "missing-users"))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://gate:s3cret@db/otp", "postgresql://gate:***@db/otp"),
        (
            "postgresql://gate@db/otp?password=s3cret&sslmode=require",
            "postgresql://gate@db/otp?password=***&sslmode=require",
        ),
        ("postgresql://gate@db:5433/otp", "postgresql://gate@db:5433/otp"),
    ],
)
def test_postgres_url_is_shown_without_the_password(tmp_path: Path, url: str, shown: str) -> None:
    key = str(tmp_path / "k")
    crypto.create_key_file(key)
    s = open_store(url, key_file=key)  # lazy: nothing connects
    assert s.url == shown
    s.close()
