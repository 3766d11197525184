"""One gate process's throttle over a shared state, driven as the Authenticator drives it."""

from __future__ import annotations

from otpgate.config.auth import AuthSettings
from otpgate.login.attempt import Attempt
from otpgate.regulation.shared import SharedRegulator
from otpgate.state.base import SharedState

# Three free failures, then 10 s doubling up to 900 s; no guess budget.
SETTINGS = AuthSettings(
    throttle_free_failures=3, throttle_base=10.0, throttle_max=900.0, guess_budget=0
)


def _no_store(user: str, count: int, now: float) -> None:
    """No failure is written behind here: only the throttle is driven."""


class Process:
    """The :class:`~otpgate.regulation.shared.SharedRegulator` of one gate process."""

    def __init__(self, state: SharedState) -> None:
        self.state = state
        self.regulator = SharedRegulator(SETTINGS, state, _no_store)
        self.local = self.regulator.throttle

    @staticmethod
    def attempt(user: str, ip: str) -> Attempt:
        return Attempt(user, "wrong", ip, b"")

    def retry_after(self, user: str, ip: str, now: float) -> float | None:
        """The wait the worker thread's check finds (asks the shared state)."""
        return self.regulator.before(self.attempt(user, ip), now, credential=False).wait

    def failure(self, user: str, ip: str, now: float) -> float | None:
        """A wrong guess for ``user`` from ``ip``, counted; the backoff it started."""
        attempt = self.attempt(user, ip)
        before = self.regulator.before(attempt, now, credential=False)
        return self.regulator.refused(attempt, before, now, counted=True, known=True)

    def guess(self, user: str, ip: str, now: float) -> bool:
        """One attempt as the Authenticator makes it: whether it was evaluated (and counted)."""
        attempt = self.attempt(user, ip)
        before = self.regulator.before(attempt, now, credential=False)
        counted = before.wait is None
        self.regulator.refused(attempt, before, now, counted=counted, known=True)
        return counted

    def success(self, user: str, ip: str, now: float) -> None:
        self.regulator.accepted(self.attempt(user, ip), now)
