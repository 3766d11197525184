"""Shared state between gate processes and hosts: ``[state] url`` picks where.

* not set (the default): in the process (:class:`LocalState`);
* ``redis://host:port/db``: in Redis (:class:`~otpgate.state.redis.RedisState`).

See docs/scaling.md for what each deployment gets.
"""

from __future__ import annotations

from .base import Backoff, LocalState, SharedState

__all__ = ["Backoff", "LocalState", "SharedState", "open_state"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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
    raise ConfigError("state.url must be redis://host:port/db (or rediss://, unix://) or empty")
