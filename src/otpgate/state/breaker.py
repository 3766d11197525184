"""A circuit breaker: the gate goes on without a shared state that does not answer.

The first failure marks the state down and is logged once; until
``retry_interval`` has passed no call waits for the server (each answers
its default: "nothing known"), then one call tries again, and a success is
logged and takes the state back into use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Breaker", "BreakerHooks"]

log = logging.getLogger("otpgate.state")

T = TypeVar("T")


class Breaker:
    """Wraps calls to one server.

    Args:
        where: the server, for messages (no password in it).
        errors: the exceptions that mean "the server is not answering".
        retry_interval: seconds between attempts while it is away.
        clock: monotonic time.
    """

    def __init__(
        self,
        where: str,
        errors: tuple[type[BaseException], ...],
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where = where
        self.errors = errors
        self.retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0
        self._problem: str | None = None
        self.observe: Callable[[str, float], None] | None = None
        self.on_change: Callable[[str | None], None] | None = None

    def call(self, op: str, fn: Callable[[], T], default: T, *, force: bool = False) -> T:
        """``fn()``, or ``default`` when the server fails or is known to be away.

        Args:
            op: the operation's name, for :attr:`observe`.
            force: try even while the server is known to be away (health checks).
        """
        if not force:
            with self._lock:
                if self._down and self._clock() < self._retry_at:
                    return default
        started = time.perf_counter()
        try:
            result = fn()
        except self.errors as exc:
            self.failed(exc)
            return default
        finally:
            if self.observe is not None:
                self.observe(op, time.perf_counter() - started)
        self.succeeded()
        return result

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            first = not self._down
            self._down = True
            self._retry_at = self._clock() + self.retry_interval
            self._problem = f"{self.where} unreachable ({exc.__class__.__name__})"
            problem = self._problem
        if first:
            # Once, not per request: the gate goes on with per-process tables.
            log.error("%s; throttling per process until it is back", problem)
            if self.on_change is not None:
                self.on_change(problem)

    def succeeded(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
            self._problem = None
        log.warning("%s is back; the shared state is in use again", self.where)
        if self.on_change is not None:
            self.on_change(None)

    def problem(self) -> str | None:
        with self._lock:
            return self._problem


class BreakerHooks:
    """``observe`` and ``on_change`` of a shared state, kept by its :class:`Breaker`."""

    breaker: Breaker

    @property
    def observe(self) -> Callable[[str, float], None] | None:
        """Called with (operation, seconds) after each call to the backend (the metrics)."""
        return self.breaker.observe

    @observe.setter
    def observe(self, value: Callable[[str, float], None] | None) -> None:
        self.breaker.observe = value

    @property
    def on_change(self) -> Callable[[str | None], None] | None:
        """Called with the problem (or ``None``) when the backend goes away (or comes back)."""
        return self.breaker.on_change

    @on_change.setter
    def on_change(self, value: Callable[[str | None], None] | None) -> None:
        self.breaker.on_change = value
