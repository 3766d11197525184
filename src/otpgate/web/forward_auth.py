"""``/auth``: forward auth for nginx ``auth_request``, Traefik ForwardAuth, Caddy ``forward_auth``.

Behind such a proxy every page, image and script of the protected site passes
through ``/auth``, so this is the gate's hot path.  It is raw ASGI in front of
Starlette's router, as Starlette's own middleware is: the headers are read
once, the client address is computed once, the Authenticator is asked once.
The common answers -- a valid session cookie, a lingering Basic credential --
never leave the event loop and are written as bare ASGI messages (the router
and ``Request``/``Response`` objects cost as much as the decision itself:
docs/benchmarks.md, changes 2 and 3);
only a fresh login goes to the threadpool (:meth:`.decisions.Decisions.decide`).  Refusals
are rarer and use Starlette's ``Request`` and ``Response``.

Only 2xx, 401 and 403 mean something to these proxies (nginx turns anything
else into a 500), so every refusal is a 401, or the redirect to the portal
the proxy was asked to pass on.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request, cookie_parser
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .._limits import has_control
from ..login.reasons import Reason
from .http import RAW_SECURITY_HEADERS, redirect, retry_after, secure
from .request import MalformedCredentials, forwarded_list, parse_basic

if TYPE_CHECKING:
    from ..config.loader import WebConfig
    from .clients import ClientAddresses
    from .decisions import Decisions
    from .devices import DeviceCookies
    from .metrics import Metrics
    from .session_cookies import SessionCookies
    from .targets import ReturnTargets

__all__ = ["METHODS", "PATH", "ForwardAuth"]

log = logging.getLogger(__name__)

PATH: Final = "/auth"
# nginx's auth_request subrequest keeps the original method.
METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The metrics' result for an Authorization header that is not Basic credentials.
MALFORMED_HEADER: Final = "malformed_header"
REDIRECT_MODES: Final = frozenset({"302", "303", "307", "401"})

_EMPTY_BODY: Final = {"type": "http.response.body", "body": b""}
_METHODS: Final = frozenset(METHODS)


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (``root_path``), as Starlette's router sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def _read_headers(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """Cookie and Authorization (the first of each) and X-Forwarded-For (every line, joined).

    ``Request`` reads the first Cookie and Authorization line too; several
    X-Forwarded-For lines are one list (:func:`~.request.forwarded_list`).
    """
    cookie = authorization = None
    forwarded: list[str] = []
    for name, value in scope["headers"]:
        if name == b"cookie" and cookie is None:
            cookie = value.decode("latin-1")
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
    return cookie, authorization, forwarded_list(forwarded)


@dataclass(slots=True)
class ForwardAuth:
    """Answers ``/auth`` itself; every other request goes on to ``app``.

    Attributes:
        app: the rest of the gate (the portal, the API).
        web: the ``[web]`` settings (realm, portal, redirect status).
        clock: the Authenticator's clock.
        clients: the client's address behind trusted proxies.
        sessions: the session cookie.
        devices: the device cookie (a Basic client's own guess budget).
        decisions: the one way to a decision.
        targets: where the browser wanted to go, for the portal's redirect.
    """

    app: ASGIApp
    web: WebConfig
    clock: Callable[[], float]
    clients: ClientAddresses
    sessions: SessionCookies
    devices: DeviceCookies
    decisions: Decisions
    targets: ReturnTargets
    # Read on every request: worked out once.
    metrics: Metrics = field(init=False)
    _challenge_header: str = field(init=False)
    _portal: bool = field(init=False)
    _portal_login: str = field(init=False)
    _redirect_status: str = field(init=False)

    def __post_init__(self) -> None:
        web = self.web
        self.metrics = self.decisions.metrics
        realm = web.realm.replace("\\", "").replace('"', "")
        self._challenge_header = f'Basic realm="{realm}", charset="UTF-8"'
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
        started = time.perf_counter()
        cookie, authorization, forwarded = _read_headers(scope)
        now = self.clock()
        sessions = self.sessions
        ip: str | None = None
        if authorization is not None or sessions.needs_address:
            client = scope.get("client")
            ip = self.clients.address(client[0] if client else None, forwarded)
        cookies = cookie_parser(cookie) if cookie is not None else {}
        if cookies:
            session = sessions.find(cookies.get(sessions.name), now, ip)
            if session is not None:
                self.metrics.record("auth", Reason.SESSION, time.perf_counter() - started, False)
                refresh = None
                if sessions.codec.needs_refresh(session, now):
                    refresh = sessions.header(replace(session, seen=now), now)
                await self._accept(scope, receive, send, session.user, refresh)
                return
        if authorization is None or ip is None:  # ip is known whenever authorization is
            await self._refuse(scope, receive, send, offered=False)
            return
        try:
            user, password = parse_basic(authorization)
        except MalformedCredentials:
            self.metrics.record("auth", MALFORMED_HEADER, 0.0, False)
            await self._refuse(scope, receive, send, offered=True)
            return
        device = await self.devices.nonce(cookies, user, now) if cookies else None
        decision = await self.decisions.decide("auth", user, password, ip, now, device=device)
        if decision.ok and decision.user is not None:
            # A fresh login earns the browser a device cookie (browsers keep
            # cookies for Basic too).  The proxy must pass it on: nginx drops
            # an auth_request's Set-Cookie unless told (docs/gate.md).
            issued = await self.devices.issue(decision.user, now) if decision.fresh else None
            await self._accept(scope, receive, send, decision.user, issued)
        else:
            await self._refuse(scope, receive, send, offered=True, wait=decision.retry_after)

    async def _accept(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        user: str,
        cookie: tuple[bytes, bytes] | None = None,
    ) -> None:
        """200 with ``Remote-User``, written by hand: this is the hot path's answer."""
        if has_control(user):
            # A name from the store that would split the header: refuse, loudly.
            log.error("refusing a user name with control characters in Remote-User")
            await self._refuse(scope, receive, send, offered=True)
            return
        # Raw header bytes: a user name may be any Unicode, and the proxy passes
        # the UTF-8 bytes on (Starlette would refuse non-Latin-1 text).
        headers = [(b"content-length", b"0"), (b"remote-user", user.encode("utf-8"))]
        headers += RAW_SECURITY_HEADERS
        if cookie is not None:
            headers.append(cookie)
        start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": headers}
        await send(start)
        await send(_EMPTY_BODY)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        offered: bool,
        wait: float | None = None,
    ) -> None:
        """A Basic challenge, or for a browser that offered nothing, the portal."""
        request = Request(scope)
        mode = request.query_params.get("redirect", self._redirect_status)
        response: Response
        if (
            self._portal
            and not offered
            and mode in REDIRECT_MODES
            and "text/html" in request.headers.get("accept", "")
        ):
            response = redirect(self._login_url(request), int(mode))
        else:
            headers = {"WWW-Authenticate": self._challenge_header}
            if wait is not None:
                headers.update(retry_after(wait))
            response = secure(Response("Unauthorized\n", 401, headers=headers))
        await response(scope, receive, send)

    def _login_url(self, request: Request) -> str:
        target = self.targets.original(request)
        if target is None:
            return self._portal_login
        return self._portal_login + "?rd=" + urllib.parse.quote(target, safe="")
