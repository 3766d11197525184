"""Gate settings: a TOML file, environment overrides and the mod_authn_otp names.

A configuration file has up to four tables::

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

Every setting can be overridden by an environment variable named
``OTPGATE_<TABLE>_<SETTING>`` (``OTPGATE_WEB_COOKIE_SECURE=false``), and an
optional ``[mod_authn_otp]`` table (or :func:`otpgate.adapters.apache.provider`'s keyword
arguments) accepts the reference module's directive names, translated by
:data:`~otpgate.config.directives.DIRECTIVES`.  Unknown names and bad values are all
reported together in one :class:`ConfigError`.

The ``[auth]`` table is :class:`~otpgate.config.auth.AuthSettings` itself: every
field but ``policy`` and ``max_password`` is a setting, and the policy's
``look_ahead``, ``window``, ``max_drift`` and ``accept_hex`` sit flat in the
table.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import secrets
import stat
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..directory.settings import DirectorySettings
from ..errors import ConfigError
from ..otp.verify import Policy
from ._values import convert
from .auth import AuthSettings
from .directives import DIRECTIVES, apply_directives
from .state import StateSettings
from .web import WebConfig, check_web

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DIRECTIVES",
    "ENV_PREFIX",
    "Config",
    "StoreConfig",
    "WebConfig",
    "apply_directives",
    "load_config",
    "new_secret",
    "replace_section",
    "secret_mode_problem",
]

DEFAULT_CONFIG_PATH: Final = "/etc/otpgate/otpgate.toml"
ENV_PREFIX: Final = "OTPGATE_"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where users and tokens live.

    Attributes:
        url: ``sqlite:///PATH``, ``users-file:PATH``, ``postgresql://...`` or ``memory:``.
        key_file: the file holding the key that encrypts token secrets at rest.
    """

    url: str = "sqlite:///otpgate.db"
    key_file: str | None = None


# The [auth] table is AuthSettings itself, with the Policy's settings flat in it.
_POLICY_KEYS: Final = ("look_ahead", "window", "max_drift", "accept_hex")
# AuthSettings fields that are not settings of the file: the policy is built
# from the flat keys; the password limit is every front end's (_limits).
_NOT_SETTINGS: Final = frozenset({"policy", "max_password"})


@dataclass(frozen=True, slots=True)
class Config:
    """All settings.  Build with :func:`load_config`.

    ``auth`` is the Authenticator's own :class:`~otpgate.config.auth.AuthSettings`.
    """

    store: StoreConfig = StoreConfig()
    auth: AuthSettings = AuthSettings()
    web: WebConfig = WebConfig()
    state: StateSettings = StateSettings()
    directory: DirectorySettings = DirectorySettings()
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
            lines = _read_private_lines(self.web.session_secret_file, "web.session_secret_file")
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
            keys += _read_private_lines(self.web.api_keys_file, "web.api_keys_file")
        return keys

    def trusted_networks(self) -> list[Network]:
        return _networks(self.web.trusted_proxies, "web.trusted_proxies")

    def metrics_networks(self) -> list[Network]:
        return _networks(self.web.metrics_allow, "web.metrics_allow")


def secret_mode_problem(mode: int) -> str | None:
    """What is wrong with a file of secrets at this mode, else ``None``.

    Nothing for other users; the group may read (``root:otpgate 0640``, a
    gate and FreeRADIUS sharing a group) but not write: whoever writes a
    session secret or an API key file chooses the secret.  Said as it is:
    0660 is not "accessible to other users".
    """
    bits = stat.S_IMODE(mode)
    if bits & stat.S_IRWXO:
        return (
            f"is mode {bits:04o}: other users may read or change it; chmod 0600 "
            "(or 0640 for the gate's group)"
        )
    if bits & stat.S_IWGRP:
        return (
            f"is mode {bits:04o}: its group may change it, and so choose the secret; "
            "chmod 0640 (reading is all the group needs)"
        )
    return None


def _read_private_lines(path: str, setting: str) -> list[str]:
    """The lines of a file of secrets, refused if other users could read or change it.

    Whoever reads a session secret can sign a cookie for any user; whoever
    can write it (or an API key file) picks the secret.  So, like the store's
    key file (:func:`otpgate.store.crypto.load_key_file`), nothing for others and
    no group write; group read stays allowed (``root:otpgate 0640``).

    Raises:
        ConfigError: unreadable, or open to others (:func:`secret_mode_problem`).
    """
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None
    problem = secret_mode_problem(mode)
    if problem:
        raise ConfigError(f"{setting}: {path} {problem}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{setting}: {path} is not UTF-8 text") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _networks(values: tuple[str, ...], name: str) -> list[Network]:
    nets: list[Network] = []
    bad = []
    for v in values:
        try:
            nets.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            bad.append(v)
    if bad:
        raise ConfigError(f"{name}: not an address or network: {', '.join(bad)}")
    return nets


def new_secret() -> str:
    """A fresh session or API secret (URL-safe text, 256 bits)."""
    return secrets.token_urlsafe(32)


# --- loading -------------------------------------------------------------------------

_SECTIONS: Final[dict[str, type[Any]]] = {
    "store": StoreConfig,
    "auth": AuthSettings,
    "web": WebConfig,
    "state": StateSettings,
    "directory": DirectorySettings,
}


@functools.cache
def _settings(section: str) -> dict[str, Any]:
    """The settings a table accepts, with their types."""
    hints = typing.get_type_hints(_SECTIONS[section])
    if section != "auth":
        return hints
    policy = typing.get_type_hints(Policy)
    return {n: h for n, h in hints.items() if n not in _NOT_SETTINGS} | {
        n: policy[n] for n in _POLICY_KEYS
    }


def _build(section: str, given: Mapping[str, Any]) -> object:
    """One table's settings object.

    Raises:
        ValueError: a value is out of range (the settings check themselves).
    """
    if section != "auth":
        return _SECTIONS[section](**given)
    policy = Policy(**{n: v for n, v in given.items() if n in _POLICY_KEYS})
    rest = {n: v for n, v in given.items() if n not in _POLICY_KEYS}
    return AuthSettings(policy=policy, **rest)


def _apply(
    values: dict[str, dict[str, object]],
    section: str,
    name: str,
    raw: object,
    from_text: bool,
    where: str,
    problems: list[str],
) -> None:
    hints = _settings(section)
    if name not in hints:
        problems.append(f"{where}: unknown setting {section}.{name}")
        return
    try:
        values.setdefault(section, {})[name] = convert(raw, hints[name], from_text)
    except ValueError as exc:
        problems.append(f"{where}: {section}.{name}: {exc}")


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
    values: dict[str, dict[str, object]] = {}
    problems: list[str] = []
    if path is not None:
        _read_file(path, values, problems)
    if directives:
        apply_directives(values, directives, "directives", problems)
    _read_env(os.environ if env is None else env, values, problems)
    for section, table in (overrides or {}).items():
        for name, raw in table.items():
            _apply(values, section, name, raw, False, "command line", problems)
    parts: dict[str, object] = {}
    for section, cls in _SECTIONS.items():
        try:
            parts[section] = _build(section, values.get(section, {}))
        except (TypeError, ValueError) as exc:
            problems.append(f"[{section}]: {exc}")
            parts[section] = cls()  # so that the cross-field rules still run
    config = Config(path=str(path) if path is not None else None, **parts)  # type: ignore[arg-type]
    _check(config, problems)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return config


def _read_file(
    path: str | os.PathLike[str], values: dict[str, dict[str, object]], problems: list[str]
) -> None:
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
            apply_directives(values, compat, where, problems)
        else:
            problems.append(f"{where}: [mod_authn_otp] must be a table")
    for section, table in data.items():
        if section not in _SECTIONS:
            problems.append(f"{where}: unknown table [{section}]")
            continue
        if not isinstance(table, dict):
            problems.append(f"{where}: [{section}] must be a table")
            continue
        for name, raw in table.items():
            _apply(values, section, name, raw, False, where, problems)


def _read_env(
    env: Mapping[str, str], values: dict[str, dict[str, object]], problems: list[str]
) -> None:
    """``OTPGATE_<TABLE>_<SETTING>`` variables."""
    for key, raw in sorted(env.items()):
        if not key.startswith(ENV_PREFIX) or key == "OTPGATE_CONFIG" or key == "OTPGATE_HOME":
            continue
        section, _, name = key[len(ENV_PREFIX) :].lower().partition("_")
        if section == "store" and not name:
            name = "url"  # OTPGATE_STORE, as every command's --store, names the store URL
        if section not in _SECTIONS:
            continue  # other tools' OTPGATE_* variables (tests, CI) are not ours to judge
        _apply(values, section, name, raw, True, key, problems)


def _check(config: Config, problems: list[str]) -> None:
    """Cross-field rules."""
    check_web(config.web, problems)
    for getter in (config.trusted_networks, config.metrics_networks):
        try:
            getter()
        except ConfigError as exc:
            problems.append(str(exc))


def replace_section(config: Config, section: str, **changes: object) -> Config:
    """A copy of ``config`` with some settings of one table changed (tests, CLI)."""
    part = dataclasses.replace(getattr(config, section), **changes)
    return dataclasses.replace(config, **{section: part})
