"""The one interface the Authenticator's rate limiting is behind, and its local implementation.

A :class:`Regulator` is asked once before an attempt (:meth:`~Regulator.before`)
and told once after it (:meth:`~Regulator.refused`, :meth:`~Regulator.accepted`);
on the event loop it answers from memory alone (:meth:`~Regulator.peek`).  It
counts in two tables, the :class:`~otpgate.regulation.throttle.Throttle` per user
and address and the :class:`~otpgate.regulation.budget.GuessBudget` per user
across addresses, and it writes a wrong code's failure count into the store
after the answer (**write behind**, :mod:`otpgate.regulation.failure_writer`:
that is all the words mean here).

Two implementations: :class:`LocalRegulator` (this process only, the default)
and :class:`~otpgate.regulation.shared.SharedRegulator` (the same tables, plus
the counts shared with every gate through a :class:`~otpgate.state.base.SharedState`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from .budget import Client, GuessBudget
from .failure_writer import FailureWriter
from .throttle import Throttle, address_key

if TYPE_CHECKING:
    from ..config.auth import AuthSettings

__all__ = ["Before", "Guess", "LocalRegulator", "Regulator", "longer"]

UNTRUSTED: Final = "u"


class Guess(Protocol):
    """What the regulator needs of one attempt (:class:`otpgate.login.attempt.Attempt`)."""

    @property
    def user(self) -> str: ...

    @property
    def key(self) -> bytes: ...

    @property
    def client(self) -> Client: ...


@dataclass(frozen=True, slots=True)
class Before:
    """What :meth:`Regulator.before` found for one attempt.

    Attributes:
        wait: seconds the client must wait (the throttle's or the budget's), or ``None``.
        lane: the budget lane a failure of this attempt is counted in.
        credential: a known credential's entry from the shared state, or ``None``.
    """

    wait: float | None
    lane: str
    credential: bytes | None = None


class Regulator(Protocol):
    """The throttle, the guess budget and the failure counts written behind the answer.

    Attributes:
        throttle: this process's table per (user, address).
        budget: this process's guess budget per user (a shared regulator
            counts in both as well, its fallback while the shared state is away).
    """

    throttle: Throttle
    budget: GuessBudget

    def peek(self, user: str, ip: str, now: float) -> float | None:
        """The pair's wait from memory (no I/O: the event loop asks)."""
        ...

    def before(self, guess: Guess, now: float, *, credential: bool) -> Before:
        """How long this client must wait, and its budget lane.

        ``credential``: also bring the shared entry of the guess's credential.
        """
        ...

    def refused(
        self, guess: Guess, before: Before, now: float, *, counted: bool, known: bool
    ) -> float | None:
        """Tell a refused attempt; the backoff a counted one started.

        ``known``: whether the name exists.
        """
        ...

    def accepted(self, guess: Guess, now: float) -> None:
        """A correct login: clear the pair, trust a proven address."""
        ...

    def seen(self, user: str, ip: str | None, when: float | None, now: float) -> None:
        """Trust an address the store says the user last logged in from (at ``when``)."""
        ...

    def ready(self) -> None:
        """An attempt that may write a failure behind its answer has begun."""
        ...

    def write_behind(self, user: str, now: float) -> bool:
        """Take one failure of ``user`` to write after the answer; ``False``: write it now."""
        ...

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until failures written behind answers are in the store; ``False`` on timeout."""
        ...

    def close(self) -> None:
        """Write what is pending; later failures are written by the caller."""
        ...


def longer(a: float | None, b: float | None) -> float | None:
    """The longer of two waits (``None``: no wait)."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


class LocalRegulator:
    """A :class:`Regulator` that counts in this process only.

    Args:
        settings: the throttle's and the budget's settings.
        apply: writes ``count`` failures of a user at a time into the store
            (the failure writer's thread calls it).

    Attributes:
        throttle: the table per (user, address).
        budget: the guess budget per user.
    """

    def __init__(self, settings: AuthSettings, apply: Callable[[str, int, float], None]) -> None:
        self.throttle = Throttle(
            settings.throttle_free_failures,
            settings.throttle_base,
            settings.throttle_max,
            max(settings.throttle_size, 1),
            settings.throttle_ipv6_prefix,
            settings.throttle_names_per_address,
        )
        self.budget = GuessBudget.from_settings(settings)
        self._failures = FailureWriter(apply)

    def _address(self, ip: str) -> str:
        return address_key(ip, self.budget.ipv6_prefix)

    def peek(self, user: str, ip: str, now: float) -> float | None:
        return self.throttle.retry_after(user, ip, now)

    def before(self, guess: Guess, now: float, *, credential: bool) -> Before:
        user, client = guess.user, guess.client
        lane = self.budget.lane(user, client, now)
        wait = longer(
            self.throttle.retry_after(user, client.ip, now),
            self.budget.retry_after(user, client, now),
        )
        return Before(wait, lane if lane is not None else UNTRUSTED)

    def refused(
        self, guess: Guess, before: Before, now: float, *, counted: bool, known: bool
    ) -> float | None:
        if not counted:
            return None
        wait = self.throttle.failure(guess.user, guess.client.ip, now)
        self.budget.failure(guess.user, guess.client, now, known=known)
        return wait

    def accepted(self, guess: Guess, now: float) -> None:
        self.throttle.success(guess.user, guess.client.ip)
        self.budget.success(guess.user, guess.client, now)

    def seen(self, user: str, ip: str | None, when: float | None, now: float) -> None:
        self.budget.seen(user, ip, when, now)

    def ready(self) -> None:
        self._failures.ready()

    def write_behind(self, user: str, now: float) -> bool:
        return self._failures.submit(user, now)

    def flush(self, timeout: float | None = None) -> bool:
        return self._failures.flush(timeout)

    def close(self) -> None:
        self._failures.close()
