"""The guess budget, shared: this process's budget plus sliding windows in Redis.

Like :mod:`otpgate.state.throttle`, every failure is counted twice: in this
process's :class:`~otpgate.budget.GuessBudget` and in a shared sliding window
per (user, lane), the lane being ``u`` (all untrusted clients of the user),
``d:<nonce>`` (a device cookie) or ``a:<address>`` (an address the user
logged in from within ``trusted_for``).  A successful login from a proven
address leaves a shared mark that expires after ``trusted_for``, so an
address trusted by one process is trusted by all.  The wait is the longer of
the two answers: guesses spread over processes and hosts spend one budget,
and while Redis is away each process still keeps its own (the fallback costs
nothing to switch to: it was counting all along).

In the shared window, failures for names that do not exist share the
user's ``u`` lane: Redis keeps each key apart and lets it expire, so junk
names cannot push a real user's failures out (the reason the local budget
keeps them in a table of their own).

The event loop's check (:meth:`SharedBudget.peek`) never waits for the
network: it reads the local budget and the waits this process has already
learned from the shared windows.  A learned wait for the untrusted lane is
not applied to a proven address this process does not trust itself: another
process may trust it, and the worker thread's check asks Redis.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from ..budget import Client, GuessBudget
from ..settings import AuthSettings
from ..throttle import address_key
from .base import SharedState

__all__ = ["SharedBudget", "build_budget"]

WINDOWS: Final = "budget"
TRUST: Final = "trusted"
_UNTRUSTED: Final = "u"


class SharedBudget:
    """The :class:`~otpgate.budget.GuessBudget` interface over a local and a shared budget.

    Args:
        local: this process's budget (its settings are the rule).
        state: where the shared windows and trust marks live.
    """

    def __init__(self, local: GuessBudget, state: SharedState) -> None:
        self.local = local
        self.state = state
        self._lock = threading.Lock()
        # Window key -> blocked-until learned from the shared window; bounded.
        self._learned: OrderedDict[str, float] = OrderedDict()

    @property
    def guesses(self) -> int:
        return self.local.guesses

    def _address(self, client: Client) -> str:
        return address_key(client.ip, self.local.ipv6_prefix)

    @staticmethod
    def _key(user: str, lane: str) -> str:
        # The lane's length first: a device nonce holding "|" stays unambiguous.
        return f"{len(lane)}:{lane}|{user}"

    def _trust_key(self, user: str, client: Client) -> str:
        return f"{self._address(client)}|{user}"  # an address holds no "|"

    def _lane(self, user: str, client: Client, now: float) -> str:
        """The lane, asking the shared marks when this process does not trust the address."""
        lane = self.local.lane(user, client, now)
        if lane is not None:
            return lane
        if client.proven and self.state.marked(TRUST, self._trust_key(user, client)):
            # Trusted by another process: learn it (for peek) from now on.
            self.local.seen(user, client.ip, now, now)
            return "a:" + self._address(client)
        return _UNTRUSTED

    def _learn(self, key: str, until: float) -> None:
        with self._lock:
            self._learned[key] = until
            self._learned.move_to_end(key)
            while len(self._learned) > self.local.max_entries:
                self._learned.popitem(last=False)

    # -- queries -----------------------------------------------------------

    def trusted(self, user: str, client: Client, now: float) -> bool:
        """Whether this client has a budget of its own (asks the shared marks)."""
        return self._lane(user, client, now) != _UNTRUSTED

    def peek(self, user: str, client: Client, now: float) -> float | None:
        """Seconds to wait, from memory only (no network)."""
        if self.guesses == 0:
            return None
        local = self.local.retry_after(user, client, now)
        lane = self.local.lane(user, client, now)
        if lane is None and client.proven:
            return local  # maybe trusted elsewhere: the worker thread's check asks Redis
        key = self._key(user, lane if lane is not None else _UNTRUSTED)
        with self._lock:
            until = self._learned.get(key)
            if until is not None and now >= until:
                del self._learned[key]
                until = None
        return _longer(local, until - now if until is not None else None)

    def retry_after(self, user: str, client: Client, now: float) -> float | None:
        """Seconds until this client may guess again, or ``None`` (asks the shared window)."""
        if self.guesses == 0:
            return None
        key = self._key(user, self._lane(user, client, now))
        local = self.local.retry_after(user, client, now)
        shared = self.state.window_retry_after(
            WINDOWS, key, now, self.local.window, self.local.guesses
        )
        if shared is not None:
            self._learn(key, now + shared)
        return _longer(local, shared)

    # -- updates -----------------------------------------------------------

    def failure(self, user: str, client: Client, now: float, *, known: bool = True) -> None:
        """Count a failed guess here and in the shared window of its lane."""
        if self.guesses == 0:
            return
        key = self._key(user, self._lane(user, client, now))
        self.local.failure(user, client, now, known=known)
        self.state.window_failure(WINDOWS, key, now, self.local.window, self.local.guesses)

    def success(self, user: str, client: Client, now: float) -> None:
        """A correct login: trust a proven address everywhere, clear this client's failures."""
        self.local.success(user, client, now)
        lanes = []
        if client.device is not None:
            lanes.append("d:" + client.device)
        if client.proven and self.local.trusted_for > 0:
            lanes.append("a:" + self._address(client))
            self.state.mark(TRUST, self._trust_key(user, client), self.local.trusted_for)
        for lane in lanes:
            key = self._key(user, lane)
            with self._lock:
                self._learned.pop(key, None)
            self.state.window_clear(WINDOWS, key)

    def seen(self, user: str, ip: str | None, when: float | None, now: float) -> None:
        """Trust an address the store says the user last logged in from."""
        self.local.seen(user, ip, when, now)

    def forget(self, user: str) -> None:
        """Drop what this process knows about a user (the shared windows expire)."""
        self.local.forget(user)
        suffix = "|" + user
        with self._lock:
            for key in [k for k in self._learned if k.endswith(suffix)]:
                del self._learned[key]


def _longer(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def build_budget(settings: AuthSettings, state: SharedState) -> GuessBudget | SharedBudget:
    """The Authenticator's guess budget: its own, shared through ``state`` if that shares."""
    local = GuessBudget.from_settings(settings)
    return SharedBudget(local, state) if state.shared else local
