"""``users-file:/PATH``: mod_authn_otp's users file (being written)."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Store

__all__ = ["UsersFileStore"]


def UsersFileStore(path: str, *, url: str) -> Store:
    """Not available yet.

    Raises:
        ConfigError: always.
    """
    raise ConfigError(f"users-file stores are not available yet ({url})")
