"""``/auth``: forward auth for nginx ``auth_request``, Traefik ForwardAuth, Caddy ``forward_auth``.

Behind such a proxy every page, image and script of the protected site passes
through ``/auth``, so this is the gate's hot path.  It is raw ASGI in front of
Starlette's router, as Starlette's own middleware is: the headers are read
once, the client address is computed once, the Authenticator is asked once.
The common answers -- a valid session cookie, a lingering Basic credential --
never leave the event loop: :class:`~.forward_answers.ForwardAnswers` finds
them and builds them, and they are written as bare ASGI messages (the router
and ``Request``/``Response`` objects cost as much as the decision itself:
docs/benchmarks.md, changes 2 and 3).  Under ``otpgate serve`` the server's
fast path (:mod:`.fast_auth`) asks the same ``ForwardAnswers`` before a scope
is even built and falls through to this endpoint when it has no answer.  Only
a fresh login goes to the threadpool (:meth:`.decisions.Decisions.fresh`); the
portal's redirect uses Starlette's ``Request`` and ``Response``.

Only 2xx, 401 and 403 mean something to these proxies (nginx turns anything
else into a 500), so every refusal is a 401, or the redirect to the portal
the proxy was asked to pass on.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .forward_answers import FRONTEND, SEEN, Answer, ForwardAnswers, Seen
from .http import redirect

if TYPE_CHECKING:
    from .targets import ReturnTargets

__all__ = ["METHODS", "PATH", "ForwardAuth"]

PATH: Final = "/auth"
# nginx's auth_request subrequest keeps the original method.
METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The metrics' result for an Authorization header that is not Basic credentials.
MALFORMED_HEADER: Final = "malformed_header"
REDIRECT_MODES: Final = frozenset({"302", "303", "307", "401"})

_METHODS: Final = frozenset(METHODS)


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (``root_path``), as Starlette's router sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


@dataclass(slots=True)
class ForwardAuth:
    """Answers ``/auth`` itself; every other request goes on to ``app``.

    Attributes:
        app: the rest of the gate (the portal, the API).
        answers: the decision from memory and the answers (shared with the fast path).
        targets: where the browser wanted to go, for the portal's redirect.
    """

    app: ASGIApp
    answers: ForwardAnswers
    targets: ReturnTargets
    # Read on every request: worked out once.
    _portal: bool = field(init=False)
    _portal_login: str = field(init=False)
    _redirect_status: str = field(init=False)

    def __post_init__(self) -> None:
        web = self.answers.web
        self._portal = bool(web.portal and web.portal_url)
        self._portal_login = web.portal_url.rstrip("/") + "/login"
        self._redirect_status = str(web.redirect_status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) != PATH:
            await self.app(scope, receive, send)
        elif scope["method"] not in _METHODS:
            allow = {"Allow": ", ".join(METHODS)}
            await PlainTextResponse("Method Not Allowed", 405, headers=allow)(scope, receive, send)
        else:
            await self._answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Session cookie, else Basic credentials, else a challenge."""
        seen: Answer | Seen | None = scope.get(SEEN)  # the fast path's first look
        if seen is None:
            client = scope.get("client")
            seen = self.answers.look(scope["headers"], client[0] if client else None)
        if isinstance(seen, Answer):
            await _send(send, seen)
            return
        if not seen.offered or seen.ip is None:
            await self._refuse(scope, receive, send)
            return
        if seen.user is None or seen.password is None:
            self.answers.decisions.metrics.record(FRONTEND, MALFORMED_HEADER, 0.0, False)
            await _send(send, self.answers.challenge(None))
            return
        await _send(send, await self._fresh(seen, seen.user, seen.password, seen.ip))

    async def _fresh(self, seen: Seen, user: str, password: str, ip: str) -> Answer:
        """A decision memory could not give: in the threadpool."""
        answers = self.answers
        decisions, devices = answers.decisions, answers.devices
        attempt = seen.attempt
        if attempt is None:  # a device cookie whose record had to be read
            device = await devices.nonce(seen.cookies, user, seen.now)
            attempt = decisions.attempt(user, password, ip, device=device)
            decision = decisions.cached(FRONTEND, attempt, seen.now, seen.started)
        else:
            decision = None
        if decision is None:
            decision = await decisions.fresh(FRONTEND, attempt, seen.now, seen.started)
        if decision.ok and decision.user is not None:
            # A fresh login earns the browser a device cookie (browsers keep
            # cookies for Basic too).  The proxy must pass it on: nginx drops
            # an auth_request's Set-Cookie unless told (docs/gate.md).
            issued = await devices.issue(decision.user, seen.now) if decision.fresh else None
            return answers.accept(decision.user, issued)
        return answers.challenge(decision.retry_after)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """No credentials: for a browser, the portal; else a Basic challenge."""
        request = Request(scope)
        mode = request.query_params.get("redirect", self._redirect_status)
        if (
            self._portal
            and mode in REDIRECT_MODES
            and "text/html" in request.headers.get("accept", "")
        ):
            await redirect(self._login_url(request), int(mode))(scope, receive, send)
        else:
            await _send(send, self.answers.challenge(None))

    def _login_url(self, request: Request) -> str:
        target = self.targets.original(request)
        if target is None:
            return self._portal_login
        return self._portal_login + "?rd=" + urllib.parse.quote(target, safe="")


async def _send(send: Send, answer: Answer) -> None:
    start = {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
    await send(start)
    await send({"type": "http.response.body", "body": answer.body})
