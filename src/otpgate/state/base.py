"""What gate processes share besides the store, and the in-process default.

The store decides what must be exact: counters, the last used step, replay,
locks, ``revoked_before``; it is written with compare-and-set.  What must be
fast and shared lives here (docs/scaling.md):

* backoff tables: failure counts with exponential backoff, the throttle's
  (user, address) pairs, each kind in its own named table;
* windows: failure times in a sliding window (at most ``limit`` in any
  ``window`` seconds), and marks that expire: what a per-user guess budget
  (:mod:`otpgate.regulation.budget`, "100 failures a day per user", trusted addresses)
  needs to count across processes;
* known credentials: a lingering PIN+OTP accepted by one process, found by
  the others without a PIN hash (keyed by the Authenticator's keyed digest,
  never by the password);
* single-use entries: a value written once and taken at most once (a
  challenge's transaction), atomically even between hosts;
* revocations: "forget what you cached about this user" (logout, lock, PIN
  change, removal), heard by every process at once.

One login attempt asks what it needs in one go (:meth:`SharedState.ask`: its
backoff entry, trust mark, budget windows and known credential) and, when
refused, tells its outcome in one go (:meth:`SharedState.tell`).  With Redis
each is one round trip whose shape depends on the client alone, never on
whether the name exists or its budget is spent (:mod:`otpgate.regulation.shared`).

:class:`LocalState` is the default: nothing is shared beyond the process
(one process, nothing to install), every method is a no-op but the
single-use entries (kept in the process), and the Authenticator's own
memory does the work.  A shared state that cannot reach
its server answers as :class:`LocalState` would (``None``, nothing stored)
and says so in :meth:`SharedState.problem`; the callers then fall back to
their per-process tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from .single_use import SingleUse

__all__ = [
    "Answer",
    "Ask",
    "Backoff",
    "LocalState",
    "NothingShared",
    "OneByOne",
    "SharedState",
    "Tell",
]


@dataclass(frozen=True, slots=True)
class Backoff:
    """A backoff rule: ``free`` failures, then ``base`` seconds doubling up to ``cap``.

    A quiet entry (no failure for ``cap`` seconds, not blocked) is forgotten.
    """

    free: int
    base: float
    cap: float

    def delay(self, failures: int) -> float | None:
        """The backoff after the ``failures``-th failure, or ``None`` (still free)."""
        over = failures - self.free
        if over <= 0:
            return None
        # 2**over overflows floats for huge counts; the cap is reached long before.
        return min(self.base * 2.0 ** min(over - 1, 64), self.cap)


Entry = tuple[str, str]
"""A (table, key) pair: one backoff entry, window or mark."""


@dataclass(frozen=True, slots=True)
class Ask:
    """What one attempt reads before it is decided (:meth:`SharedState.ask`).

    Attributes:
        backoff: the attempt's backoff entry (the throttle's pair).
        mark: a mark to test (the client's address trusted for the user), or ``None``.
        windows: the windows whose waits to read (the guess budget's lanes).
        window: the windows' length in seconds.
        limit: failures allowed in a window.
        credential: a known credential's digest to read, or ``None``.
    """

    backoff: Entry
    mark: Entry | None
    windows: tuple[Entry, ...]
    window: float
    limit: int
    credential: bytes | None


@dataclass(frozen=True, slots=True)
class Answer:
    """What :meth:`SharedState.ask` found ("nothing known" when the server is away).

    Attributes:
        wait: seconds the backoff entry must still wait, or ``None``.
        marked: whether the mark is set.
        waits: per window in :attr:`Ask.windows`, seconds until it has room, or ``None``.
        credential: the known credential's entry, or ``None``.
    """

    wait: float | None
    marked: bool
    waits: tuple[float | None, ...]
    credential: bytes | None


@dataclass(frozen=True, slots=True)
class Tell:
    """What one refused attempt writes (:meth:`SharedState.tell`).

    Attributes:
        backoff: the attempt's backoff entry, counted with ``rule``.
        rule: the backoff rule.
        lane: the window the failure is counted in, or ``None``.
        window: the window's length in seconds.
        limit: failures kept in the window.
        counted: whether the refusal is a counted failure; if not, nothing
            changes, but the round trip is made all the same.
    """

    backoff: Entry
    rule: Backoff
    lane: Entry | None
    window: float
    limit: int
    counted: bool


class SharedState(Protocol):
    """State several gate processes (and hosts) share; thread-safe.

    Every method answers fast: a shared backend uses short timeouts, and
    while its server is away answers "nothing known" without waiting.
    """

    shared: bool
    """Whether the backoff tables are shared beyond this process."""

    shares_credentials: bool
    """Whether known credentials and revocations are (they need a common digest key)."""

    observe: Callable[[str, float], None] | None
    """Called with (operation, seconds) after each call to the server (metrics)."""

    on_change: Callable[[str | None], None] | None
    """Called with the problem when the server goes away, with ``None`` when it is back."""

    def retry_after(self, table: str, key: str, now: float) -> float | None:
        """Seconds ``key`` must still wait in ``table``, or ``None`` (also when unknown)."""

    def failure(self, table: str, key: str, now: float, rule: Backoff) -> float | None:
        """Count a failure of ``key``; return the backoff it started, or ``None``.

        ``None`` also when the failure could not be recorded (see :meth:`problem`).
        """

    def clear(self, table: str, key: str) -> None:
        """Forget ``key``'s failures (a correct login)."""

    def window_failure(self, table: str, key: str, now: float, window: float, limit: int) -> None:
        """Count a failure of ``key`` at ``now`` (only the last ``limit`` are kept)."""

    def window_retry_after(
        self, table: str, key: str, now: float, window: float, limit: int
    ) -> float | None:
        """Seconds until ``key`` has fewer than ``limit`` failures in ``window``, or ``None``."""

    def window_clear(self, table: str, key: str) -> None:
        """Forget ``key``'s failure times (a trusted client logged in)."""

    def mark(self, table: str, key: str, ttl: float) -> None:
        """Remember ``key`` for ``ttl`` seconds (a trusted address, say)."""

    def marked(self, table: str, key: str) -> bool:
        """Whether ``key`` is remembered (``False`` also when unknown or unreachable)."""

    def put_credential(self, digest: bytes, value: bytes, ttl: float) -> None:
        """Keep a known credential's entry for ``ttl`` seconds."""

    def get_credential(self, digest: bytes) -> bytes | None:
        """A known credential's entry, or ``None``."""

    def put_single(self, digest: bytes, value: bytes, ttl: float, now: float) -> bool:
        """Keep ``value`` for ``ttl`` seconds, to be taken once; ``False`` if it was not kept."""

    def take_single(self, digest: bytes, now: float) -> bytes | None:
        """The value kept under ``digest``, removed in the same step, so that two takers
        (threads, processes, hosts) never both get it; ``None`` if absent, expired or
        unreachable."""

    def ask(self, question: Ask, now: float) -> Answer:
        """Everything one attempt reads before it is decided, in one round trip."""

    def tell(self, outcome: Tell, now: float) -> float | None:
        """Count a refused attempt (if ``counted``) in one round trip; the backoff it started."""

    def revoke(self, user: str) -> None:
        """Tell every process to forget what it cached about ``user``."""

    def listen(self, on_user: Callable[[str], None], on_reset: Callable[[], None]) -> None:
        """Call ``on_user(name)`` for every revocation, from a background thread.

        ``on_reset()`` is called whenever revocations may have been missed
        (the first subscription and every reconnection): the listener must
        then forget everything it cached.
        """

    def sync(self) -> None:
        """Apply revocations already delivered to this process (no waiting; the request path)."""

    def problem(self) -> str | None:
        """Why the shared part is not working right now, or ``None`` when it is."""

    def check(self) -> str | None:
        """Like :meth:`problem`, after asking the server (for ``/healthz``)."""

    def close(self) -> None:
        """Stop listening and release connections."""


class OneByOne:
    """:meth:`SharedState.ask` and :meth:`~SharedState.tell` as one call after another.

    For a backend with no network round trips to save (in process, a local file).
    """

    def ask(self, question: Ask, now: float) -> Answer:
        s, q = cast("SharedState", self), question
        return Answer(
            s.retry_after(*q.backoff, now),
            q.mark is not None and s.marked(*q.mark),
            tuple(s.window_retry_after(*w, now, q.window, q.limit) for w in q.windows),
            s.get_credential(q.credential) if q.credential is not None else None,
        )

    def tell(self, outcome: Tell, now: float) -> float | None:
        s, t = cast("SharedState", self), outcome
        if not t.counted:
            return None
        if t.lane is not None:
            s.window_failure(*t.lane, now, t.window, t.limit)
        return s.failure(*t.backoff, now, t.rule)


class NothingShared(OneByOne):
    """The parts of :class:`SharedState` a backend without them answers with "nothing"."""

    def window_failure(self, table: str, key: str, now: float, window: float, limit: int) -> None:
        return None

    def window_retry_after(
        self, table: str, key: str, now: float, window: float, limit: int
    ) -> float | None:
        return None

    def window_clear(self, table: str, key: str) -> None:
        return None

    def mark(self, table: str, key: str, ttl: float) -> None:
        return None

    def marked(self, table: str, key: str) -> bool:
        return False

    def put_credential(self, digest: bytes, value: bytes, ttl: float) -> None:
        return None

    def get_credential(self, digest: bytes) -> bytes | None:
        return None

    def revoke(self, user: str) -> None:
        return None

    def listen(self, on_user: Callable[[str], None], on_reset: Callable[[], None]) -> None:
        return None

    def sync(self) -> None:
        return None


class LocalState(NothingShared):
    """Nothing shared: one process, nothing to install (the default)."""

    shared = False
    shares_credentials = False

    def __init__(self) -> None:
        self.observe: Callable[[str, float], None] | None = None
        self.on_change: Callable[[str | None], None] | None = None
        self._single = SingleUse()

    def put_single(self, digest: bytes, value: bytes, ttl: float, now: float) -> bool:
        return self._single.put(digest, value, ttl, now)

    def take_single(self, digest: bytes, now: float) -> bytes | None:
        return self._single.take(digest, now)

    def ask(self, question: Ask, now: float) -> Answer:
        return Answer(None, False, (None,) * len(question.windows), None)

    def tell(self, outcome: Tell, now: float) -> float | None:
        return None

    def retry_after(self, table: str, key: str, now: float) -> float | None:
        return None

    def failure(self, table: str, key: str, now: float, rule: Backoff) -> float | None:
        return None

    def clear(self, table: str, key: str) -> None:
        return None

    def problem(self) -> str | None:
        return None

    def check(self) -> str | None:
        return None

    def close(self) -> None:
        return None
