"""What every page with a form does: the session, the language, the CSRF token, the POSTed fields.

The portal, the self-service pages and the admin pages all read forms and
guard them here, so every POST is checked twice against cross-site requests:
the browser's own ``Sec-Fetch-Site``/``Origin`` and a double-submit CSRF token
tied to the browser's session (:class:`~otpgate.web.sessions.CsrfGuard`).
A page that finds a valid session marks it for sliding (:mod:`otpgate.web.slide`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..http import PayloadTooLarge, html, read_body
from ..i18n import choose
from ..slide import mark
from ..templating import render
from . import messages, pages

if TYPE_CHECKING:
    from ...config.loader import WebConfig
    from ..clients import ClientAddresses
    from ..session_cookies import SessionCookies
    from ..sessions import CsrfGuard, Session

__all__ = ["CSRF_COOKIE", "Forms", "PageText", "landing_url"]

CSRF_COOKIE: Final = "otpgate_csrf"
# A page with a form, given the form's CSRF token.
PageText = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Forms:
    """The form handling of every page.

    Attributes:
        web: the ``[web]`` settings (title, language, portal and landing URLs,
            body limit, cookie flags).
        clock: the Authenticator's clock.
        clients: the client's address and origin behind trusted proxies.
        sessions: the browser's session.
        csrf: form tokens.
    """

    web: WebConfig
    clock: Callable[[], float]
    clients: ClientAddresses
    sessions: SessionCookies
    csrf: CsrfGuard

    # --- where the browser is -------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def ip(self, request: Request) -> str:
        return self.clients.of(request)

    def lang(self, request: Request) -> str:
        return choose(request.headers.get("accept-language"), self.web.language)

    def session(self, request: Request, now: float) -> Session | None:
        """The request's valid session, marked for sliding, or ``None``."""
        cookie = request.cookies.get(self.sessions.name)
        session = self.sessions.find(cookie, now, self.clients.of(request))
        if session is not None:
            mark(request.scope, session, now)
        return session

    def portal_path(self, page: str) -> str:
        """``page`` of the portal as an absolute URL or path (for ``rd``)."""
        return self.web.portal_url.rstrip("/") + "/" + page

    def landing(self) -> str:
        """Where a signed-in user goes by default (``web.landing_url``)."""
        return landing_url(self.web.landing_url, self.web.portal_url)

    # --- pages holding a form -------------------------------------------------------

    def page(
        self,
        request: Request,
        text: PageText,
        status: int = 200,
        headers: dict[str, str] | None = None,
        session: Session | None = None,
    ) -> Response:
        """A page holding a form: its CSRF token, and the nonce cookie if new.

        The token is for the request's session, or for ``session`` when the
        answer gives the browser a new one (a PIN change).
        """
        if session is None:
            session = self.session(request, self.clock())
        nonce = request.cookies.get(CSRF_COOKIE)
        fresh = None
        if not nonce or len(nonce) > 64:
            nonce = fresh = self.csrf.new_nonce()
        response = html(text(self.csrf.token(nonce, session)), status, headers)
        if fresh is not None:
            response.set_cookie(
                CSRF_COOKIE,
                fresh,
                path="/",
                secure=self.web.cookie_secure,
                httponly=True,
                samesite="strict",
            )
        return response

    def template(self, name: str, lang: str, **fields: Any) -> PageText:
        """The text of ``templates/<name>`` in ``lang`` with the site's title, ``fields``
        and the form's CSRF token, for :meth:`page`."""
        title = self.web.title
        return lambda csrf: render(name, lang=lang, site=title, csrf=csrf, **fields)

    # --- reading a POST -------------------------------------------------------------

    async def read(self, request: Request) -> dict[str, str] | Response:
        """The POSTed fields, or the error page (wrong encoding, too large, unreadable)."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return self._bad_form(messages.BAD_ENCODING, 415)
        try:
            body = await read_body(request, self.web.max_body)
            fields = urllib.parse.parse_qs(
                body.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=10,
                strict_parsing=False,
            )
        except PayloadTooLarge:
            return self._bad_form(messages.TOO_LARGE, 413)
        except (UnicodeDecodeError, ValueError, ClientDisconnect):
            return self._bad_form(messages.UNREADABLE, 400)
        return {k: v[0] for k, v in fields.items() if len(v) == 1}

    def _bad_form(self, text: str, status: int) -> Response:
        page = pages.message_page(
            site=self.web.title, heading=messages.BAD_REQUEST, text=text, kind="error"
        )
        return html(page, status)

    def cross_site(self, request: Request) -> bool:
        """A browser says this POST comes from another site."""
        if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
            return True
        origin = request.headers.get("origin")
        if origin is None:
            return False  # not a browser, or an old one; the CSRF token still decides
        parts = urllib.parse.urlsplit(origin) if origin != "null" else None
        if parts is None or not parts.netloc:
            return True
        return (parts.scheme.lower(), parts.netloc.lower()) != self.clients.origin(request)

    def csrf_failed(self, request: Request, form: dict[str, str]) -> bool:
        """The POST came from another site, or without this browser's form token."""
        if self.cross_site(request):
            return True
        session = self.session(request, self.clock())
        return not self.csrf.check(request.cookies.get(CSRF_COOKIE), form.get("csrf"), session)


def landing_url(setting: str, portal_url: str) -> str:
    """``setting``, else ``/`` when the portal is a path on the protected site, else
    the portal's account page."""
    if setting:
        return setting
    return (
        "/" if not portal_url or portal_url.startswith("/") else portal_url.rstrip("/") + "/account"
    )
