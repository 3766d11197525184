"""The login portal: the login and logout forms, the status page, the demo page.

A login here sets the signed session cookie that ``/auth`` accepts.  Every
POST is checked twice against cross-site requests: the browser's own
``Sec-Fetch-Site``/``Origin`` and a double-submit CSRF token tied to the
browser's session (:class:`~.sessions.CsrfGuard`).
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD, MAX_USER, retry_after_seconds
from ...errors import OTPGateError
from ...login.reasons import Reason
from ..gate import Gate
from ..http import PayloadTooLarge, html, read_body, redirect, retry_after, secure
from ..i18n import choose, translator
from ..request import MalformedCredentials, check_user, safe_return_url, split_host
from ..sessions import Session
from ..slide import mark
from . import messages, pages
from .forms import landing_url

__all__ = ["Portal"]

log = logging.getLogger(__name__)

CSRF_COOKIE: Final = "otpgate_csrf"
WRONG: Final = messages.WRONG
UNAVAILABLE: Final = messages.UNAVAILABLE
FORM_METHODS: Final = ["GET", "HEAD", "POST"]

# A page with a form, given the form's CSRF token.
PageText = Callable[[str], str]


class Portal:
    """The pages people see.

    Args:
        gate: the shared state.
    """

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.web = gate.web
        self.csrf = gate.csrf

    def routes(self) -> list[Route]:
        routes = [
            Route("/login", self.login, methods=FORM_METHODS),
            Route("/logout", self.logout, methods=FORM_METHODS),
            Route("/", self.root, methods=["GET", "HEAD"]),
        ]
        if self.web.demo:
            routes.append(Route("/demo/", self.demo, methods=["GET", "HEAD"]))
        return routes

    # --- where the browser is -------------------------------------------------------

    def _session(self, request: Request, now: float) -> Session | None:
        """The request's valid session, marked for sliding (:mod:`.slide`), or ``None``."""
        cookie = request.cookies.get(self.web.cookie_name)
        session = self.gate.session(cookie, now, self.gate.client_ip(request))
        if session is not None:
            mark(request.scope, session, now)
        return session

    def _lang(self, request: Request) -> str:
        return choose(request.headers.get("accept-language"), self.web.language)

    def _landing(self) -> str:
        return landing_url(self.web.landing_url, self.web.portal_url)

    def _own_host(self, request: Request) -> str:
        host = self.gate.forwarded(request, "x-forwarded-host") or request.headers.get("host", "")
        return split_host(host)

    def _own_origin(self, request: Request) -> tuple[str, str]:
        """(scheme, host[:port]) of this page as the browser sees it."""
        scheme = self.gate.forwarded(request, "x-forwarded-proto") or request.url.scheme
        host = self.gate.forwarded(request, "x-forwarded-host") or request.headers.get("host", "")
        return scheme.lower(), host.lower()

    def _return_target(self, request: Request, value: str | None) -> str:
        allowed = [*self.gate.allowed_hosts, self._own_host(request)]
        return safe_return_url(value, allowed) or ""

    # --- cross-site request forgery -------------------------------------------------

    def _csrf_pair(self, request: Request, session: Session | None) -> tuple[str, str, bool]:
        """(nonce, form token for ``session``, whether the nonce cookie must be set)."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce or len(nonce) > 64:
            nonce = self.csrf.new_nonce()
            return nonce, self.csrf.token(nonce, session), True
        return nonce, self.csrf.token(nonce, session), False

    def _form_page(
        self,
        request: Request,
        text: PageText,
        status: int = 200,
        headers: dict[str, str] | None = None,
        session: Session | None = None,
    ) -> Response:
        """A page holding a form: its token, and the nonce cookie if new.

        The token is for the request's session, or for ``session`` when the
        answer gives the browser a new one (a PIN change).
        """
        if session is None:
            session = self._session(request, self.gate.clock())
        nonce, token, new = self._csrf_pair(request, session)
        response = html(text(token), status, headers)
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

    def _csrf_failed(self, request: Request, form: dict[str, str]) -> bool:
        if self._cross_site(request):
            return True
        session = self._session(request, self.gate.clock())
        return not self.csrf.check(request.cookies.get(CSRF_COOKIE), form.get("csrf"), session)

    # --- no such page ---------------------------------------------------------------

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """A page with a way to sign in for a browser; the usual short answer for programs.

        Every redirect of the portal lands on a page of the gate, so a browser
        that meets a 404 here followed a wrong ``web.portal_url`` or an old
        link: it gets the sign-in page's address, not a bare "Not Found".
        """
        if "text/html" not in request.headers.get("accept", ""):
            return secure(PlainTextResponse("Not Found", 404))
        login = self.web.portal_url.rstrip("/") + "/login"
        prefix = urllib.parse.urlsplit(self.web.portal_url).path.rstrip("/")
        if prefix and request.url.path.startswith(prefix + "/"):
            # The portal's path prefix reached the gate itself: nothing in front
            # strips it, so the sign-in page is at the gate's own root.
            login = "/login"
        page = pages.message_page(
            site=self.web.title,
            heading=messages.NOT_FOUND,
            text=messages.NOT_FOUND_TEXT,
            kind="error",
            link=login,
            lang=self._lang(request),
        )
        return html(page, 404)

    # --- forms ----------------------------------------------------------------------

    def _bad_form(self, text: str, status: int) -> Response:
        page = pages.message_page(
            site=self.web.title, heading="Bad request", text=text, kind="error"
        )
        return html(page, status)

    async def _form(self, request: Request) -> dict[str, str] | Response:
        """The POSTed form fields, or the error response."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return self._bad_form("Unsupported form encoding.", 415)
        try:
            body = await read_body(request, self.web.max_body)
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
        lang = self._lang(request)
        shown = None if message is None else translator(lang)(message, **(values or {}))

        def text(token: str) -> str:
            return pages.login_page(
                site=self.web.title,
                csrf=token,
                return_to=return_to,
                user=user,
                message=shown,
                lang=lang,
            )

        return self._form_page(request, text, status, headers)

    # --- login ----------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._login_post(request)
        target = self._return_target(request, request.query_params.get("rd"))
        if target and self._session(request, self.gate.clock()) is not None:
            return redirect(target, 303)
        return self._login_form(request, return_to=target)

    async def _login_post(self, request: Request) -> Response:
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        target = self._return_target(request, form.get("rd"))
        user = form.get("username", "").strip()
        if self._csrf_failed(request, form):
            message = messages.EXPIRED_FORM
            return self._login_form(request, 403, user=user, return_to=target, message=message)
        pin = form.get("pin", "")
        # People type codes as shown ("123 456"); spaces are never part of one.
        code = "".join(form.get("code", "").split())
        try:
            check_user(user)
            if not code or len(pin) + len(code) > MAX_PASSWORD:
                raise MalformedCredentials("no code")
        except MalformedCredentials:
            return self._login_form(
                request,
                400,
                user=user if len(user) <= MAX_USER else "",
                return_to=target,
                message=messages.INCOMPLETE,
            )
        gate = self.gate
        now = gate.clock()
        ip = gate.client_ip(request)
        # The answer to a success is made before the decision: a code is never
        # used up for an answer that then cannot be sent.
        accepted = redirect(target or self._landing(), 303)
        device = await gate.device(request.cookies, user, now)
        # A code typed into the form is single use: no lingering credential answers.
        decision = await gate.decide(
            "login", user, pin + code, ip, now, linger=False, device=device
        )
        session = None
        if decision.ok and decision.user is not None:
            session = await run_in_threadpool(gate.new_session, decision.user, now, ip)
        if session is not None:
            gate.set_session(accepted, session, now)
            # This browser keeps a guess budget of its own for the user from now on.
            accepted.raw_headers.append(gate.device_cookie(session.user, session.binding, now))
            return accepted
        if decision.retry_after is not None:
            wait = retry_after_seconds(decision.retry_after)
            headers = retry_after(decision.retry_after)
            return self._login_form(
                request,
                429,
                user=user,
                return_to=target,
                message=messages.THROTTLED,
                values={"n": wait},
                headers=headers,
            )
        message = UNAVAILABLE if decision.reason == Reason.STORE_ERROR else WRONG
        status = 503 if decision.reason == Reason.STORE_ERROR else 401
        return self._login_form(request, status, user=user, return_to=target, message=message)

    # --- logout ---------------------------------------------------------------------

    async def logout(self, request: Request) -> Response:
        now = self.gate.clock()
        # Any genuine cookie may sign out, even one from another address.
        session = self.gate.sessions.decode(request.cookies.get(self.web.cookie_name), now)
        name = session.user if session else None
        if request.method != "POST":
            lang = self._lang(request)

            def text(token: str) -> str:
                return pages.logout_page(site=self.web.title, csrf=token, user=name, lang=lang)

            return self._form_page(request, text)
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        if self._csrf_failed(request, form):
            page = pages.message_page(
                site=self.web.title,
                heading=messages.NOT_SIGNED_OUT,
                text=messages.EXPIRED_FORM_RETRY,
                kind="error",
                link="logout",
                lang=self._lang(request),
            )
            return html(page, 403)
        # "Sign out" (scope=browser) only drops this browser's cookie; anything
        # else ("Sign out everywhere", a form of an older page) revokes every session.
        if session is not None and form.get("scope") != "browser":
            await self._revoke(session.user, now)
        response = self._signed_out(request)
        self.gate.clear_session(response)
        return response

    def _signed_out(self, request: Request) -> Response:
        """Where signing out leads: ``web.signed_out_url``, else a page with a way back."""
        if self.web.signed_out_url:
            return redirect(self.web.signed_out_url, 303)
        lang = self._lang(request)
        again = "login?rd=" + urllib.parse.quote(self._landing(), safe="")
        page = pages.message_page(
            site=self.web.title,
            heading=messages.SIGNED_OUT,
            text=messages.SIGNED_OUT_TEXT,
            lang=lang,
            links=[(again, translator(lang)(messages.SIGN_IN_AGAIN))],
        )
        return html(page)

    async def _revoke(self, user: str, now: float) -> None:
        """End the user's sessions and lingering credentials on the server side."""
        started = time.perf_counter()
        result: str = Reason.LOGOUT
        try:
            await run_in_threadpool(self.gate.auth.logout, user, now=now)
        except OTPGateError as exc:
            # The cookie is still cleared; say so honestly in the log.
            log.error("server-side logout failed: %s", exc.__class__.__name__)
            result = "logout_store_error"
        self.gate.metrics.record("logout", result, time.perf_counter() - started, False)

    # --- pages behind a login -------------------------------------------------------

    async def root(self, request: Request) -> Response:
        session = self._session(request, self.gate.clock())
        name = session.user if session else None

        lang, landing = self._lang(request), self._landing()

        def text(token: str) -> str:
            return pages.status_page(
                site=self.web.title, user=name, csrf=token, lang=lang, landing=landing
            )

        return self._form_page(request, text)

    async def demo(self, request: Request) -> Response:
        session = self._session(request, self.gate.clock())
        if session is None:
            return redirect("../login?rd=%2Fdemo%2F", 302)
        name = session.user

        lang = self._lang(request)

        def text(token: str) -> str:
            return pages.demo_page(site=self.web.title, user=name, csrf=token, lang=lang)

        return self._form_page(request, text)
