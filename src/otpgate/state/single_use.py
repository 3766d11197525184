"""Entries taken at most once: kept in this process, for a state that shares nothing.

A challenge's transaction (:mod:`otpgate.web.privacyidea`) is written once
and must be taken once, by whichever request comes first; a shared backend
does this atomically on its server (Redis ``GETDEL``, SQLite ``DELETE ...
RETURNING``), this class under a lock.
"""

from __future__ import annotations

import threading
from typing import Final

__all__ = ["MAX_SINGLE_USE", "SingleUse"]

# Entries kept at most; a flood of new ones drops the oldest (which then
# simply fail, as an expired one does), so memory stays bounded.
MAX_SINGLE_USE: Final = 100_000


class SingleUse:
    """Values under digests, each taken at most once, until it expires; thread-safe.

    Args:
        limit: entries kept at most (the oldest go first).
    """

    def __init__(self, limit: int = MAX_SINGLE_USE) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._entries: dict[bytes, tuple[bytes, float]] = {}

    def put(self, digest: bytes, value: bytes, ttl: float, now: float) -> bool:
        """Keep ``value`` until ``now + ttl`` (a digest given twice keeps the newer value)."""
        with self._lock:
            if len(self._entries) >= self._limit:
                self._prune(now)
            self._entries.pop(digest, None)  # re-inserted last: the newest
            self._entries[digest] = (value, now + ttl)
        return True

    def take(self, digest: bytes, now: float) -> bytes | None:
        """The value under ``digest``, removed; ``None`` if there is none or it expired."""
        with self._lock:
            found = self._entries.pop(digest, None)
        if found is None or found[1] <= now:
            return None
        return found[0]

    def __len__(self) -> int:
        return len(self._entries)

    def _prune(self, now: float) -> None:
        """Drop the expired entries, then the oldest until there is room (the lock is held)."""
        for key in [k for k, (_, until) in self._entries.items() if until <= now]:
            del self._entries[key]
        while len(self._entries) >= self._limit:
            del self._entries[next(iter(self._entries))]
