"""Per (user, client address) failure throttling with exponential backoff.

Why per (user, address) and in memory: the reference module's per-user
failure limit lets anyone who knows a user name lock that user out.  Here a
guesser only slows down their own (user, address) pair; the real user, from
another address, is not affected.  Backoff doubles with each failure past a
few free ones and expires on its own; a quiet pair is forgotten.  The table is
bounded (least recently touched entries go first), so spraying many names or
addresses cannot exhaust memory.  Attempts answered from this table cost a
dictionary lookup: no store read, no PIN hash, no write.

IPv6 addresses are counted per /64 network (``ipv6_prefix``): one machine
usually holds a whole /64 and could otherwise take a fresh address, and fresh
free guesses, for every attempt.  IPv4-mapped IPv6 addresses count as their
IPv4 address.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["Throttle"]


@dataclass(slots=True)
class _Entry:
    failures: int
    last_failure: float
    blocked_until: float


class Throttle:
    """Counts failures per key and answers how long a key must wait.

    Args:
        free_failures: failures allowed before backoff starts.
        base: the first backoff in seconds; doubles with each further failure.
        cap: the longest backoff; also how long a quiet entry is remembered.
        max_entries: bound on the table size.
        ipv6_prefix: IPv6 addresses are counted per network of this length.

    Raises:
        ValueError: a negative or non-finite setting.
    """

    def __init__(
        self,
        free_failures: int = 3,
        base: float = 1.0,
        cap: float = 900.0,
        max_entries: int = 100_000,
        ipv6_prefix: int = 64,
    ) -> None:
        if free_failures < 0 or base < 0 or cap < 0 or max_entries < 1:
            raise ValueError("throttle settings must be non-negative (max_entries >= 1)")
        if not 0 <= ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be 0..128")
        self.ipv6_prefix = ipv6_prefix
        self.free_failures = free_failures
        self.base = base
        self.cap = cap
        self.max_entries = max_entries
        self._table: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._table)

    def _key(self, user: str, ip: str) -> tuple[str, str]:
        if ":" not in ip:
            return (user, ip)  # IPv4, or not an address at all ("local")
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return (user, ip)
        if isinstance(addr, ipaddress.IPv6Address):
            if addr.ipv4_mapped is not None:
                return (user, str(addr.ipv4_mapped))
            net = ipaddress.IPv6Network((addr, self.ipv6_prefix), strict=False)
            return (user, str(net))
        return (user, ip)

    def address(self, ip: str) -> str:
        """What failures from ``ip`` are counted for (IPv6: its network)."""
        return self._key("", ip)[1]

    def peek(self, user: str, ip: str, now: float) -> float | None:
        """:meth:`retry_after` from memory (the same here; a shared throttle differs)."""
        return self.retry_after(user, ip, now)

    def _expired(self, entry: _Entry, now: float) -> bool:
        return now >= entry.blocked_until and now - entry.last_failure >= self.cap

    def retry_after(self, user: str, ip: str, now: float) -> float | None:
        """Seconds to wait before this pair may try again, or ``None``."""
        key = self._key(user, ip)
        with self._lock:
            entry = self._table.get(key)
            if entry is None:
                return None
            if self._expired(entry, now):
                del self._table[key]
                return None
            if now < entry.blocked_until:
                return entry.blocked_until - now
            return None

    def failure(self, user: str, ip: str, now: float) -> float | None:
        """Record a failure; return the backoff it started, or ``None``."""
        key = self._key(user, ip)
        with self._lock:
            entry = self._table.get(key)
            if entry is None or self._expired(entry, now):
                entry = _Entry(0, now, now)
                self._table[key] = entry
            self._table.move_to_end(key)
            entry.failures += 1
            entry.last_failure = now
            over = entry.failures - self.free_failures
            delay: float | None = None
            if over > 0:
                # 2**over overflows floats for huge counts; the cap is reached long before.
                delay = min(self.base * 2.0 ** min(over - 1, 64), self.cap)
                entry.blocked_until = max(entry.blocked_until, now + delay)
            while len(self._table) > self.max_entries:
                self._table.popitem(last=False)
            return delay

    def success(self, user: str, ip: str) -> None:
        """Forget the pair's failures (a correct login from there)."""
        with self._lock:
            self._table.pop(self._key(user, ip), None)

    def failures(self, user: str, ip: str) -> int:
        with self._lock:
            entry = self._table.get(self._key(user, ip))
            return 0 if entry is None else entry.failures

    def blocked(self, now: float) -> dict[str, float]:
        """User name -> latest ``blocked_until`` over all addresses (for ``user list``)."""
        out: dict[str, float] = {}
        with self._lock:
            for (user, _ip), entry in self._table.items():
                if entry.blocked_until > now:
                    out[user] = max(out.get(user, 0.0), entry.blocked_until)
        return out
