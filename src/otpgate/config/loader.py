"""Gate settings: a TOML file, environment overrides and the mod_authn_otp names.

A configuration file has up to five tables::

    [store]                       # where users and tokens live
    url = "sqlite:////var/lib/otpgate/otpgate.db"
    key_file = "/etc/otpgate/store.key"

    [auth]                        # the login rules (the OTPAuth* directives)
    max_linger = 600
    max_otp_failures = 10

    [web]                         # the HTTP front ends
    portal_url = "https://auth.example.com"
    session_secret_file = "/etc/otpgate/session.secret"
    trusted_proxies = ["127.0.0.1", "::1"]

    [state]                       # optional: what several gates share (Redis)
    url = "redis://127.0.0.1:6379/0"

    [privacyidea]                 # optional: privacyIDEA's validate API
    enabled = true

    [directory]                   # optional: users from LDAP or Active Directory
    url = ["ldaps://dc1.example.com"]

Every setting can be overridden by an environment variable named
``OTPGATE_<TABLE>_<SETTING>`` (``OTPGATE_WEB_COOKIE_SECURE=false``), and an
optional ``[mod_authn_otp]`` table (or :func:`otpgate.adapters.apache.provider`'s keyword
arguments) accepts the reference module's directive names, translated by
:data:`~otpgate.config.directives.DIRECTIVES`.  Each table is one section class
(:class:`Config`'s fields); each setting's kind and rule are declared on its field
(:mod:`otpgate.config.schema`).  Unknown names and bad values are all reported
together in one :class:`ConfigError`, each with where it came from.

The ``[auth]`` table is :class:`~otpgate.config.auth.AuthSettings` itself: every
field but ``policy`` and ``max_password`` is a setting, and the policy's
``look_ahead``, ``window``, ``max_drift`` and ``accept_hex`` sit flat in the
table.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ..errors import ConfigError
from .auth import AuthSettings
from .directives import DIRECTIVES, apply_directives
from .directory import DirectorySettings
from .privacyidea import PrivacyIdeaSettings
from .schema import Section, build, schema
from .secret_files import Network, networks, new_secret, read_private_lines, secret_mode_problem
from .state import StateSettings
from .store import StoreConfig
from .web import WebConfig

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DIRECTIVES",
    "ENV_PREFIX",
    "Config",
    "Network",
    "StoreConfig",
    "WebConfig",
    "load_config",
    "new_secret",
    "replace_section",
    "secret_mode_problem",
]

DEFAULT_CONFIG_PATH: Final = "/etc/otpgate/otpgate.toml"
ENV_PREFIX: Final = "OTPGATE_"


@dataclass(frozen=True, slots=True)
class Config:
    """All settings.  Build with :func:`load_config`.

    Each field made by a :class:`~otpgate.config.schema.Section` class is a table
    of the file, named as the field: adding a table is adding a field here.
    ``auth`` is the Authenticator's own :class:`~otpgate.config.auth.AuthSettings`.
    """

    store: StoreConfig = field(default_factory=StoreConfig)
    auth: AuthSettings = field(default_factory=AuthSettings)
    web: WebConfig = field(default_factory=WebConfig)
    state: StateSettings = field(default_factory=StateSettings)
    privacyidea: PrivacyIdeaSettings = field(default_factory=PrivacyIdeaSettings)
    directory: DirectorySettings = field(default_factory=DirectorySettings)
    path: str | None = None

    def auth_settings(self) -> AuthSettings:
        """The Authenticator's settings (``self.auth``; kept for older callers)."""
        return self.auth

    def session_lifetime(self) -> float:
        """Seconds a login-page session lasts at most (the absolute limit)."""
        return self.web.session_lifetime

    def session_idle(self) -> float | None:
        """Seconds of inactivity that end a login-page session, or ``None``."""
        idle = self.web.session_idle
        return idle if idle else None

    def secrets(self) -> list[bytes]:
        """Session signing secrets, oldest first (newest signs).

        Raises:
            ConfigError: none is configured or the file is unreadable.
        """
        found = [s.encode() for s in self.web.session_secrets if s]
        if self.web.session_secret_file:
            lines = read_private_lines(self.web.session_secret_file, "web.session_secret_file")
            found += [line.encode() for line in lines]
        if not found:
            raise ConfigError(
                "no session secret: set web.session_secret_file (one secret per line) "
                "or web.session_secrets"
            )
        short = [s for s in found if len(s) < 16]
        if short:
            raise ConfigError("session secrets must be at least 16 characters long")
        return found

    def api_keys(self) -> list[str]:
        """API keys for ``POST /api/v1/check``."""
        keys = [k for k in self.web.api_keys if k]
        if self.web.api_keys_file:
            keys += read_private_lines(self.web.api_keys_file, "web.api_keys_file")
        return keys

    def trusted_networks(self) -> list[Network]:
        return networks(self.web.trusted_proxies)

    def metrics_networks(self) -> list[Network]:
        return networks(self.web.metrics_allow)


def _sections() -> dict[str, type[Section]]:
    """The tables: Config's fields made by a section class."""
    found: dict[str, type[Section]] = {}
    for f in dataclasses.fields(Config):
        make = f.default_factory
        if isinstance(make, type) and issubclass(make, Section):
            found[f.name] = make
    return found


SECTIONS: Final[Mapping[str, type[Section]]] = _sections()


class _Reading:
    """The values read so far, each with where it came from, and the problems met."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, tuple[object, str]]] = {}
        self.problems: list[str] = []

    def put(
        self, section: str, name: str, raw: object, where: str, from_text: bool = False
    ) -> None:
        """Read one value of its setting's kind (a later one replaces an earlier)."""
        cls = SECTIONS.get(section)
        if cls is None:
            self.problems.append(f"{where}: unknown table [{section}]")
            return
        one = schema(cls).settings.get(name)
        if one is None:
            self.problems.append(f"{where}: unknown setting {section}.{name}")
            return
        try:
            value = one.read(raw, from_text)
        except ValueError as exc:
            self.problems.append(f"{where}: {section}.{name}: {exc}")
            return
        self.values.setdefault(section, {})[name] = (value, where)

    def section(self, name: str, cls: type[Section]) -> Section:
        """One table's settings: the values that keep their rules, defaults for the rest."""
        settings = schema(cls).settings
        good: dict[str, object] = {}
        for key, (value, where) in self.values.get(name, {}).items():
            problem = settings[key].problem(value)
            if problem:
                self.problems.append(f"{where}: {name}.{key} {problem}")
            else:
                good[key] = value
        section: Section = build(cls, good)
        return section


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    directives: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> Config:
    """Read the settings.

    Precedence, lowest first: defaults, the TOML file (its ``[mod_authn_otp]``
    table, then its own tables), ``directives`` (:func:`otpgate.adapters.apache.provider`),
    ``OTPGATE_*`` environment variables, ``overrides`` (command-line options).

    Args:
        path: the TOML file; ``None`` for none.
        env: the environment (default ``os.environ``).
        directives: mod_authn_otp directive names and values.
        overrides: ``{table: {setting: value}}`` with TOML-typed values.

    Raises:
        ConfigError: the file is unreadable or any setting is unknown or invalid
            (all problems in one message).
    """
    reading = _Reading()
    if path is not None:
        _read_file(path, reading)
    if directives:
        apply_directives(directives, "directives", reading.put, reading.problems)
    _read_env(os.environ if env is None else env, reading)
    for section, table in (overrides or {}).items():
        for name, raw in table.items():
            reading.put(section, name, raw, "command line")
    parts = {name: reading.section(name, cls) for name, cls in SECTIONS.items()}
    if reading.problems:
        raise ConfigError("invalid configuration: " + "; ".join(reading.problems))
    return Config(path=str(path) if path is not None else None, **parts)  # type: ignore[arg-type]


def _read_file(path: str | os.PathLike[str], reading: _Reading) -> None:
    """The TOML file: its ``[mod_authn_otp]`` table first, then its own tables.

    Raises:
        ConfigError: the file cannot be read or is not TOML.
    """
    where = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    compat = data.pop("mod_authn_otp", None)
    if compat is not None:
        if isinstance(compat, dict):
            apply_directives(compat, where, reading.put, reading.problems)
        else:
            reading.problems.append(f"{where}: [mod_authn_otp] must be a table")
    for section, table in data.items():
        if section not in SECTIONS:
            reading.problems.append(f"{where}: unknown table [{section}]")
            continue
        if not isinstance(table, dict):
            reading.problems.append(f"{where}: [{section}] must be a table")
            continue
        for name, raw in table.items():
            reading.put(section, name, raw, where)


def _read_env(env: Mapping[str, str], reading: _Reading) -> None:
    """``OTPGATE_<TABLE>_<SETTING>`` variables."""
    for key, raw in sorted(env.items()):
        if not key.startswith(ENV_PREFIX) or key == "OTPGATE_CONFIG" or key == "OTPGATE_HOME":
            continue
        section, _, name = key[len(ENV_PREFIX) :].lower().partition("_")
        if section == "store" and not name:
            name = "url"  # OTPGATE_STORE, as every command's --store, names the store URL
        if section not in SECTIONS:
            continue  # other tools' OTPGATE_* variables (tests, CI) are not ours to judge
        reading.put(section, name, raw, key, from_text=True)


def replace_section(config: Config, section: str, **changes: object) -> Config:
    """A copy of ``config`` with some settings of one table changed (tests, CLI)."""
    part = dataclasses.replace(getattr(config, section), **changes)
    return dataclasses.replace(config, **{section: part})
