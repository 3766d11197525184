"""Shared state between gate processes and hosts: ``[state] url`` picks where.

* not set (the default): in the process (:class:`LocalState`);
* ``redis://host:port/db``: in Redis (:class:`~otpgate.state.redis.RedisState`);
* ``sqlite:///PATH``: the throttle in a file the processes of one host share
  (:class:`~otpgate.state.sqlite.SqliteState`).

See docs/scaling.md for what each deployment gets.
"""

from __future__ import annotations

from .base import Backoff, LocalState, SharedState

__all__ = ["Backoff", "LocalState", "SharedState", "one_host_url", "open_state"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
FORMS = "redis://host:port/db (or rediss://, unix://) or sqlite:///PATH"


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
