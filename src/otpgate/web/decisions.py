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
    from ..login.authenticator import Authenticator
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
        halves: the answer from memory is taken on the event loop; only a fresh
        decision (store I/O, the PIN hash) goes to the threadpool, with the same
        :class:`~otpgate.login.authenticator.Attempt` (so its digest is computed once).
        ``linger=False``: a lingering credential does not answer (the login
        form, where a code is single use).  ``device`` and ``proven`` say how
        far the client is trusted (:class:`~otpgate.login.authenticator.Attempt`).
        """
        started = time.perf_counter()
        try:
            # A failure count is written after the answer: a known user's wrong
            # code must take as long as an unknown user's (docs/accounts.md).
            attempt = self.auth.attempt(
                user, password, ip, linger=linger, write_behind=True, device=device, proven=proven
            )
            decision = self.auth.check_cached(attempt, now=now)
            if decision is None:
                decision = await run_in_threadpool(self.auth.decide, attempt, now=now)
        except OTPGateError as exc:
            # The Authenticator maps store trouble to a decision itself; this is the
            # last line, so that no failure can ever turn into an accepted login.
            log.error("authentication failed with %s", exc.__class__.__name__)
            decision = Decision(False, None, Reason.STORE_ERROR)
        throttled = decision.retry_after is not None and not decision.ok
        self.metrics.record(frontend, decision.reason, time.perf_counter() - started, throttled)
        log_decision(frontend, user, ip, decision.ok, decision.reason, decision.retry_after)
        return decision

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
