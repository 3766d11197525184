"""Gate settings: a TOML file, environment overrides and the mod_authn_otp names.

A configuration file has three tables::

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

Every setting can be overridden by an environment variable named
``OTPGATE_<TABLE>_<SETTING>`` (``OTPGATE_WEB_COOKIE_SECURE=false``), and an
optional ``[mod_authn_otp]`` table (or Apache ``SetEnv``) accepts the reference
module's directive names, translated by :data:`DIRECTIVES`.  Unknown names and
bad values are all reported together in one :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import stat
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .auth import AuthSettings
from .errors import ConfigError
from .verify import Policy

if TYPE_CHECKING:
    from .auth import Authenticator

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DIRECTIVES",
    "AuthConfig",
    "Config",
    "StoreConfig",
    "WebConfig",
    "load_config",
    "open_authenticator",
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


# The settings' defaults live with the code that uses them; the config mirrors them.
_POLICY: Final = Policy()
_AUTH: Final = AuthSettings()


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The login rules; see :class:`otpgate.auth.AuthSettings` for their meaning.

    ``look_ahead`` and ``window`` together are ``OTPAuthMaxOffset``;
    ``pin_provider`` is ``OTPAuthPINAuthProvider`` (``htpasswd:/path``).
    """

    look_ahead: int = _POLICY.look_ahead
    window: int = _POLICY.window
    max_drift: int = _POLICY.max_drift
    accept_hex: bool = _POLICY.accept_hex
    max_linger: float = _AUTH.max_linger
    max_idle: float | None = _AUTH.max_idle
    logout_on_ip_change: bool = _AUTH.logout_on_ip_change
    max_otp_failures: int = _AUTH.max_otp_failures
    failure_unlock_after: float = _AUTH.failure_unlock_after
    throttle_free_failures: int = _AUTH.throttle_free_failures
    throttle_base: float = _AUTH.throttle_base
    throttle_max: float = _AUTH.throttle_max
    fall_through: bool = _AUTH.fall_through
    throttle_ipv6_prefix: int = _AUTH.throttle_ipv6_prefix
    state_ttl: float = _AUTH.state_ttl
    cache_size: int = _AUTH.cache_size
    throttle_size: int = _AUTH.throttle_size
    audit_linger: bool = _AUTH.audit_linger
    pin_provider: str | None = None
    audit_log: str | None = None


_POLICY_FIELDS: Final = tuple(
    f.name for f in dataclasses.fields(AuthConfig) if f.name in Policy.__dataclass_fields__
)
_AUTH_FIELDS: Final = tuple(
    f.name
    for f in dataclasses.fields(AuthConfig)
    if f.name in AuthSettings.__dataclass_fields__ and f.name != "policy"
)


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The HTTP front ends.

    Attributes:
        listen: ``HOST:PORT`` for ``otpgate serve``.
        realm: the Basic realm shown by browsers.
        instance: the name that keeps this gate's sessions apart from another
            gate's with the same session secret; default: the realm and the
            store's location (see :func:`otpgate.web.gate.instance_name`).
        portal: redirect browsers without credentials to the login page.
        portal_url: the login portal's public base URL (``https://auth.example.com``
            or a path such as ``/otpgate`` on the protected site); forward-auth
            redirects point to ``<portal_url>/login``.
        redirect_status: 302 (Traefik, Caddy) or 401 with ``Location`` (nginx);
            ``/auth?redirect=302|401|off`` overrides it per proxy.
        trusted_proxies: addresses or networks whose ``X-Forwarded-*`` and
            ``X-Original-URL`` headers are believed; everyone else's are ignored.
        allowed_hosts: hosts a login may return to (``.example.com`` also
            matches its subdomains); the portal's own host always is.
        session_secrets: cookie signing secrets, newest last (older ones still
            verify, so secrets can be rotated); every gate process sharing
            sessions needs the same list.
        session_secret_file: a file with one secret per line, newest last.
        cookie_name: the session cookie.
        cookie_domain: set to share sessions between subdomains.
        cookie_secure: mark cookies ``Secure``; only turn off for plain-HTTP tests.
        session_lifetime: seconds a login-page session lasts; ``None`` means the
            linger setting (``auth.max_linger``), or twelve hours with ``max_idle``.
        api_keys: keys accepted by ``POST /api/v1/check``.
        api_keys_file: a file with one API key per line.
        max_body: the largest request body read, in bytes.
        metrics_allow: networks that may read ``/metrics``.
        title: the heading on the login page.
        demo: serve a demo page at ``/demo/`` that needs a login.
    """

    listen: str = "127.0.0.1:9090"
    realm: str = "otpgate"
    instance: str = ""
    portal: bool = True
    portal_url: str = ""
    redirect_status: int = 302
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    allowed_hosts: tuple[str, ...] = ()
    session_secrets: tuple[str, ...] = field(default=(), repr=False)
    session_secret_file: str | None = None
    cookie_name: str = "otpgate_session"
    cookie_domain: str | None = None
    cookie_secure: bool = True
    session_lifetime: float | None = None
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    api_keys_file: str | None = None
    max_body: int = 8192
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    title: str = "otpgate"
    demo: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    """All settings.  Build with :func:`load_config`."""

    store: StoreConfig = StoreConfig()
    auth: AuthConfig = AuthConfig()
    web: WebConfig = WebConfig()
    path: str | None = None

    def auth_settings(self) -> AuthSettings:
        """The Authenticator's settings."""
        a = self.auth
        policy = Policy(**{n: getattr(a, n) for n in _POLICY_FIELDS})
        return AuthSettings(policy=policy, **{n: getattr(a, n) for n in _AUTH_FIELDS})

    def session_lifetime(self) -> float:
        """Seconds a login-page session lasts at most (the absolute limit)."""
        if self.web.session_lifetime is not None:
            return self.web.session_lifetime
        if self.auth.max_idle is not None:
            return 12 * 3600.0
        # Linger 0 (every request needs a fresh OTP) cannot be a session length.
        return self.auth.max_linger if self.auth.max_linger > 0 else 600.0

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


def _read_private_lines(path: str, setting: str) -> list[str]:
    """The lines of a file of secrets, refused if other users could read or change it.

    Whoever reads a session secret can sign a cookie for any user; whoever
    can write it (or an API key file) picks the secret.  So, like the store's
    key file (:func:`otpgate.crypto.load_key_file`), nothing for others and
    no group write; group read stays allowed (``root:otpgate 0640``).

    Raises:
        ConfigError: unreadable, or accessible to others.
    """
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXO | stat.S_IWGRP):
        raise ConfigError(
            f"{setting}: {path} is accessible to other users (mode "
            f"{stat.S_IMODE(mode):04o}); chmod 600 it"
        )
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


# --- mod_authn_otp names --------------------------------------------------------------


def _seconds(value: str) -> float:
    return float(value)


def _idle(value: str) -> float | None:
    number = float(value)
    return number if number > 0 else None


def _onoff(value: str) -> bool:
    return _parse_bool(value)


# Each reference directive -> the otpgate settings it sets, with a converter
# from the directive's text.  Apache's OTPAuthMaxOffset covered both token
# kinds; otpgate keeps a look-ahead for event and a window for time tokens.
DIRECTIVES: Final[Mapping[str, tuple[tuple[str, str, Callable[[str], Any]], ...]]] = {
    "OTPAuthUsersFile": (("store", "url", lambda v: f"users-file:{v}"),),
    "OTPAuthMaxOffset": (("auth", "look_ahead", int), ("auth", "window", int)),
    "OTPAuthMaxLinger": (("auth", "max_linger", _seconds),),
    "OTPAuthMaxIdle": (("auth", "max_idle", _idle),),
    "OTPAuthMaxOTPFailure": (("auth", "max_otp_failures", int),),
    "OTPAuthLogoutOnIPChange": (("auth", "logout_on_ip_change", _onoff),),
    "OTPAuthFallThrough": (("auth", "fall_through", _onoff),),
    "OTPAuthPINAuthProvider": (("auth", "pin_provider", str),),
}


# --- loading -------------------------------------------------------------------------

_SECTIONS: Final[dict[str, type[Any]]] = {
    "store": StoreConfig,
    "auth": AuthConfig,
    "web": WebConfig,
}


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected on/off, true/false, not {text!r}")


def _convert(value: object, hint: Any, from_text: bool) -> object:
    """Check (TOML) or parse (environment text) one value against a type hint."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (from_text and str(value).strip().lower() in ("", "none", "off")):
            return None
        return _convert(value, args[0], from_text)
    if origin is tuple:
        if from_text:
            assert isinstance(value, str)
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    if hint is bool:
        if from_text:
            return _parse_bool(str(value))
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if hint is int:
        if from_text:
            return int(str(value))
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected a whole number")
        return value
    if hint is float:
        if from_text:
            return float(str(value))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    raise TypeError(f"unsupported setting type {hint!r}")  # a programming error


def _apply(
    values: dict[str, dict[str, object]],
    section: str,
    name: str,
    raw: object,
    from_text: bool,
    where: str,
    problems: list[str],
) -> None:
    cls = _SECTIONS[section]
    hints = typing.get_type_hints(cls)
    if name not in hints:
        problems.append(f"{where}: unknown setting {section}.{name}")
        return
    try:
        values.setdefault(section, {})[name] = _convert(raw, hints[name], from_text)
    except ValueError as exc:
        problems.append(f"{where}: {section}.{name}: {exc}")


def apply_directives(
    values: dict[str, dict[str, object]],
    directives: Mapping[str, object],
    where: str,
    problems: list[str],
) -> None:
    """Translate mod_authn_otp directive names into otpgate settings."""
    for directive, raw in directives.items():
        targets = DIRECTIVES.get(directive)
        if targets is None:
            problems.append(f"{where}: unknown directive {directive}")
            continue
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
        for section, name, parse in targets:
            try:
                values.setdefault(section, {})[name] = parse(text)
            except ValueError:
                problems.append(f"{where}: {directive}: bad value {text!r}")


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    directives: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> Config:
    """Read the settings.

    Precedence, lowest first: defaults, the TOML file (its ``[mod_authn_otp]``
    table, then its own tables), ``directives`` (Apache ``SetEnv OTPAuth...``),
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
    env = os.environ if env is None else env
    values: dict[str, dict[str, object]] = {}
    problems: list[str] = []
    if path is not None:
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
    if directives:
        apply_directives(values, directives, "directives", problems)
    for key, raw in sorted(env.items()):
        if not key.startswith(ENV_PREFIX) or key == "OTPGATE_CONFIG" or key == "OTPGATE_HOME":
            continue
        section, _, name = key[len(ENV_PREFIX) :].lower().partition("_")
        if section == "store" and not name:
            name = "url"  # OTPGATE_STORE, as every command's --store, names the store URL
        if section not in _SECTIONS:
            continue  # other tools' OTPGATE_* variables (tests, CI) are not ours to judge
        _apply(values, section, name, raw, True, key, problems)
    for section, table in (overrides or {}).items():
        for name, raw in table.items():
            _apply(values, section, name, raw, False, "command line", problems)
    parts: dict[str, object] = {}
    for section, cls in _SECTIONS.items():
        try:
            parts[section] = cls(**values.get(section, {}))
        except (TypeError, ValueError) as exc:
            problems.append(f"[{section}]: {exc}")
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    config = Config(path=str(path) if path is not None else None, **parts)  # type: ignore[arg-type]
    _check(config, problems)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return config


def _check(config: Config, problems: list[str]) -> None:
    """Cross-field rules."""
    a, w = config.auth, config.web
    # The Authenticator checks its own numbers; report them with the rest.
    # (max_idle, when set, replaces max_linger, as OTPAuthMaxIdle does.)
    try:
        config.auth_settings()
    except ValueError as exc:
        problems.append(f"[auth]: {exc}")
    if not (w.realm.isascii() and w.realm.isprintable()) or '"' in w.realm or "\\" in w.realm:
        # It goes into a WWW-Authenticate header as a quoted string.
        problems.append("web.realm must be printable ASCII without quotes or backslashes")
    if w.redirect_status not in (302, 303, 307, 401):
        problems.append("web.redirect_status must be 302, 303, 307 or 401")
    if w.max_body < 256:
        problems.append("web.max_body must be at least 256 bytes")
    if w.session_lifetime is not None and w.session_lifetime <= 0:
        problems.append("web.session_lifetime must be positive")
    if w.portal_url and not (
        w.portal_url.startswith(("http://", "https://")) or w.portal_url.startswith("/")
    ):
        problems.append("web.portal_url must be an http(s) URL or start with /")
    if a.pin_provider and not a.pin_provider.startswith("htpasswd:"):
        problems.append("auth.pin_provider must be htpasswd:/path/to/file")
    for getter in (config.trusted_networks, config.metrics_networks):
        try:
            getter()
        except ConfigError as exc:
            problems.append(str(exc))


def replace_section(config: Config, section: str, **changes: object) -> Config:
    """A copy of ``config`` with some settings of one table changed (tests, CLI)."""
    part = dataclasses.replace(getattr(config, section), **changes)
    return dataclasses.replace(config, **{section: part})


def open_authenticator(config: Config) -> Authenticator:
    """Open the store, PIN checker and audit log the settings name; build the Authenticator.

    The Authenticator owns what it is given: its ``close()`` closes the store
    and the audit log.

    Raises:
        ConfigError: bad store URL or key file.
        StoreError: the store cannot be opened.
        OSError: the audit log cannot be opened.
    """
    from .audit import AuditLog
    from .auth import Authenticator, HtpasswdChecker
    from .store import open_store

    store = open_store(config.store.url, key_file=config.store.key_file)
    try:
        checker = None
        if config.auth.pin_provider:
            checker = HtpasswdChecker(config.auth.pin_provider.removeprefix("htpasswd:"))
        audit = AuditLog(config.auth.audit_log) if config.auth.audit_log else None
    except BaseException:
        store.close()
        raise
    return Authenticator(store, config.auth_settings(), pin_checker=checker, audit=audit)
