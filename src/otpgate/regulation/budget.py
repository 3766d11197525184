"""A per-user budget of guesses across all addresses, and the clients it trusts.

The per (user, address) throttle (:mod:`otpgate.regulation.throttle`) keeps the rightful
user in while one address hammers the account, but a guesser with many
addresses gets a few guesses from each: about 39 evaluated guesses per hour
per address were measured, so 1,000 addresses break a 6-digit TOTP with a
known PIN in about 8.5 hours.  This is the other half, OWASP's "device
cookies" scheme (Slow Down Online Guessing Attacks with Device Cookies):

* Failures from **untrusted** clients share one budget per user:
  at most ``guesses`` failures in any ``window`` (100 a day by default; NIST
  SP 800-63B §5.2.2 asks for at most 100 consecutive failures).  Once it is
  spent, untrusted clients are refused until the oldest failure leaves the
  window; the refusal costs no store read and no PIN hash.
* A **trusted** client keeps a budget of its own of the same size, so
  strangers' failures never lock it out: a client with a device cookie (a
  signed token issued at a successful login; the caller checks the
  signature and passes its nonce), or an address this user logged in from
  within ``trusted_for`` (30 days).  Its own failures spend only its own
  budget.
* An address someone merely *claims* (the ``ip`` field of the JSON API) is
  not proof: it is never trusted for being known, so an API client cannot
  borrow the rightful user's address, nor escape the budget with a fresh
  address per call.

Memory only, per process, like the throttle: by itself, N gate processes
allow N times the budget.  With ``[state] url = "redis://..."`` the
Authenticator's :class:`~otpgate.regulation.shared.SharedRegulator` counts every failure here and
in Redis as well, so all processes and hosts share one budget (and fall back
to this one while Redis is away).  Failures
for names that do not exist are kept apart from those of real users
(``known=False``), in a table that may forget them first: a flood of junk
names cannot push a real user's spent budget out.  The clock is passed in;
nothing here reads the store or the time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

from .throttle import address_key

if TYPE_CHECKING:
    from ..config.auth import AuthSettings

__all__ = ["Client", "GuessBudget"]

_K = TypeVar("_K")

# Addresses remembered per user; the least recently successful goes first.
_ADDRESSES_PER_USER: Final = 16


@dataclass(frozen=True, slots=True)
class Client:
    """Who is asking, as far as the caller can tell.

    Attributes:
        ip: the client address.
        device: the nonce of a device cookie whose signature the caller
            checked and that was issued to this user, else ``None``.
        proven: the address is the one the connection came from (directly or
            through a trusted proxy); ``False`` when a client only claims it
            (the API's ``ip`` field).
    """

    ip: str
    device: str | None = None
    proven: bool = True


class GuessBudget:
    """Counts failed guesses per user (untrusted clients) and per trusted client.

    Args:
        guesses: failures allowed in any ``window`` per user from untrusted
            clients, and per trusted client; 0 turns the budget off.
        window: seconds over which ``guesses`` are counted.
        trusted_for: seconds an address stays trusted after a successful
            login from it.
        max_entries: bound on each table (users, trusted clients, names
            that do not exist).
        ipv6_prefix: addresses are compared as the throttle counts them.

    Raises:
        ValueError: a negative setting.
    """

    def __init__(
        self,
        guesses: int = 100,
        window: float = 86_400.0,
        trusted_for: float = 30 * 86_400.0,
        max_entries: int = 100_000,
        ipv6_prefix: int = 64,
    ) -> None:
        if guesses < 0 or window < 0 or trusted_for < 0 or max_entries < 1:
            raise ValueError("budget settings must be non-negative (max_entries >= 1)")
        self.guesses = guesses
        self.window = window
        self.trusted_for = trusted_for
        self.max_entries = max_entries
        self.ipv6_prefix = ipv6_prefix
        # user -> times of the last `guesses` failures from untrusted clients.
        self._users: OrderedDict[str, deque[float]] = OrderedDict()
        # The same for names that do not exist: forgotten first under pressure.
        self._unknown: OrderedDict[str, deque[float]] = OrderedDict()
        # (user, "d:" nonce | "a:" address) -> a trusted client's own failures.
        self._own: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        # user -> address -> time of the last successful login from it.
        self._known: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> GuessBudget:
        """The budget an :class:`~otpgate.login.authenticator.Authenticator` keeps for these."""
        return cls(
            settings.guess_budget,
            settings.guess_window,
            settings.trusted_for,
            max(settings.throttle_size, 1),
            settings.throttle_ipv6_prefix,
        )

    # -- queries -----------------------------------------------------------

    def trusted(self, user: str, client: Client, now: float) -> bool:
        """Whether this client has a budget of its own for this user."""
        with self._lock:
            return self._lane(user, client, now) is not None

    def lane(self, user: str, client: Client, now: float) -> str | None:
        """The trusted client's own budget key (``d:`` nonce, ``a:`` address), or ``None``."""
        with self._lock:
            return self._lane(user, client, now)

    def retry_after(self, user: str, client: Client, now: float) -> float | None:
        """Seconds until this client may guess again, or ``None`` (it may now)."""
        if self.guesses == 0:
            return None
        with self._lock:
            lane = self._lane(user, client, now)
            if lane is not None:
                return self._spent(self._own.get((user, lane)), now)
            wait = self._spent(self._users.get(user), now)
            return wait if wait is not None else self._spent(self._unknown.get(user), now)

    # -- updates -----------------------------------------------------------

    def failure(self, user: str, client: Client, now: float, *, known: bool = True) -> None:
        """Count a failed guess (``known=False``: the name does not exist)."""
        if self.guesses == 0:
            return
        with self._lock:
            lane = self._lane(user, client, now)
            if lane is not None:
                self._count(self._own, (user, lane), now)
            else:
                self._count(self._users if known else self._unknown, user, now)

    def success(self, user: str, client: Client, now: float) -> None:
        """A correct login: trust a proven address, clear this client's own failures.

        The untrusted budget is not refilled: the rightful user getting in
        says nothing about the strangers guessing meanwhile.
        """
        with self._lock:
            if client.device is not None:
                self._own.pop((user, "d:" + client.device), None)
            if not client.proven:
                return
            address = address_key(client.ip, self.ipv6_prefix)
            self._own.pop((user, "a:" + address), None)
            self._trust(user, address, now)

    def seen(self, user: str, ip: str | None, when: float | None, now: float) -> None:
        """Trust an address the store says the user last logged in from (at ``when``).

        Another gate process may have accepted that login: the stored last
        address is how this process learns it (at any store read of the
        user), so ``serve --workers N`` keeps the user in from every worker.
        """
        if ip is None or when is None or not 0 <= now - when < self.trusted_for:
            return
        address = address_key(ip, self.ipv6_prefix)
        with self._lock:
            known = self._known.get(user)
            if known is not None and known.get(address, -1.0) >= when:
                return
            self._trust(user, address, when)

    def forget(self, user: str) -> None:
        """Drop everything about a user (removed, or an administrator's reset)."""
        with self._lock:
            self._users.pop(user, None)
            self._unknown.pop(user, None)
            self._known.pop(user, None)
            for key in [k for k in self._own if k[0] == user]:
                del self._own[key]

    # -- internals (the lock is held) ---------------------------------------

    def _lane(self, user: str, client: Client, now: float) -> str | None:
        """The trusted client's own budget key, or ``None`` for an untrusted one."""
        if client.device is not None:
            return "d:" + client.device
        if not client.proven:
            return None
        known = self._known.get(user)
        if not known:
            return None
        address = address_key(client.ip, self.ipv6_prefix)
        last = known.get(address)
        if last is None or not 0 <= now - last < self.trusted_for:
            return None
        return "a:" + address

    def _trust(self, user: str, address: str, when: float) -> None:
        known = self._known.get(user)
        if known is None:
            known = self._known[user] = OrderedDict()
        known[address] = when
        known.move_to_end(address)
        self._known.move_to_end(user)
        while len(known) > _ADDRESSES_PER_USER:
            known.popitem(last=False)
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)

    def _spent(self, times: deque[float] | None, now: float) -> float | None:
        if times is None:
            return None
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.guesses:
            return None
        return times[0] + self.window - now

    def _count(self, table: OrderedDict[_K, deque[float]], key: _K, now: float) -> None:
        times = table.get(key)
        if times is None:
            times = table[key] = deque(maxlen=self.guesses)
        times.append(now)
        table.move_to_end(key)
        while len(table) > self.max_entries:
            table.popitem(last=False)
