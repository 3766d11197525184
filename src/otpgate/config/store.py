"""The ``[store]`` table: where users and tokens live."""

from __future__ import annotations

from dataclasses import dataclass

from .schema import Section

__all__ = ["StoreConfig"]


@dataclass(frozen=True, slots=True)
class StoreConfig(Section):
    """Where users and tokens live.

    Attributes:
        url: ``sqlite:///PATH``, ``users-file:PATH``, ``postgresql://...`` or ``memory:``
            (checked by :func:`otpgate.store.parse_store_url` when it is opened).
        key_file: the file holding the key that encrypts token secrets at rest.
    """

    url: str = "sqlite:///otpgate.db"
    key_file: str | None = None
