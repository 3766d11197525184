"""privacyIDEA's ``POST /auth`` for the service accounts plugins use: an API key for a token.

A plugin's service account (``username``, ``password``) gets a service
token (:mod:`._service`) when the password is one of the gate's API keys
(``web.api_keys``); the user name is only recorded.  The token's one right is
``/validate/triggerchallenge``; administrators' logins are not accepted here.

With an empty prefix, privacyIDEA's ``/auth`` and the gate's forward-auth
``/auth`` share a path: :class:`AuthFirst` hands a ``POST`` with a form or JSON
body to this one; everything else (a proxy's subrequest carries no body) goes
to forward auth as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ...audit.decision_log import log_decision
from ..forward_auth import route_path
from ..request import MalformedCredentials, check_user
from ._envelope import Code, failure, result
from ._params import ParamError, read_params

if TYPE_CHECKING:
    from ..api.keys import ApiKeys
    from ..clients import ClientAddresses
    from ..metrics import Metrics
    from ._service import ServiceTokens

__all__ = ["AuthFirst", "ServiceAuth"]

FRONTEND: Final = "privacyidea_auth"
_BODIES: Final = (b"application/x-www-form-urlencoded", b"multipart/form-data", b"application/json")


@dataclass(frozen=True, slots=True)
class ServiceAuth:
    """``POST <prefix>/auth``.

    Attributes:
        keys: the API keys a service account's password must be one of.
        tokens: issues the tokens.
        clients: the caller's address (for the log).
        metrics: where each answer is counted.
        prefix: the path before ``/auth``.
        max_body: the largest body read.
        clock: Unix time.
    """

    keys: ApiKeys
    tokens: ServiceTokens
    clients: ClientAddresses
    metrics: Metrics
    prefix: str
    max_body: int
    clock: Callable[[], float]

    def routes(self) -> list[Route]:
        return [Route(self.prefix + "/auth", self.auth, methods=["POST"])]

    async def auth(self, request: Request) -> Response:
        """``username`` and ``password`` (an API key) for ``result.value.token``."""
        started = time.perf_counter()
        try:
            params = await read_params(request, self.max_body)
        except ParamError as exc:
            return failure(Code.PARAMETER, str(exc))
        username, password = params.get("username", ""), params.get("password")
        try:
            check_user(username)
        except MalformedCredentials:
            return failure(Code.WRONG_CREDENTIALS, "Authentication failure. Wrong credentials.")
        ok = self.keys.match(password)
        said = "api_key" if ok else "bad_key"
        self.metrics.record(FRONTEND, said, time.perf_counter() - started, False)
        log_decision(FRONTEND, username, self.clients.of(request), ok, said, None)
        if not ok:
            return failure(Code.WRONG_CREDENTIALS, "Authentication failure. Wrong credentials.")
        value = {
            "token": self.tokens.issue(username, self.clock()),
            "username": username,
            "realm": "",
            "role": "admin",
            "rights": ["triggerchallenge"],
            "menus": [],
        }
        return result(value)


class AuthFirst:
    """Raw ASGI: a ``POST /auth`` with a form or JSON body goes to privacyIDEA's ``/auth``.

    Args:
        app: the rest (forward auth in front of the router).
        service: privacyIDEA's ``/auth``.
    """

    def __init__(self, app: ASGIApp, service: ServiceAuth) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = scope["type"] == "http" and scope["method"] == "POST"
        if http and _has_body(scope) and route_path(scope) == "/auth":
            response = await self.service.auth(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_body(scope: Scope) -> bool:
    """A form or JSON body of some length (a proxy's auth subrequest has none)."""
    media, length = b"", b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";")[0].strip().lower()
        elif name == b"content-length":
            length = value.strip()
    return media in _BODIES and length.isdigit() and int(length) > 0
