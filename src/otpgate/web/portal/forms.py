"""What the self-service pages need from the gate, behind one small interface.

The pages (:mod:`.enrol`, :mod:`.account`) speak only to :class:`FormKit`:
rendering a page that holds a form (with its CSRF token), reading a POSTed
form, the CSRF and cross-site checks, the session, the language, a decision.
Only this module knows how the gate's front ends are put together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ...accounts.pin_policy import PinPolicy
from ...accounts.selfservice import SelfService
from ...login.pins import PinHasher
from ..http import html, redirect
from ..i18n import choose
from ..templating import render

if TYPE_CHECKING:
    from ...login.authenticator import Decision
    from ..sessions import Session
    from .login import Portal

__all__ = ["FormKit", "landing_url"]

# A page with a form, given the form's CSRF token.
PageText = Callable[[str], str]


class FormKit:
    """The portal's form handling, sessions and decisions, for the self-service pages.

    Args:
        portal: the login portal (its CSRF handling and form reading are the
            same for every page).
    """

    def __init__(self, portal: Portal) -> None:
        self._portal = portal
        self._gate = gate = portal.gate
        self.web = gate.web
        self.auth = gate.auth
        self.service = SelfService(
            gate.store,
            policy=PinPolicy(min_length=self.web.pin_min_length),
            hasher=PinHasher(),
            audit=gate.auth.audit,
            issuer=self.web.title,
        )

    def now(self) -> float:
        return self._gate.clock()

    def lang(self, request: Request) -> str:
        return choose(request.headers.get("accept-language"), self.web.language)

    def ip(self, request: Request) -> str:
        return self._gate.client_ip(request)

    def html(self, text: str, status: int = 200) -> Response:
        return html(text, status)

    def page(
        self,
        request: Request,
        text: PageText,
        status: int = 200,
        headers: dict[str, str] | None = None,
        session: Session | None = None,
    ) -> Response:
        """A page holding a form: its CSRF token (for the request's session, or for
        ``session`` when the answer sets a new one), and the nonce cookie if new."""
        return self._portal._form_page(request, text, status, headers, session)

    def form_page(
        self,
        request: Request,
        template: str,
        lang: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        csrf_session: Session | None = None,
        **fields: Any,
    ) -> Response:
        """:meth:`page` of ``template`` with the language, the site's title and the
        form's CSRF token (for ``csrf_session`` if given), and ``fields``."""
        title = self.web.title
        return self.page(
            request,
            lambda csrf: render(template, lang=lang, site=title, csrf=csrf, **fields),
            status,
            headers,
            csrf_session,
        )

    def redirect(self, location: str, status: int = 303) -> Response:
        return redirect(location, status)

    async def form(self, request: Request) -> dict[str, str] | Response:
        """The POSTed fields, or the error page (wrong encoding, too large, unreadable)."""
        return await self._portal._form(request)

    def csrf_failed(self, request: Request, form: dict[str, str]) -> bool:
        return self._portal._csrf_failed(request, form)

    def session(self, request: Request, now: float) -> Session | None:
        return self._portal._session(request, now)

    def set_session(self, response: Response, session: Session, now: float) -> None:
        self._gate.set_session(response, session, now)

    async def decide(
        self, frontend: str, user: str, password: str, ip: str, now: float, request: Request
    ) -> Decision:
        # The browser's device cookie, if it has one for this user, keeps it
        # out of strangers' spent guess budget (otpgate.regulation.budget).
        device = await self._gate.device(request.cookies, user, now)
        return await self._gate.decide(frontend, user, password, ip, now, device=device)

    def portal_path(self, page: str) -> str:
        """``page`` of the portal as an absolute URL or path (for ``rd``)."""
        return self.web.portal_url.rstrip("/") + "/" + page

    def landing(self) -> str:
        """Where a signed-in user goes by default (``web.landing_url``)."""
        return landing_url(self.web.landing_url, self.web.portal_url)


def landing_url(setting: str, portal_url: str) -> str:
    """``setting``, else ``/`` when the portal is a path on the protected site, else
    the portal's account page."""
    if setting:
        return setting
    return (
        "/" if not portal_url or portal_url.startswith("/") else portal_url.rstrip("/") + "/account"
    )
