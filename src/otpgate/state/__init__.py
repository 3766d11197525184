"""Shared state between gate processes and hosts: ``[state] url`` picks where.

* not set (the default): in the process (:class:`LocalState`);
* ``redis://host:port/db``: in Redis (:class:`~otpgate.state.redis.RedisState`);
* ``sqlite:///PATH``: the throttle in a file the processes of one host share
  (:class:`~otpgate.state.sqlite.SqliteState`).

See docs/scaling.md for what each deployment gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.state import FORMS, REDIS_SCHEMES
from .base import Backoff, LocalState, SharedState

if TYPE_CHECKING:
    from ..config.loader import Config

__all__ = [
    "Backoff",
    "LocalState",
    "SharedState",
    "one_host_url",
    "open_shared",
    "open_state",
    "shared_digest_key",
]


def open_state(url: str | None, key_prefix: str = "otpgate:", timeout: float = 0.25) -> SharedState:
    """The shared state a ``[state] url`` names.

    Raises:
        ConfigError: an unknown kind of URL, or Redis without redis-py.
    """
    from ..errors import ConfigError

    if not url or url in ("local", "local:"):
        return LocalState()
    if url.startswith(REDIS_SCHEMES):
        from .redis import RedisState

        return RedisState(url, key_prefix, timeout=timeout)
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteState

        return SqliteState(url.removeprefix("sqlite:///"), timeout=timeout)
    raise ConfigError(f"state.url must be {FORMS} or empty")


def open_shared(config: Config) -> tuple[SharedState, bytes | None]:
    """The ``[state]`` the settings name, and the digest key it needs (``None``: a random one).

    Raises:
        ConfigError: a bad URL, or credentials to share but no common key.
    """
    from ..errors import ConfigError

    st = config.state
    state = open_state(st.url, st.key_prefix, st.timeout)
    if not state.shares_credentials:
        return state, None
    try:
        try:
            secrets: list[bytes] | None = config.secrets()
        except ConfigError:
            secrets = None  # the key file may do
        return state, shared_digest_key(secrets, config.store.key_file)
    except BaseException:
        state.close()
        raise


def one_host_url(store_url: str) -> str | None:
    """A throttle file next to a store file (Apache's children), or ``None``.

    ``sqlite:///x/otpgate.db`` -> ``sqlite:///x/otpgate.db.throttle``; the same
    beside a users file.  The store's directory is writable by the gate
    already (SQLite's journal, the users file's rename).
    """
    from ..store import parse_store_url

    kind, target, _ = parse_store_url(store_url)
    if kind not in ("sqlite", "users-file") or not target or target == ":memory:":
        return None
    return f"sqlite:///{target}.throttle"


def shared_digest_key(secrets: list[bytes] | None, key_file: str | None) -> bytes:
    """The key of credential digests every gate sharing a state must agree on.

    Derived from the newest session secret, else from the store's key file;
    never stored or sent anywhere itself.

    Raises:
        ConfigError: neither is configured, or the key file is unreadable.
    """
    import hashlib
    import hmac
    from pathlib import Path

    from ..errors import ConfigError

    if secrets:
        material = secrets[-1]
    elif key_file:
        try:
            material = Path(key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {key_file}: {exc.strerror}") from None
    else:
        raise ConfigError(
            "state.url: the gates sharing it need a common key: set "
            "web.session_secret_file (or web.session_secrets) or store.key_file"
        )
    return hmac.digest(material, b"otpgate shared credential digests v1", hashlib.sha256)
