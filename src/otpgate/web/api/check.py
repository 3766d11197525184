"""The JSON API for applications that check logins themselves, and its OpenAPI description.

``POST /api/v1/check`` takes ``{"user", "password", "ip"}`` with an API key
(``X-API-Key`` or ``Authorization: Bearer``) and answers ``{"ok": ...}``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from typing import Any, Final

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD, MAX_USER, retry_after_seconds
from ...login.reasons import Reason
from ..gate import Gate
from ..http import PayloadTooLarge, read_body, retry_after, secure
from ..request import MalformedCredentials, check_user, is_unicode
from .openapi import OPENAPI

__all__ = ["Api"]

MAX_API_KEY: Final = 512
BAD_USER: Final = (
    f"user must be 1 to {MAX_USER} characters of valid Unicode without control characters"
)
NOT_UNICODE: Final = "password must be valid Unicode (no lone surrogates)"
TOO_DEEP: Final = "the body is nested too deeply"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _answer(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return secure(JSONResponse(body, status, headers=headers))


def _error(status: int, text: str) -> Response:
    return _answer({"ok": False, "error": text}, status)


class Api:
    """The JSON API.

    Args:
        gate: the shared state.
    """

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        # Keys are compared as digests so that every comparison has the same length.
        self._keys = [hashlib.sha256(k.encode()).digest() for k in gate.config.api_keys()]

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/check", self.check, methods=["POST"]),
            Route("/openapi.json", self.openapi, methods=["GET", "HEAD"]),
        ]

    def _key_ok(self, request: Request) -> bool:
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if not given or not self._keys or len(given) > MAX_API_KEY:
            return False
        digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
        found = False
        for key in self._keys:
            # No early exit: the time taken does not depend on which key matched.
            found |= hmac.compare_digest(key, digest)
        return found

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        """The JSON object sent, or the error response."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return _error(415, "the body must be application/json")
        try:
            data: Any = json.loads(await read_body(request, self.gate.web.max_body))
        except PayloadTooLarge:
            return _error(413, "the body is too large")
        except RecursionError:
            # json's C parser recurses per level: "[" x 8000 fits in max_body.
            return _error(400, TOO_DEEP)
        except (ValueError, ClientDisconnect):
            return _error(400, "the body is not JSON")
        if not isinstance(data, dict):
            return _error(400, "the body must be a JSON object")
        return data

    async def check(self, request: Request) -> Response:
        """``POST /api/v1/check`` ``{"user": ..., "password": ..., "ip": ...}``."""
        if not self._key_ok(request):
            return _error(403, "a valid API key is required")
        data = await self._body(request)
        if isinstance(data, Response):
            return data
        user, password, ip = data.get("user"), data.get("password"), data.get("ip")
        if not isinstance(user, str) or not isinstance(password, str):
            return _error(400, "user and password must be strings")
        # An address the client only names is no proof of anything: it never
        # counts as one the user logged in from (otpgate.regulation.budget), so neither a
        # fresh address per call nor the user's own address escapes the
        # user's guess budget.
        proven = ip is None
        if ip is None:
            ip = self.gate.client_ip(request)
        elif not isinstance(ip, str) or not _is_ip(ip):
            return _error(400, "ip must be an IP address")
        try:
            check_user(user)
            if len(password) > MAX_PASSWORD:
                raise MalformedCredentials("password too long")
        except MalformedCredentials:
            return _error(400, BAD_USER)
        if not is_unicode(password):
            return _error(400, NOT_UNICODE)
        decision = await self.gate.decide(
            "api", user, password, ip, self.gate.clock(), proven=proven
        )
        if decision.ok:
            return _answer({"ok": True, "user": decision.user})
        if decision.retry_after is not None:
            wait = retry_after_seconds(decision.retry_after)
            headers = retry_after(decision.retry_after)
            return _answer({"ok": False, "retry_after": wait}, 429, headers)
        if decision.reason == Reason.STORE_ERROR:
            return _answer({"ok": False}, 503)
        return _answer({"ok": False}, 401)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)
