"""The one way every web front end asks for a decision: asked once, counted once, logged once.

``/auth``, the portal, the self-service pages, the admin step-up and the JSON
API all go through :meth:`Decisions.decide`, so none can forget the cached
answer, the threadpool, the metrics or the decision log.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from ..audit.decision_log import log_decision
from ..errors import OTPGateError
from ..login.authenticator import Decision
from ..login.reasons import Reason

if TYPE_CHECKING:
    from ..login.authenticator import Attempt, Authenticator
    from .metrics import Metrics

__all__ = ["Decisions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decisions:
    """The Authenticator as the web asks it, with the metrics of every answer.

    Attributes:
        auth: the one Authenticator.
        metrics: where each decision is counted.
    """

    auth: Authenticator
    metrics: Metrics

    async def decide(
        self,
        frontend: str,
        user: str,
        password: str,
        ip: str,
        now: float,
        *,
        linger: bool = True,
        device: str | None = None,
        proven: bool = True,
    ) -> Decision:
        """Ask the Authenticator once, count the answer once.

        :meth:`~otpgate.login.authenticator.Authenticator.login` in its two
        halves: :meth:`cached` (the answer from memory, on the event loop),
        else :meth:`fresh` (store I/O, the PIN hash: in the threadpool), with
        the same :class:`~otpgate.login.authenticator.Attempt` (so its digest
        is computed once).  ``linger=False``: a lingering credential does not
        answer (the login form, where a code is single use).  ``device`` and
        ``proven`` say how far the client is trusted
        (:class:`~otpgate.login.authenticator.Attempt`).
        """
        started = time.perf_counter()
        attempt = self.attempt(user, password, ip, linger=linger, device=device, proven=proven)
        decision = self.cached(frontend, attempt, now, started)
        if decision is None:
            decision = await self.fresh(frontend, attempt, now, started)
        return decision

    def attempt(
        self,
        user: str,
        password: str,
        ip: str,
        *,
        linger: bool = True,
        device: str | None = None,
        proven: bool = True,
    ) -> Attempt:
        """The attempt :meth:`cached` and :meth:`fresh` decide (its digest made here, once)."""
        # A failure count is written after the answer: a known user's wrong
        # code must take as long as an unknown user's (docs/accounts.md).
        return self.auth.attempt(
            user, password, ip, linger=linger, write_behind=True, device=device, proven=proven
        )

    def cached(
        self, frontend: str, attempt: Attempt, now: float, started: float
    ) -> Decision | None:
        """The answer from memory (no I/O), counted and logged; ``None`` (nothing counted)
        when only :meth:`fresh` can decide.  ``started``: when the request was read."""
        try:
            decision = self.auth.check_cached(attempt, now=now)
        except OTPGateError as exc:
            decision = _failed(exc)
        if decision is not None:
            self._count(frontend, attempt, decision, started)
        return decision

    async def fresh(self, frontend: str, attempt: Attempt, now: float, started: float) -> Decision:
        """A fresh decision in the threadpool (after :meth:`cached` had none), counted."""
        try:
            decision = await run_in_threadpool(self.auth.decide, attempt, now=now)
        except OTPGateError as exc:
            decision = _failed(exc)
        self._count(frontend, attempt, decision, started)
        return decision

    def _count(self, frontend: str, attempt: Attempt, decision: Decision, started: float) -> None:
        throttled = decision.retry_after is not None and not decision.ok
        self.metrics.record(frontend, decision.reason, time.perf_counter() - started, throttled)
        log_decision(
            frontend, attempt.user, attempt.ip, decision.ok, decision.reason, decision.retry_after
        )

    async def logout(self, user: str, now: float) -> None:
        """End the user's sessions and lingering credentials on the server side; counted.

        A store failure is logged and counted (``logout_store_error``), not
        raised: the browser's cookie is cleared all the same.
        """
        started = time.perf_counter()
        result: str = Reason.LOGOUT
        try:
            await run_in_threadpool(self.auth.logout, user, now=now)
        except OTPGateError as exc:
            # The cookie is still cleared; say so honestly in the log.
            log.error("server-side logout failed: %s", exc.__class__.__name__)
            result = "logout_store_error"
        self.metrics.record("logout", result, time.perf_counter() - started, False)


def _failed(exc: OTPGateError) -> Decision:
    """The Authenticator maps store trouble to a decision itself; this is the last
    line, so that no failure can ever turn into an accepted login."""
    log.error("authentication failed with %s", exc.__class__.__name__)
    return Decision(False, None, Reason.STORE_ERROR)
