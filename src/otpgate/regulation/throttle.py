"""Per (user, client address) failure throttling with exponential backoff.

Why per (user, address) and in memory: the reference module's per-user
failure limit lets anyone who knows a user name lock that user out.  Here a
guesser only slows down their own (user, address) pair; the real user, from
another address, is not affected.  Backoff doubles with each failure past a
few free ones and expires on its own; a quiet pair is forgotten.  Attempts
answered from this table cost a dictionary lookup: no store read, no PIN
hash, no write.

The table is bounded, and flooding it must free no guesses (issue 9: 100,000
junk names from one address used to push out that address's entry for a real
user, least recently touched first).  So:

* one address holds at most ``names_per_address`` pairs; failures for further
  names from that address are counted on one shared entry for the address,
  which every name without a pair of its own there is checked against
  (before any store read, known and unknown names alike, so the answer tells
  nothing about which names exist).  Junk names from one address cost the
  table a bounded number of entries and end in backoff like any guessing;
* when the table is full, entries that still have free failures go first;
  entries that used theirs ("held": the next failure backs off) are removed
  only once they expire, or, past twice the bound, least recently touched
  first (an attacker needs ``max_entries / names_per_address`` addresses in
  backoff at once to get there).

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

__all__ = ["Throttle", "address_key"]

# The key of an address's shared entry: (None, address).
_Key = tuple[str | None, str]


@dataclass(slots=True)
class _Entry:
    failures: int
    last_failure: float
    blocked_until: float


def address_key(ip: str, ipv6_prefix: int = 64) -> str:
    """The address as counted: IPv6 per network of ``ipv6_prefix`` bits, IPv4-mapped as IPv4."""
    if ":" not in ip:
        return ip  # IPv4, or not an address at all ("local")
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, ipv6_prefix), strict=False))
    return ip


class Throttle:
    """Counts failures per key and answers how long a key must wait.

    Args:
        free_failures: failures allowed before backoff starts.
        base: the first backoff in seconds; doubles with each further failure.
        cap: the longest backoff; also how long a quiet entry is remembered.
        max_entries: bound on the table size (held entries may take it to
            twice this, see the module notes).
        ipv6_prefix: IPv6 addresses are counted per network of this length.
        names_per_address: pairs one address may hold; failures for further
            names from there share one entry.

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
        names_per_address: int = 64,
    ) -> None:
        if free_failures < 0 or base < 0 or cap < 0 or max_entries < 1:
            raise ValueError("throttle settings must be non-negative (max_entries >= 1)")
        if not 0 <= ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be 0..128")
        if names_per_address < 1:
            raise ValueError("names_per_address must be at least 1")
        self.ipv6_prefix = ipv6_prefix
        self.free_failures = free_failures
        self.base = base
        self.cap = cap
        self.max_entries = max_entries
        self.names_per_address = names_per_address
        # Both in order of the last failure (oldest first); a key is in one of them.
        self._free: OrderedDict[_Key, _Entry] = OrderedDict()
        self._held: OrderedDict[_Key, _Entry] = OrderedDict()
        self._names: dict[str, int] = {}  # address -> pairs it holds
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._free) + len(self._held)

    def _address(self, ip: str) -> str:
        return address_key(ip, self.ipv6_prefix)

    def address(self, ip: str) -> str:
        """What failures from ``ip`` are counted for (IPv6: its network)."""
        return self._address(ip)

    def _expired(self, entry: _Entry, now: float) -> bool:
        return now >= entry.blocked_until and now - entry.last_failure >= self.cap

    def _get(self, key: _Key) -> _Entry | None:
        entry = self._free.get(key)
        return entry if entry is not None else self._held.get(key)

    def _drop(self, key: _Key) -> None:
        if self._free.pop(key, None) is None and self._held.pop(key, None) is None:
            return
        user, address = key
        if user is not None:
            left = self._names.get(address, 0) - 1
            if left > 0:
                self._names[address] = left
            else:
                self._names.pop(address, None)

    def _live(self, key: _Key, now: float) -> _Entry | None:
        """The entry, or ``None`` (an expired one is removed)."""
        entry = self._get(key)
        if entry is not None and self._expired(entry, now):
            self._drop(key)
            return None
        return entry

    def _lookup(self, user: str, ip: str, now: float) -> _Entry | None:
        """The entry that counts for this pair: its own, else the address's shared one."""
        address = self._address(ip)
        entry = self._live((user, address), now)
        return entry if entry is not None else self._live((None, address), now)

    def retry_after(self, user: str, ip: str, now: float) -> float | None:
        """Seconds to wait before this pair may try again, or ``None``."""
        with self._lock:
            entry = self._lookup(user, ip, now)
            if entry is not None and now < entry.blocked_until:
                return entry.blocked_until - now
            return None

    def failure(self, user: str, ip: str, now: float) -> float | None:
        """Record a failure; return the backoff it started, or ``None``."""
        address = self._address(ip)
        with self._lock:
            key: _Key = (user, address)
            entry = self._live(key, now)
            if entry is None:
                if self._names.get(address, 0) >= self.names_per_address:
                    key = (None, address)  # past its free names: the shared entry
                    entry = self._live(key, now)
                if entry is None:
                    entry = _Entry(0, now, now)
                    self._free[key] = entry
                    if key[0] is not None:
                        self._names[address] = self._names.get(address, 0) + 1
            entry.failures += 1
            entry.last_failure = now
            if entry.failures >= self.free_failures:
                # Held: its count is what holds the pair back; see _shrink.
                self._free.pop(key, None)
                self._held[key] = entry
            if key in self._held:
                self._held.move_to_end(key)
            else:
                self._free.move_to_end(key)
            over = entry.failures - self.free_failures
            delay: float | None = None
            if over > 0:
                # 2**over overflows floats for huge counts; the cap is reached long before.
                delay = min(self.base * 2.0 ** min(over - 1, 64), self.cap)
                entry.blocked_until = max(entry.blocked_until, now + delay)
            self._shrink(now)
            return delay

    def _shrink(self, now: float) -> None:
        """Keep the table bounded without giving anyone guesses back."""
        for table in (self._free, self._held):
            # Oldest last failure first: once the front is not expired, none is.
            while table:
                key, entry = next(iter(table.items()))
                if not self._expired(entry, now):
                    break
                self._drop(key)
        while len(self) > self.max_entries and self._free:
            self._drop(next(iter(self._free)))
        while len(self._held) > 2 * self.max_entries:
            self._drop(next(iter(self._held)))

    def success(self, user: str, ip: str) -> None:
        """Forget the pair's failures (a correct login from there).

        An address's shared entry stays: one name's success says nothing
        about the other names tried from there.
        """
        with self._lock:
            self._drop((user, self._address(ip)))

    def failures(self, user: str, ip: str) -> int:
        """The failures that count for this pair (its own, else its address's shared ones)."""
        address = self._address(ip)
        with self._lock:
            entry = self._get((user, address)) or self._get((None, address))
            return 0 if entry is None else entry.failures

    def blocked(self, now: float) -> dict[str, float]:
        """User name -> latest ``blocked_until`` over all addresses (for ``user list``)."""
        out: dict[str, float] = {}
        with self._lock:
            for table in (self._free, self._held):
                for (user, _ip), entry in table.items():
                    if user is not None and entry.blocked_until > now:
                        out[user] = max(out.get(user, 0.0), entry.blocked_until)
        return out
