"""Settings and an Authenticator in front of the test's slapd."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from otpgate.config.auth import AuthSettings
from otpgate.directory.settings import DirectorySettings
from otpgate.login.authenticator import Authenticator
from otpgate.login.directory import with_directory
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import generate
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from slapd_proc import AD_BASE, LDAP_BASE, SERVICE_PW, OwnSlapd

KEY = bytes(range(1, 21))
NOW = 1_700_000_010.0
IP = "192.0.2.1"
TOTP = parse_token_type("HOTP/T30")


def password_file(slapd: OwnSlapd) -> str:
    path = slapd.directory / "bind.pw"
    path.write_text(SERVICE_PW + "\n")
    path.chmod(0o600)
    return str(path)


def openldap(slapd: OwnSlapd, **changes: Any) -> DirectorySettings:
    """OpenLDAP: uid, entryUUID, disabled by employeeType, the otp-users group."""
    settings = DirectorySettings(
        url=(slapd.url,),
        ca_file=str(slapd.tls.ca_file),
        bind_dn=f"cn=otpgate,ou=services,{LDAP_BASE}",
        bind_password_file=password_file(slapd),
        base_dn=LDAP_BASE,
        user_filter="(objectClass=inetOrgPerson)",
        login_attribute="uid",
        user_group=f"cn=otp-users,ou=groups,{LDAP_BASE}",
        admin_group=f"cn=otp-admins,ou=groups,{LDAP_BASE}",
        disabled_filter="(employeeType=disabled)",
        cache_ttl=0,
    )
    return dataclasses.replace(settings, **changes)


def active_directory(slapd: OwnSlapd, **changes: Any) -> DirectorySettings:
    """The AD look-alike: sAMAccountName, objectGUID, userAccountControl, nested groups."""
    settings = DirectorySettings(
        url=(slapd.ldaps_url,),
        ca_file=str(slapd.tls.ca_file),
        bind_dn=f"cn=otpgate,ou=services,{AD_BASE}",
        bind_password_file=password_file(slapd),
        base_dn=AD_BASE,
        user_filter="(objectClass=adUser)",
        login_attribute="sAMAccountName",
        user_group=f"cn=otp-users,ou=groups,{AD_BASE}",
        admin_group=f"cn=otp-admins,ou=groups,{AD_BASE}",
        cache_ttl=0,
    )
    return dataclasses.replace(settings, **changes)


class Gate:
    """An Authenticator over a memory store, with the directory hook, and a clock to move.

    ``state``: where failed password binds are counted (the Authenticator's
    own throttle and budget stay in the process).
    """

    def __init__(self, settings: DirectorySettings, state: Any = None, **auth: Any) -> None:
        self.now = NOW
        self.inner = MemoryStore()
        rules = AuthSettings(**auth)
        store, checker, rules = with_directory(self.inner, settings, rules, None, state)
        self.store: Any = store
        self.checker: Any = checker
        self.auth = Authenticator(store, rules, pin_checker=checker, clock=lambda: self.now)

    def enrol(self, name: str, pin: str = "") -> None:
        stored = Pin("plain", pin) if pin else Pin("none")
        self.store.add(UserRecord(name, TOTP, KEY, stored))

    def code(self, step: int = 0) -> str:
        return generate(Token(TOTP, KEY), now=self.now + 30 * step)

    def login(self, name: str, password: str, ip: str = IP) -> Any:
        return self.auth.login(self.auth.attempt(name, password, ip), now=self.now)

    def next_step(self) -> None:
        self.now += 30

    def close(self) -> None:
        self.auth.close()


def write_config(where: Path, settings: DirectorySettings, extra: str = "") -> Path:
    """A TOML configuration: an SQLite store in ``where``, a session secret, ``[directory]``."""
    lines = [
        "[store]",
        f'url = "sqlite:///{where}/otpgate.db"',
        "",
        "[web]",
        'portal_url = "https://auth.example.org"',
        'session_secrets = ["0123456789abcdef0123456789abcdef"]',
        "cookie_secure = false",
        "",
        "[directory]",
    ]
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if value is None or value == field.default:
            continue
        if isinstance(value, tuple):
            lines.append(f"{field.name} = [{', '.join(repr_toml(v) for v in value)}]")
        else:
            lines.append(f"{field.name} = {repr_toml(value)}")
    path = where / "otpgate.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    path.chmod(0o600)
    return path


def repr_toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
