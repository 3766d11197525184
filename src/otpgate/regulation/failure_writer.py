"""Failure counts written after the answer, so that time does not tell known users.

A wrong code for a known user is a counted failure: the store's ``failures``
goes up by one (and at ``max_otp_failures`` the user is locked).  Written
before the answer, that write (a file rewrite or a database commit, about a
millisecond or more) made a known user's wrong code measurably slower than an
unknown user's, which tells an attacker which names exist (issue 9, item 9).

Here those writes happen on one background thread, after the answer.  The
thread is not woken by a failure: it looks for pending ones every
:data:`TICK` seconds, and it is started (when none runs) by every attempt that
may hand one over, whatever the name (:meth:`FailureWriter.ready`).  Woken
at once, its work (a file rewrite, a commit, Python holding the interpreter
lock) overlapped the rest of the known user's own attempt (its round trip to
a shared Redis, the answer on its way out) and made exactly that answer
slower (issue 17: 0.5-0.8 ms through the JSON API with Redis).  Now a known
user's attempt does nothing an unknown user's does not, but put the count
on a table; the write lands at the next tick, as load on whatever the gate
does then.  Nothing
is lost or doubled: each pending failure is applied with the store's
compare-and-set (re-read and re-applied on a lost race, as every other
write), pending failures of one user are added up into one write, and
:meth:`FailureWriter.flush` / :meth:`~FailureWriter.close` wait until all are
written.  Only if the process dies in the few milliseconds between answer and
write is a failure not counted in the store (the in-memory throttle counted
it anyway).  The table of users with pending failures is bounded; when it is
full the caller writes itself, so a flood cannot grow memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from ..errors import OTPGateError

__all__ = ["FailureWriter"]

log = logging.getLogger(__name__)

# Users with failures waiting to be written; beyond this the caller writes itself.
MAX_PENDING: Final = 10_000
# The thread ends after this many seconds without an attempt (the next one starts another).
IDLE_EXIT: Final = 30.0
# Seconds between the thread's looks for pending failures (also how late a count is written).
TICK: Final = 0.05

# apply(user, count, now): add ``count`` failures at time ``now`` with compare-and-set.
Apply = Callable[[str, int, float], None]


class FailureWriter:
    """One thread that writes pending failure counts; thread-safe.

    Args:
        apply: writes ``count`` failures of ``user`` (at the time of the last
            one); raises on a store error, which is logged.
    """

    def __init__(self, apply: Apply) -> None:
        self._apply = apply
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[int, float]] = {}
        self._busy = 0  # users taken off the table and being written now
        self._thread: threading.Thread | None = None
        self._closed = False
        self._urgent = False  # flush() or close() is waiting: look now
        self._last = 0.0  # monotonic time of the last ready() or submit()

    def ready(self) -> None:
        """An attempt that may hand over a failure has begun: have the thread running.

        Called for every such attempt, known name or not, so that starting
        the thread is never part of a known user's answer alone.
        """
        with self._cond:
            if not self._closed:
                self._last = time.monotonic()
                self._start()

    def _start(self) -> None:
        # The lock is held.
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="otpgate-failure-writer", daemon=True
            )
            self._thread.start()

    def submit(self, user: str, now: float) -> bool:
        """Count one failure of ``user`` to be written soon.

        Returns:
            ``False`` if the writer is closed or its table is full: the
            caller must write the failure itself.
        """
        with self._cond:
            if self._closed or (user not in self._pending and len(self._pending) >= MAX_PENDING):
                return False
            count, _ = self._pending.get(user, (0, now))
            self._pending[user] = (count + 1, now)
            self._last = time.monotonic()
            self._start()  # normally running since ready(); not woken: it looks at its tick
            return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every failure submitted so far is written; ``False`` on timeout."""
        with self._cond:
            self._urgent = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        """Write what is pending, then stop the thread; later failures are the caller's."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._urgent, TICK)
                self._urgent = False
                if not self._pending:
                    idle = time.monotonic() - self._last >= IDLE_EXIT
                    if self._closed or idle:
                        # Closed and drained, or idle: a gate nobody guesses at holds no thread.
                        self._thread = None
                        return
                    continue
                batch, self._pending = self._pending, {}
                self._busy = len(batch)
            for user, (count, now) in batch.items():
                try:
                    self._apply(user, count, now)
                except OTPGateError as exc:
                    log.error("cannot write %d failure count(s): %s", count, exc)
                except Exception:  # a store driver's surprise must not kill the writer
                    log.exception("cannot write %d failure count(s)", count)
            with self._cond:
                self._busy = 0
                self._cond.notify_all()
