"""A decision asked from a browser: its device cookie, if it has one for the user, counts.

A browser that signed in as a user before carries a device cookie
(:mod:`otpgate.web.devices`), which keeps it out of strangers' spent guess
budget (:mod:`otpgate.regulation.budget`).  Every page that takes a PIN and
code asks through here, so none forgets the cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from ...login.authenticator import Decision
    from ..decisions import Decisions
    from ..devices import DeviceCookies

__all__ = ["BrowserDecisions"]


@dataclass(frozen=True, slots=True)
class BrowserDecisions:
    """:meth:`.Decisions.decide` with the request's device cookie.

    Attributes:
        devices: the device cookie (read here, issued after a sign-in).
        decisions: the one way to a decision.
    """

    devices: DeviceCookies
    decisions: Decisions

    async def decide(
        self,
        frontend: str,
        request: Request,
        user: str,
        password: str,
        ip: str,
        now: float,
        *,
        linger: bool = True,
    ) -> Decision:
        """The decision on ``user``'s ``password`` from ``request``'s browser at ``ip``."""
        device = await self.devices.nonce(request.cookies, user, now)
        return await self.decisions.decide(
            frontend, user, password, ip, now, linger=linger, device=device
        )
