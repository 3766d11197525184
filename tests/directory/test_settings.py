"""The [directory] table, the lookup cache and the dialects: no server needed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from otpgate.config.loader import load_config
from otpgate.directory.cache import LookupCache
from otpgate.directory.entries import Dialect, dialect_of, escape_filter
from otpgate.directory.settings import DirectorySettings, problems
from otpgate.errors import ConfigError
from otpgate.login.directory import open_directory


def test_defaults_mean_no_directory() -> None:
    assert not DirectorySettings().enabled
    assert load_config(None, env={}).directory == DirectorySettings()


def test_the_table_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "otpgate.toml"
    path.write_text(
        '[directory]\nurl = ["ldaps://dc1.example:636", "ldaps://dc2.example:636"]\n'
        'base_dn = "dc=example,dc=org"\nlogin_attribute = "sAMAccountName"\n'
        'user_filter = "(objectClass=user)"\npin = "directory"\n'
    )
    config = load_config(path, env={"OTPGATE_DIRECTORY_CACHE_TTL": "5"})
    d = config.directory
    assert d.url == ("ldaps://dc1.example:636", "ldaps://dc2.example:636")
    assert d.active_directory and d.pin == "directory" and d.cache_ttl == 5
    both = {"OTPGATE_DIRECTORY_URL": "ldap://a,ldap://b", "OTPGATE_DIRECTORY_BASE_DN": "o=x"}
    env = load_config(None, env=both).directory
    assert env.url == ("ldap://a", "ldap://b")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": ("http://x",)}, "must be ldap:// .StartTLS. or ldaps:// URLs"),
        ({"pin": "userstore"}, "pin must be one of own, directory, none"),
        ({"user_filter": "objectClass=user"}, "in parentheses"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"max_bind_failures": 0}, "max_bind_failures must be a whole number of at least 1"),
        ({"cache_size": True}, "cache_size must be"),
    ],
)
def test_bad_values_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DirectorySettings(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": ("ldap://x",), "base_dn": ""}, "directory.base_dn is needed with a url"),
        ({"url": ("ldap://x",), "base_dn": "o=x", "bind_dn": "cn=a"}, "go together"),
    ],
)
def test_settings_that_do_not_fit_together_are_refused_when_opened(
    changes: dict[str, object], message: str
) -> None:
    settings = DirectorySettings(**changes)  # type: ignore[arg-type]
    assert any(message in p for p in problems(settings))
    with pytest.raises(ConfigError, match=message):
        open_directory(settings)
    assert problems(DirectorySettings()) == []  # no url: nothing to open, nothing wrong


def test_a_bad_value_in_the_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "otpgate.toml"
    path.write_text('[directory]\npin = "sometimes"\nnope = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert "unknown setting directory.nope" in str(caught.value)
    assert "pin must be one of" in str(caught.value)


def test_escape_filter() -> None:
    assert escape_filter("a*b(c)d\\e\0") == "a\\2ab\\28c\\29d\\5ce\\00"
    assert escape_filter(b"\x01\xff") == "\\01\\ff"
    # A login name cannot widen the search: '*' and ')(' arrive escaped.
    assert "*" not in escape_filter("*)(uid=*")


def test_active_directory_guids_are_little_endian() -> None:
    ad = Dialect("objectGUID", True)
    guid = uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")
    assert ad.id_of({"objectGUID": [guid.bytes_le]}) == str(guid)
    assert ad.id_of({"objectGUID": [b"short"]}) is None


def test_the_disabled_bit() -> None:
    ad = Dialect("objectGUID", True)
    assert ad.disabled({"userAccountControl": [b"514"]})
    assert not ad.disabled({"userAccountControl": [b"512"]})
    assert ad.disabled({"userAccountControl": [b"junk"]})  # unreadable: not trusted
    assert not Dialect("entryUUID", False).disabled({"userAccountControl": [b"514"]})


def test_the_dialect_follows_the_login_attribute() -> None:
    assert dialect_of(DirectorySettings(login_attribute="userPrincipalName")).active_directory
    assert dialect_of(DirectorySettings()).id_attribute == "entryUUID"


def test_the_cache_is_bounded_in_size_and_age() -> None:
    now = [0.0]
    cache: LookupCache[str, int] = LookupCache(10, 2, lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == (True, 1)
    cache.put("c", 3)  # "b" was used least recently
    assert cache.get("b") == (False, None) and len(cache) == 2
    now[0] = 9.9
    assert cache.get("a") == (True, 1)
    now[0] = 10.0
    assert cache.get("a") == (False, None)
    off: LookupCache[str, int] = LookupCache(0, 5, lambda: now[0])
    off.put("a", 1)
    assert off.get("a") == (False, None)


def test_a_store_without_a_directory_always_asks_for_a_pin() -> None:
    from otpgate.accounts.pin_policy import PinPolicy
    from otpgate.accounts.selfservice import SelfService
    from otpgate.login.pins import FAST_TEST_HASHER
    from otpgate.otp.tokens import parse_token_type
    from otpgate.store.memory import MemoryStore

    service = SelfService(MemoryStore(), policy=PinPolicy(), hasher=FAST_TEST_HASHER)
    assert service.asks_pin
    link = service.invite("alice", parse_token_type("HOTP/T30"), expires_in=60, reset=False, now=0)
    with pytest.raises(ValueError, match="a PIN must be chosen"):
        service.skip_pin(link, 1)


def test_ranged_values_as_active_directory_sends_a_large_group() -> None:
    from otpgate.directory.entries import ranged

    assert ranged({"member": [b"a", b"b"]}, "member") == ([b"a", b"b"], None)
    assert ranged({"Member;Range=0-1499": [b"a"]}, "member") == ([b"a"], 1500)
    assert ranged({"member;range=1500-*": [b"b"]}, "member") == ([b"b"], None)
    assert ranged({"memberOf": [b"x"]}, "member") == ([], None)  # another attribute
    assert ranged({"member;range=0-junk": [b"a"]}, "member") == ([b"a"], None)
