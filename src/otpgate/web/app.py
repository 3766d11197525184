"""The gate's ASGI application: forward auth, login portal, JSON API, health, metrics.

Every front end here asks the one :class:`otpgate.auth.Authenticator`; this
module only translates HTTP to its calls and its decisions back to HTTP.  The
hot path never leaves the event loop: a session cookie is checked by its
signature and the Authenticator's cached ``session_valid``, a lingering Basic
credential by ``check_cached``; only a fresh login goes to the threadpool
(store I/O, the PIN hash).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request, cookie_parser
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Config
from ..errors import OTPGateError
from ..selfservice import Event
from . import messages, pages
from .account import AccountPage
from .enrol import EnrolPages
from .forms import FormKit
from .i18n import choose, translator
from .metrics import Metrics
from .net import (
    MalformedCredentials,
    check_user,
    client_address,
    is_trusted,
    parse_basic,
    safe_return_url,
    split_host,
)
from .openapi import OPENAPI
from .sessions import CsrfGuard, Session, SessionCodec

if TYPE_CHECKING:
    from ..auth import Authenticator, Decision
    from ..store.base import Store

__all__ = ["Gate", "create_app"]

log = logging.getLogger(__name__)

CSRF_COOKIE: Final = "otpgate_csrf"
MAX_HEADER: Final = 8192
MAX_HEADERS_TOTAL: Final = 32768
ALL_METHODS: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

WRONG: Final = "Wrong user name, PIN or code."
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
UNAVAILABLE: Final = "Signing in is not possible right now. Please try again later."


class PayloadTooLarge(Exception):
    """The request body exceeds ``web.max_body``."""


def _throttled_text(seconds: float) -> str:
    return f"Too many attempts. Try again in {max(math.ceil(seconds), 1)} s."


class Gate:
    """The gate's state and request handlers.

    Args:
        config: all settings.
        authenticator: the one Authenticator.
        store: the store, for ``/healthz``.
        clock: Unix time; tests freeze it (the Authenticator gets the same ``now``).
    """

    def __init__(
        self,
        config: Config,
        authenticator: Authenticator,
        store: Store | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.web = config.web
        self.auth = authenticator
        self.store = store
        self.clock = clock
        secrets_ = config.secrets()
        self.sessions = SessionCodec(secrets_, config.session_lifetime(), config.session_idle())
        self.csrf = CsrfGuard(secrets_)
        self.metrics = Metrics()
        self.trusted = config.trusted_networks()
        self.metrics_nets = config.metrics_networks()
        # Keys are compared as digests so that every comparison has the same length.
        self._api_keys = [hashlib.sha256(k.encode()).digest() for k in config.api_keys()]
        self._allowed_hosts = list(self.web.allowed_hosts)
        portal = urllib.parse.urlsplit(self.web.portal_url)
        if portal.hostname:
            self._allowed_hosts.append(portal.hostname)
        if self.web.cookie_domain:
            self._allowed_hosts.append("." + self.web.cookie_domain.lstrip("."))
        self._portal_is_path = not portal.netloc
        self.kit = FormKit(self)

    def _lang(self, request: Request) -> str:
        return choose(request.headers.get("accept-language"), self.web.language)

    # --- helpers --------------------------------------------------------------------

    def client_ip(self, request: Request) -> str:
        peer = request.client.host if request.client else None
        return client_address(peer, request.headers.get("x-forwarded-for"), self.trusted)

    def _from_proxy(self, request: Request) -> bool:
        return is_trusted(request.client.host if request.client else None, self.trusted)

    def _own_host(self, request: Request) -> str:
        host = request.headers.get("host", "")
        if self._from_proxy(request):
            host = request.headers.get("x-forwarded-host", host).split(",")[0].strip()
        return split_host(host)

    def _own_origin(self, request: Request) -> tuple[str, str]:
        """(scheme, host[:port]) of this page as the browser sees it."""
        scheme = request.url.scheme
        host = request.headers.get("host", "")
        if self._from_proxy(request):
            scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
            host = request.headers.get("x-forwarded-host", host).split(",")[0].strip()
        return scheme.lower(), host.lower()

    def _security_headers(self, response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Not no-referrer: with it, browsers send "Origin: null" on the login POST,
        # which the CSRF origin check must refuse.
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def _html(
        self, text: str, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        response = Response(text, status, headers=headers, media_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = pages.CSP
        response.headers["X-Frame-Options"] = "DENY"
        return self._security_headers(response)

    def _session(self, request: Request, ip: str, now: float) -> Session | None:
        """The request's session, if its cookie is genuine, current and not revoked."""
        session = self.sessions.decode(request.cookies.get(self.web.cookie_name), now)
        if session is None:
            return None
        if self.config.auth.logout_on_ip_change and session.ip != ip:
            return None
        if not self.auth.session_valid(session.user, session.issued_at, now=now):
            return None
        return session

    def _set_session(self, response: Response, session: Session, now: float) -> None:
        response.set_cookie(
            self.web.cookie_name,
            self.sessions.encode(session),
            max_age=self.sessions.max_age(session, now),
            path="/",
            domain=self.web.cookie_domain,
            secure=self.web.cookie_secure,
            httponly=True,
            samesite="lax",
        )

    def _clear_session(self, response: Response) -> None:
        response.delete_cookie(
            self.web.cookie_name,
            path="/",
            domain=self.web.cookie_domain,
            secure=self.web.cookie_secure,
            httponly=True,
            samesite="lax",
        )

    def _csrf_pair(self, request: Request) -> tuple[str, str, bool]:
        """(nonce, form token, whether the nonce cookie must be set)."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce or len(nonce) > 64:
            nonce = self.csrf.new_nonce()
            return nonce, self.csrf.token(nonce), True
        return nonce, self.csrf.token(nonce), False

    def _with_csrf_cookie(self, response: Response, nonce: str, new: bool) -> Response:
        if new:
            response.set_cookie(
                CSRF_COOKIE,
                nonce,
                path="/",
                secure=self.web.cookie_secure,
                httponly=True,
                samesite="strict",
            )
        return response

    def _cross_site(self, request: Request) -> bool:
        """A browser says this POST comes from another site."""
        if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
            return True
        origin = request.headers.get("origin")
        if origin is None:
            return False  # not a browser, or an old one; the CSRF token still decides
        parts = urllib.parse.urlsplit(origin) if origin != "null" else None
        if parts is None or not parts.netloc:
            return True
        return (parts.scheme.lower(), parts.netloc.lower()) != self._own_origin(request)

    async def _read_body(self, request: Request) -> bytes:
        limit = self.web.max_body
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise PayloadTooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def decide(
        self, frontend: str, user: str, password: str, ip: str, now: float
    ) -> Decision:
        """Ask the Authenticator: the cached answer first, else a full check in a thread."""
        from ..auth import Decision

        started = time.perf_counter()
        try:
            decision = self.auth.check_cached(user, password, ip, now=now)
            if decision is None:
                decision = await run_in_threadpool(
                    self.auth.authenticate, user, password, ip, now=now
                )
        except OTPGateError as exc:
            # The Authenticator maps store trouble to a decision itself; this is the
            # last line, so that no failure can ever turn into an accepted login.
            log.error("authentication failed with %s", exc.__class__.__name__)
            decision = Decision(False, None, "store_error")
        self.metrics.record(
            frontend,
            decision.reason,
            time.perf_counter() - started,
            decision.retry_after is not None and not decision.ok,
        )
        return decision

    def _login_url(self, request: Request) -> str:
        base = self.web.portal_url.rstrip("/") + "/login"
        target = self._original_url(request)
        if target is None:
            return base
        return base + "?rd=" + urllib.parse.quote(target, safe="")

    def _original_url(self, request: Request) -> str | None:
        """Where the browser wanted to go, if a trusted proxy said so and it is safe."""
        if not self._from_proxy(request):
            return None
        h = request.headers
        url = h.get("x-original-url")
        if url is None and h.get("x-forwarded-host"):
            proto = h.get("x-forwarded-proto", "https").split(",")[0].strip()
            host = h["x-forwarded-host"].split(",")[0].strip()
            url = f"{proto}://{host}{h.get('x-forwarded-uri', '/')}"
        if url is None:
            return None
        if self._portal_is_path:
            # The portal is on the protected site itself: return by path only.
            try:
                parts = urllib.parse.urlsplit(url)
            except ValueError:
                return None
            path = "/" + parts.path.lstrip("/")
            url = path + (f"?{parts.query}" if parts.query else "")
            return safe_return_url(url, ())
        return safe_return_url(url, self._allowed_hosts)

    def _return_target(self, request: Request, value: str | None) -> str | None:
        allowed = [*self._allowed_hosts, self._own_host(request)]
        return safe_return_url(value, allowed)

    def _ok(self, user: str, request: Request) -> Response:
        if _CONTROL.search(user):
            # A name from the store that would split the header: refuse, loudly.
            log.error("refusing a user name with control characters in Remote-User")
            return self._challenge(request, offered=True)
        # Raw header bytes: a user name may be any Unicode, and the proxy passes
        # the UTF-8 bytes on (Starlette would refuse non-Latin-1 text).
        response = Response(b"", 200)
        response.raw_headers.append((b"remote-user", user.encode("utf-8")))
        return self._security_headers(response)

    def _challenge(
        self, request: Request, *, offered: bool, retry_after: float | None = None
    ) -> Response:
        mode = request.query_params.get("redirect", str(self.web.redirect_status))
        accept = request.headers.get("accept", "")
        if (
            self.web.portal
            and self.web.portal_url
            and not offered
            and mode in ("302", "303", "307", "401")
            and "text/html" in accept
        ):
            response = Response(b"", int(mode), headers={"Location": self._login_url(request)})
            return self._security_headers(response)
        realm = self.web.realm.replace("\\", "").replace('"', "")
        headers = {"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"'}
        if retry_after is not None:
            headers["Retry-After"] = str(max(math.ceil(retry_after), 1))
        return self._security_headers(Response("Unauthorized\n", 401, headers=headers))

    # --- forward auth -----------------------------------------------------------------

    async def forward_auth(self, request: Request) -> Response:
        """``/auth`` for nginx ``auth_request``, Traefik ForwardAuth, Caddy ``forward_auth``.

        Only 2xx, 401 and 403 mean something to these proxies (nginx turns
        anything else into a 500), so every refusal here is a 401.
        """
        started = time.perf_counter()
        now = self.clock()
        ip = self.client_ip(request)
        session = self._session(request, ip, now)
        if session is not None:
            self.metrics.record("auth", "session", time.perf_counter() - started, False)
            response = self._ok(session.user, request)
            if self.sessions.needs_refresh(session, now):
                fresh = Session(session.user, session.issued_at, now, session.ip)
                self._set_session(response, fresh, now)
            return response
        header = request.headers.get("authorization")
        if header is None:
            return self._challenge(request, offered=False)
        try:
            user, password = parse_basic(header)
        except MalformedCredentials:
            self.metrics.record("auth", "malformed_header", 0.0, False)
            return self._challenge(request, offered=True)
        cached = request.scope.get(CACHED_DECISION)
        if cached is not None and cached[:3] == (user, password, ip):
            decision = cached[3]  # taken by SessionFastPath from the same request
            self.metrics.record(
                "auth", decision.reason, 0.0, decision.retry_after is not None and not decision.ok
            )
        else:
            decision = await self.decide("auth", user, password, ip, now)
        if decision.ok and decision.user is not None:
            return self._ok(decision.user, request)
        return self._challenge(request, offered=True, retry_after=decision.retry_after)

    # --- login portal -----------------------------------------------------------------

    def _login_form(
        self,
        request: Request,
        status: int = 200,
        *,
        user: str = "",
        message: str | None = None,
        return_to: str = "",
        headers: dict[str, str] | None = None,
        values: dict[str, object] | None = None,
    ) -> Response:
        nonce, token, new = self._csrf_pair(request)
        lang = self._lang(request)
        shown = None if message is None else translator(lang)(message, **(values or {}))
        text = pages.login_page(
            site=self.web.title,
            csrf=token,
            return_to=return_to,
            user=user,
            message=shown,
            lang=lang,
        )
        return self._with_csrf_cookie(self._html(text, status, headers), nonce, new)

    async def login(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._login_post(request)
        now = self.clock()
        target = self._return_target(request, request.query_params.get("rd")) or ""
        if target and self._session(request, self.client_ip(request), now) is not None:
            return self._security_headers(Response(b"", 303, headers={"Location": target}))
        return self._login_form(request, return_to=target)

    def _bad_form(self, text: str, status: int) -> Response:
        page = pages.message_page(
            site=self.web.title, heading="Bad request", text=text, kind="error"
        )
        return self._html(page, status)

    async def _form(self, request: Request) -> dict[str, str] | Response:
        """The POSTed form fields, or the error response."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return self._bad_form("Unsupported form encoding.", 415)
        try:
            body = await self._read_body(request)
            fields = urllib.parse.parse_qs(
                body.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=10,
                strict_parsing=False,
            )
        except PayloadTooLarge:
            return self._bad_form("The form is too large.", 413)
        except (UnicodeDecodeError, ValueError, ClientDisconnect):
            return self._bad_form("The form could not be read.", 400)
        return {k: v[0] for k, v in fields.items() if len(v) == 1}

    def _csrf_failed(self, request: Request, form: dict[str, str]) -> bool:
        if self._cross_site(request):
            return True
        return not self.csrf.check(request.cookies.get(CSRF_COOKIE), form.get("csrf"))

    async def _login_post(self, request: Request) -> Response:
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        target = self._return_target(request, form.get("rd")) or ""
        user = form.get("username", "").strip()
        if self._csrf_failed(request, form):
            return self._login_form(
                request,
                403,
                user=user,
                return_to=target,
                message="The form had expired. Please sign in again.",
            )
        pin = form.get("pin", "")
        # People type codes as shown ("123 456"); spaces are never part of one.
        code = "".join(form.get("code", "").split())
        try:
            check_user(user)
            if not code or len(pin) + len(code) > 1024:
                raise MalformedCredentials("no code")
        except MalformedCredentials:
            return self._login_form(
                request,
                400,
                user=user if len(user) <= 256 else "",
                return_to=target,
                message="Enter your user name, PIN and one-time code.",
            )
        now = self.clock()
        ip = self.client_ip(request)
        decision = await self.decide("login", user, pin + code, ip, now)
        if decision.ok and decision.user is not None:
            response = self._security_headers(
                Response(b"", 303, headers={"Location": target or self.kit.landing()})
            )
            self._set_session(response, Session(decision.user, now, now, ip), now)
            self.kit.service.audit(now, decision.user, Event.SESSION_CREATED, ip)
            return response
        if decision.retry_after is not None:
            wait = str(max(math.ceil(decision.retry_after), 1))
            return self._login_form(
                request,
                429,
                user=user,
                return_to=target,
                message=messages.THROTTLED,
                values={"n": wait},
                headers={"Retry-After": wait},
            )
        if decision.reason == "store_error":
            return self._login_form(request, 503, user=user, return_to=target, message=UNAVAILABLE)
        return self._login_form(request, 401, user=user, return_to=target, message=WRONG)

    async def logout(self, request: Request) -> Response:
        now = self.clock()
        session = self.sessions.decode(request.cookies.get(self.web.cookie_name), now)
        if request.method != "POST":
            nonce, token, new = self._csrf_pair(request)
            text = pages.logout_page(
                site=self.web.title,
                csrf=token,
                user=session.user if session else None,
                lang=self._lang(request),
            )
            return self._with_csrf_cookie(self._html(text), nonce, new)
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        if self._csrf_failed(request, form):
            return self._html(
                pages.message_page(
                    site=self.web.title,
                    heading="Not signed out",
                    text="The form had expired. Please try again.",
                    kind="error",
                    link="logout",
                ),
                403,
            )
        if session is not None:
            started = time.perf_counter()
            try:
                await run_in_threadpool(self.auth.logout, session.user, now=now)
                result = "logout"
            except OTPGateError as exc:
                # The cookie is still cleared below; say so honestly in the log.
                log.error("server-side logout failed: %s", exc.__class__.__name__)
                result = "logout_store_error"
            self.metrics.record("logout", result, time.perf_counter() - started, False)
        if self.web.signed_out_url:
            response = self._security_headers(
                Response(b"", 303, headers={"Location": self.web.signed_out_url})
            )
        else:
            lang = self._lang(request)
            again = "login?rd=" + urllib.parse.quote(self.kit.landing(), safe="")
            response = self._html(
                pages.message_page(
                    site=self.web.title,
                    heading=messages.SIGNED_OUT,
                    text=messages.SIGNED_OUT_TEXT,
                    lang=lang,
                    links=[(again, translator(lang)(messages.SIGN_IN_AGAIN))],
                )
            )
        self._clear_session(response)
        return response

    async def root(self, request: Request) -> Response:
        now = self.clock()
        session = self._session(request, self.client_ip(request), now)
        nonce, token, new = self._csrf_pair(request)
        text = pages.status_page(
            site=self.web.title,
            user=session.user if session else None,
            csrf=token,
            lang=self._lang(request),
            landing=self.kit.landing(),
        )
        return self._with_csrf_cookie(self._html(text), nonce, new)

    async def demo(self, request: Request) -> Response:
        now = self.clock()
        session = self._session(request, self.client_ip(request), now)
        if session is None:
            return self._security_headers(
                Response(b"", 302, headers={"Location": "../login?rd=%2Fdemo%2F"})
            )
        nonce, token, new = self._csrf_pair(request)
        text = pages.demo_page(site=self.web.title, user=session.user, csrf=token)
        return self._with_csrf_cookie(self._html(text), nonce, new)

    # --- JSON API ---------------------------------------------------------------------

    def _api_key_ok(self, request: Request) -> bool:
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if not given or not self._api_keys or len(given) > 512:
            return False
        digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
        found = False
        for key in self._api_keys:
            # No early exit: the time taken does not depend on which key matched.
            found |= hmac.compare_digest(key, digest)
        return found

    async def api_check(self, request: Request) -> Response:
        """``POST /api/v1/check`` ``{"user": ..., "password": ..., "ip": ...}``."""

        def error(status: int, text: str) -> Response:
            return self._security_headers(JSONResponse({"ok": False, "error": text}, status))

        if not self._api_key_ok(request):
            return error(403, "a valid API key is required")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return error(415, "the body must be application/json")
        try:
            data: Any = json.loads(await self._read_body(request))
        except PayloadTooLarge:
            return error(413, "the body is too large")
        except (ValueError, ClientDisconnect):
            return error(400, "the body is not JSON")
        if not isinstance(data, dict):
            return error(400, "the body must be a JSON object")
        user, password, ip = data.get("user"), data.get("password"), data.get("ip")
        if not isinstance(user, str) or not isinstance(password, str):
            return error(400, "user and password must be strings")
        if ip is None:
            ip = self.client_ip(request)
        elif not isinstance(ip, str) or not _is_ip(ip):
            return error(400, "ip must be an IP address")
        try:
            check_user(user)
            if len(password) > 1024:
                raise MalformedCredentials("password too long")
        except MalformedCredentials:
            return error(400, "user must be 1 to 256 characters without control characters")
        decision = await self.decide("api", user, password, ip, self.clock())
        if decision.ok:
            return self._security_headers(JSONResponse({"ok": True, "user": decision.user}))
        if decision.retry_after is not None:
            wait = max(math.ceil(decision.retry_after), 1)
            return self._security_headers(
                JSONResponse(
                    {"ok": False, "retry_after": wait}, 429, headers={"Retry-After": str(wait)}
                )
            )
        if decision.reason == "store_error":
            return self._security_headers(JSONResponse({"ok": False}, 503))
        return self._security_headers(JSONResponse({"ok": False}, 401))

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)

    # --- operations -------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        if self.store is not None:
            try:
                await run_in_threadpool(self.store.ping)
            except OTPGateError:
                return JSONResponse({"status": "store unreachable"}, 503)
        return JSONResponse({"status": "ok"})

    async def metrics_page(self, request: Request) -> Response:
        peer = request.client.host if request.client else None
        if not is_trusted(peer, self.metrics_nets):
            return Response("Forbidden\n", 403)
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class HeaderLimit:
    """Refuses requests with oversized headers before any handler parses them.

    uvicorn has its own limits; this one also holds behind other servers and
    in tests, and answers 431 instead of dropping the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: Sequence[tuple[bytes, bytes]] = scope.get("headers", ())
            total = 0
            for name, value in headers:
                size = len(name) + len(value)
                total += size
                if size > MAX_HEADER or total > MAX_HEADERS_TOTAL:
                    response = Response("Request header fields too large\n", 431)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


# The headers of Gate._ok's answer after the Remote-User header, in its order.
_SECURITY_HEADERS: Final = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_EMPTY_BODY: Final = {"type": "http.response.body", "body": b""}


# Where the fast path leaves a refusal it already took from the Authenticator's
# memory, so the full path neither asks nor audits it a second time.
CACHED_DECISION: Final = "otpgate.cached_decision"


class SessionFastPath:
    """Answers ``/auth``'s hot cases below Starlette's routing.

    Behind nginx every page, image and script of the protected site passes
    ``/auth``.  For a valid session cookie or a lingering Basic credential the
    decision itself (a cached signature check and ``session_valid``, or the
    Authenticator's in-memory ``check_cached``) is a small part of such a
    request; the router and the ``Request``/``Response`` objects took half of
    the gate's CPU time per request (docs/benchmarks.md).  Only the plain
    success is answered here, with the same decision and the same response as
    :meth:`Gate.forward_auth`; everything else -- no credentials, an invalid
    cookie, one due for refresh, ``logout_on_ip_change``, an app mounted under
    a prefix, a name the full path refuses -- goes on to the app, carrying a
    refusal already decided in the scope (:data:`CACHED_DECISION`).
    """

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate
        self._enabled = not gate.config.auth.logout_on_ip_change
        self._methods = frozenset(ALL_METHODS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self._enabled
            and scope["type"] == "http"
            and scope["path"] == "/auth"
            and not scope.get("root_path")
            and scope["method"] in self._methods
        ):
            user = self._answer(scope)
            if user is not None:
                headers = [
                    (b"content-length", b"0"),
                    (b"remote-user", user.encode("utf-8")),
                    *_SECURITY_HEADERS,
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send(_EMPTY_BODY)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> str | None:
        started = time.perf_counter()
        cookie = authorization = forwarded = None
        # The first of each, as Starlette's Request reads them.
        for name, value in scope["headers"]:
            if name == b"cookie" and cookie is None:
                cookie = value.decode("latin-1")
            elif name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"x-forwarded-for" and forwarded is None:
                forwarded = value.decode("latin-1")
        gate = self.gate
        now = gate.clock()
        if cookie is not None:
            session = gate.sessions.decode(cookie_parser(cookie).get(gate.web.cookie_name), now)
            if session is not None:
                # A genuine cookie is the full path's business unless it is revoked.
                if gate.sessions.needs_refresh(session, now) or _CONTROL.search(session.user):
                    return None
                if gate.auth.session_valid(session.user, session.issued_at, now=now):
                    gate.metrics.record("auth", "session", time.perf_counter() - started, False)
                    return session.user
        if authorization is None:
            return None
        try:
            user, password = parse_basic(authorization)
        except MalformedCredentials:
            return None
        client = scope.get("client")
        ip = client_address(client[0] if client else None, forwarded, gate.trusted)
        try:
            decision = gate.auth.check_cached(user, password, ip, now=now)
        except OTPGateError:
            return None  # the full path asks again and answers store trouble
        if decision is None:
            return None
        if not decision.ok or decision.user is None or _CONTROL.search(decision.user):
            scope[CACHED_DECISION] = (user, password, ip, decision)
            return None
        gate.metrics.record("auth", decision.reason, time.perf_counter() - started, False)
        return decision.user


def create_app(
    config: Config,
    authenticator: Authenticator,
    store: Store | None = None,
    *,
    clock: Callable[[], float] = time.time,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    """The ASGI application.

    Args:
        config: all settings.
        authenticator: the one Authenticator.
        store: the store behind it, for ``/healthz``.
        clock: Unix time (tests freeze it).
        on_shutdown: called when the server stops (closes what ``serve`` opened).

    Raises:
        ConfigError: no session secret, bad networks.
    """
    gate = Gate(config, authenticator, store, clock=clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown()

    routes = [
        Route("/auth", gate.forward_auth, methods=ALL_METHODS),
        Route("/login", gate.login, methods=["GET", "HEAD", "POST"]),
        Route("/logout", gate.logout, methods=["GET", "HEAD", "POST"]),
        Route("/", gate.root, methods=["GET", "HEAD"]),
        Route("/api/v1/check", gate.api_check, methods=["POST"]),
        Route("/openapi.json", gate.openapi, methods=["GET", "HEAD"]),
        Route("/healthz", gate.healthz, methods=["GET", "HEAD"]),
        Route("/metrics", gate.metrics_page, methods=["GET", "HEAD"]),
    ]
    if config.web.demo:
        routes.append(Route("/demo/", gate.demo, methods=["GET", "HEAD"]))
    routes += [*EnrolPages(gate.kit).routes(), *AccountPage(gate.kit).routes()]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.gate = gate
    # Added first, so it runs after HeaderLimit's check.
    app.add_middleware(SessionFastPath, gate=gate)
    app.add_middleware(HeaderLimit)
    return app
