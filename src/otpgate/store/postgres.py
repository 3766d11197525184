"""``postgresql://...`` (being written)."""

from __future__ import annotations

from ..crypto import KeyRing
from ..errors import ConfigError
from .base import Store

__all__ = ["PostgresStore"]


def PostgresStore(target: str, keys: KeyRing, *, url: str) -> Store:
    """Not available yet.

    Raises:
        ConfigError: always.
    """
    raise ConfigError(f"PostgreSQL stores are not available yet ({url})")
