"""The throttle, shared: per-process tables plus one shared backoff table.

Every failure is counted twice: in this process's
:class:`~otpgate.throttle.Throttle` and in the shared table (Redis).  A pair
waits for the longer of the two answers, so guesses spread over processes
and hosts meet one backoff, and while the shared table is away each process
still throttles what it sees itself (the fallback costs nothing to switch
to: it was counting all along).

The request path's check from memory (:meth:`SharedThrottle.peek`, used by
``Authenticator.check_cached`` on the event loop) never waits for the
network: it reads the local table and the waits this process has already
learned from the shared one.  Anything it lets through reaches
``Authenticator.decide`` in a worker thread, which asks the shared table.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from ..settings import AuthSettings
from ..throttle import Throttle
from .base import Backoff, SharedState

__all__ = ["SharedThrottle", "build_throttle"]

TABLE: Final = "throttle"


class SharedThrottle:
    """The :class:`~otpgate.throttle.Throttle` interface over a local and a shared table.

    Args:
        local: this process's table (its settings are the rule).
        state: where the shared table lives.
    """

    def __init__(self, local: Throttle, state: SharedState) -> None:
        self.local = local
        self.state = state
        self.rule = Backoff(local.free_failures, local.base, local.cap)
        self._lock = threading.Lock()
        # Pair -> blocked-until learned from the shared table; bounded like the local table.
        self._learned: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self.local)

    def _key(self, user: str, ip: str) -> str:
        # The address comes first and holds no "|": the key is unambiguous.
        return f"{self.local.address(ip)}|{user}"

    def _learn(self, key: str, until: float) -> None:
        with self._lock:
            self._learned[key] = until
            self._learned.move_to_end(key)
            while len(self._learned) > self.local.max_entries:
                self._learned.popitem(last=False)

    def peek(self, user: str, ip: str, now: float) -> float | None:
        """Seconds to wait, from memory only (no network)."""
        local = self.local.retry_after(user, ip, now)
        key = self._key(user, ip)
        with self._lock:
            until = self._learned.get(key)
            if until is not None and now >= until:
                del self._learned[key]
                until = None
        learned = until - now if until is not None else None
        return _longer(local, learned)

    def retry_after(self, user: str, ip: str, now: float) -> float | None:
        """Seconds to wait before this pair may try again, or ``None``."""
        local = self.local.retry_after(user, ip, now)
        key = self._key(user, ip)
        shared = self.state.retry_after(TABLE, key, now)
        if shared is not None:
            self._learn(key, now + shared)
        return _longer(local, shared)

    def failure(self, user: str, ip: str, now: float) -> float | None:
        """Record a failure in both tables; return the longer backoff it started."""
        local = self.local.failure(user, ip, now)
        key = self._key(user, ip)
        shared = self.state.failure(TABLE, key, now, self.rule)
        if shared is not None:
            self._learn(key, now + shared)
        return _longer(local, shared)

    def success(self, user: str, ip: str) -> None:
        """Forget the pair's failures, here and in the shared table."""
        self.local.success(user, ip)
        key = self._key(user, ip)
        with self._lock:
            self._learned.pop(key, None)
        self.state.clear(TABLE, key)

    def failures(self, user: str, ip: str) -> int:
        return self.local.failures(user, ip)

    def blocked(self, now: float) -> dict[str, float]:
        return self.local.blocked(now)


def _longer(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def build_throttle(settings: AuthSettings, state: SharedState) -> Throttle | SharedThrottle:
    """The Authenticator's throttle: its own table, shared through ``state`` if that shares."""
    local = Throttle(
        settings.throttle_free_failures,
        settings.throttle_base,
        settings.throttle_max,
        max(settings.throttle_size, 1),
        settings.throttle_ipv6_prefix,
        settings.throttle_names_per_address,
    )
    return SharedThrottle(local, state) if state.shared else local
