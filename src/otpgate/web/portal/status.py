"""``/`` (who is signed in), ``/demo/`` (what ``otpgate demo`` protects) and the 404 page."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..http import html, redirect, secure
from . import messages, pages

if TYPE_CHECKING:
    from .forms import Forms

__all__ = ["StatusPages"]


@dataclass(frozen=True, slots=True)
class StatusPages:
    """The portal's root, the demo page and "no such page".

    Attributes:
        forms: form handling (the pages hold the sign-out form), the session.
    """

    forms: Forms

    def routes(self) -> list[Route]:
        routes = [Route("/", self.root, methods=["GET", "HEAD"])]
        if self.forms.web.demo:
            routes.append(Route("/demo/", self.demo, methods=["GET", "HEAD"]))
        return routes

    async def root(self, request: Request) -> Response:
        forms = self.forms
        session = forms.session(request, forms.now())
        name = session.user if session else None
        lang, landing, site = forms.lang(request), forms.landing(), forms.web.title

        def text(token: str) -> str:
            return pages.status_page(site=site, user=name, csrf=token, lang=lang, landing=landing)

        return forms.page(request, text)

    async def demo(self, request: Request) -> Response:
        forms = self.forms
        session = forms.session(request, forms.now())
        if session is None:
            return redirect("../login?rd=%2Fdemo%2F", 302)
        name, lang, site = session.user, forms.lang(request), forms.web.title

        def text(token: str) -> str:
            return pages.demo_page(site=site, user=name, csrf=token, lang=lang)

        return forms.page(request, text)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """A page with a way to sign in for a browser; the usual short answer for programs.

        Every redirect of the portal lands on a page of the gate, so a browser
        that meets a 404 here followed a wrong ``web.portal_url`` or an old
        link: it gets the sign-in page's address, not a bare "Not Found".
        """
        if "text/html" not in request.headers.get("accept", ""):
            return secure(PlainTextResponse("Not Found", 404))
        portal_url = self.forms.web.portal_url
        login = portal_url.rstrip("/") + "/login"
        prefix = urllib.parse.urlsplit(portal_url).path.rstrip("/")
        if prefix and request.url.path.startswith(prefix + "/"):
            # The portal's path prefix reached the gate itself: nothing in front
            # strips it, so the sign-in page is at the gate's own root.
            login = "/login"
        page = pages.message_page(
            site=self.forms.web.title,
            heading=messages.NOT_FOUND,
            text=messages.NOT_FOUND_TEXT,
            kind="error",
            link=login,
            lang=self.forms.lang(request),
        )
        return html(page, 404)
