"""Single-use values that expire (WebAuthn challenges), shared through the ``[state]``.

A challenge is made by one request and answered by the next, which may reach
another worker or host.  With Redis (``[state] url = "redis://..."``) every
process finds it there, and ``GETDEL`` hands it to one taker only; with the
one-host file (``sqlite:///``, what ``serve --workers N`` uses by default)
every worker of the host finds it, ``DELETE ... RETURNING`` handing it to one;
otherwise it lives in this process's memory (one process).  Either way a value is taken once, and
not after its ``expires`` time; a value that cannot be kept (Redis away) is
reported, so the caller refuses instead of issuing a challenge nobody can
check.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Final, Protocol, runtime_checkable

from .base import SharedState

__all__ = ["Challenges", "OnceStore"]

# Pending challenges kept in one process at most; the oldest go first.
MAX_LOCAL: Final = 10_000


@runtime_checkable
class OnceStore(Protocol):
    """A shared state that keeps single-use values (Redis, the one-host file)."""

    def put_once(self, key: str, value: bytes, ttl: float) -> bool: ...

    def take_once(self, key: str) -> bytes | None: ...


class Challenges:
    """Single-use values by random handle, for ``ttl`` seconds.

    Args:
        state: the ``[state]``; one that keeps single-use values shares them.
        ttl: seconds a value can be taken after it was put.
    """

    def __init__(self, state: SharedState, ttl: float = 120.0) -> None:
        self.ttl = ttl
        self._shared = state if isinstance(state, OnceStore) else None
        self._lock = threading.Lock()
        self._local: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    @property
    def shared(self) -> bool:
        """Whether other processes find the values (Redis)."""
        return self._shared is not None

    def put(self, value: bytes, now: float) -> str | None:
        """Keep ``value`` until ``now + ttl``; its new handle, or ``None`` if it cannot be kept."""
        handle = secrets.token_urlsafe(18)
        stamped = repr(now + self.ttl).encode() + b"|" + value
        if self._shared is not None:
            return handle if self._shared.put_once(handle, stamped, self.ttl) else None
        with self._lock:
            self._local[handle] = (now + self.ttl, stamped)
            while len(self._local) > MAX_LOCAL:
                self._local.popitem(last=False)
        return handle

    def take(self, handle: str, now: float) -> bytes | None:
        """The value of ``handle`` if it is still there and not expired; gone either way."""
        if not isinstance(handle, str) or not 0 < len(handle) <= 64:
            return None
        if self._shared is not None:
            stamped = self._shared.take_once(handle)
        else:
            with self._lock:
                entry = self._local.pop(handle, None)
            stamped = entry[1] if entry is not None else None
        if stamped is None:
            return None
        expires, _, value = stamped.partition(b"|")
        try:
            alive = now < float(expires)
        except ValueError:
            return None
        return value if alive else None
