"""``POST /api/v1/check``: otpgate's own JSON API for applications that check logins themselves.

It takes ``{"user", "password", "ip"}`` with an API key (:mod:`.keys`) and
answers ``{"ok": ...}``; ``/openapi.json`` describes it (:mod:`.openapi`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD, MAX_USER, retry_after_seconds
from ...login.reasons import Reason
from ..http import retry_after
from ..request import MalformedCredentials, check_user, is_unicode
from ._json import answer, error, read_object
from .openapi import OPENAPI

if TYPE_CHECKING:
    from ...login.authenticator import Decision
    from ..clients import ClientAddresses
    from ..decisions import Decisions
    from .keys import ApiKeys

__all__ = ["CheckApi"]

BAD_USER: Final = (
    f"user must be 1 to {MAX_USER} characters of valid Unicode without control characters"
)
NOT_UNICODE: Final = "password must be valid Unicode (no lone surrogates)"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class CheckApi:
    """otpgate's own JSON API (``/api/v1/check``).

    Attributes:
        decisions: the one way to a decision.
        clients: the caller's address, when the body names none.
        keys: the API keys accepted.
        max_body: the largest body read (``web.max_body``).
        clock: the Authenticator's clock.
    """

    decisions: Decisions
    clients: ClientAddresses
    keys: ApiKeys
    max_body: int
    clock: Callable[[], float]

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/check", self.check, methods=["POST"]),
            Route("/openapi.json", self.openapi, methods=["GET", "HEAD"]),
        ]

    async def check(self, request: Request) -> Response:
        """``POST /api/v1/check`` ``{"user": ..., "password": ..., "ip": ...}``."""
        if not self.keys.accept(request):
            return error(403, "a valid API key is required")
        data = await read_object(request, self.max_body)
        if isinstance(data, Response):
            return data
        user, password, ip = data.get("user"), data.get("password"), data.get("ip")
        if not isinstance(user, str) or not isinstance(password, str):
            return error(400, "user and password must be strings")
        # An address the client only names is no proof of anything: it never
        # counts as one the user logged in from (otpgate.regulation.budget), so neither a
        # fresh address per call nor the user's own address escapes the
        # user's guess budget.
        proven = ip is None
        if ip is None:
            ip = self.clients.of(request)
        elif not isinstance(ip, str) or not _is_ip(ip):
            return error(400, "ip must be an IP address")
        try:
            check_user(user)
            if len(password) > MAX_PASSWORD:
                raise MalformedCredentials("password too long")
        except MalformedCredentials:
            return error(400, BAD_USER)
        if not is_unicode(password):
            return error(400, NOT_UNICODE)
        decision = await self.decisions.decide(
            "api", user, password, ip, self.clock(), proven=proven
        )
        return _answer(decision)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)


def _answer(decision: Decision) -> Response:
    if decision.ok:
        return answer({"ok": True, "user": decision.user})
    if decision.retry_after is not None:
        wait = retry_after_seconds(decision.retry_after)
        return answer({"ok": False, "retry_after": wait}, 429, retry_after(decision.retry_after))
    if decision.reason == Reason.STORE_ERROR:
        return answer({"ok": False}, 503)
    return answer({"ok": False}, 401)
