"""``/logout``: asks first (a GET changes nothing), then signs out this browser or every one.

"Sign out" (``scope=browser``) only drops this browser's cookie; "Sign out
everywhere" (or a form of an older page) also revokes every session and
lingering credential of the user on the server side.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..http import html, redirect
from ..i18n import translator
from . import messages, pages
from .login import FORM_METHODS

if TYPE_CHECKING:
    from ..decisions import Decisions
    from .forms import Forms

__all__ = ["LogoutPage"]


@dataclass(frozen=True, slots=True)
class LogoutPage:
    """``/logout``.

    Attributes:
        forms: form handling, the session, the language.
        decisions: ends sessions on the server side (counted in the metrics).
    """

    forms: Forms
    decisions: Decisions

    def routes(self) -> list[Route]:
        return [Route("/logout", self.logout, methods=FORM_METHODS)]

    async def logout(self, request: Request) -> Response:
        forms, now = self.forms, self.forms.now()
        sessions = forms.sessions
        # Any genuine cookie may sign out, even one from another address.
        session = sessions.codec.decode(request.cookies.get(sessions.name), now)
        name = session.user if session else None
        if request.method != "POST":
            lang, site = forms.lang(request), forms.web.title

            def text(token: str) -> str:
                return pages.logout_page(site=site, csrf=token, user=name, lang=lang)

            return forms.page(request, text)
        form = await forms.read(request)
        if isinstance(form, Response):
            return form
        if forms.csrf_failed(request, form):
            page = pages.message_page(
                site=forms.web.title,
                heading=messages.NOT_SIGNED_OUT,
                text=messages.EXPIRED_FORM_RETRY,
                kind="error",
                link="logout",
                lang=forms.lang(request),
            )
            return html(page, 403)
        if session is not None and form.get("scope") != "browser":
            await self.decisions.logout(session.user, now)
        response = self._signed_out(request)
        sessions.clear(response)
        return response

    def _signed_out(self, request: Request) -> Response:
        """Where signing out leads: ``web.signed_out_url``, else a page with a way back."""
        web = self.forms.web
        if web.signed_out_url:
            return redirect(web.signed_out_url, 303)
        lang = self.forms.lang(request)
        again = "login?rd=" + urllib.parse.quote(self.forms.landing(), safe="")
        page = pages.message_page(
            site=web.title,
            heading=messages.SIGNED_OUT,
            text=messages.SIGNED_OUT_TEXT,
            lang=lang,
            links=[(again, translator(lang)(messages.SIGN_IN_AGAIN))],
        )
        return html(page)
