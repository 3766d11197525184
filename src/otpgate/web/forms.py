"""What the self-service pages need from the gate, behind one small interface.

The pages (:mod:`.enrol`, :mod:`.account`) speak only to :class:`FormKit`:
rendering a page that holds a form (with its CSRF token), reading a POSTed
form, the CSRF and cross-site checks, the session, the language, a decision.
Only this module knows how the gate's front ends are put together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ..pin_policy import PinPolicy
from ..pins import PinHasher
from ..selfservice import SelfService
from .i18n import choose

if TYPE_CHECKING:
    from ..auth import Decision
    from .app import Gate
    from .sessions import Session

__all__ = ["FormKit"]

# A page with a form, given the form's CSRF token.
PageText = Callable[[str], str]


class FormKit:
    """The gate's form handling, sessions and decisions, for the self-service pages.

    Args:
        gate: the gate.
    """

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self.web = gate.web
        self.auth = gate.auth
        store = gate.auth.store
        self.service = SelfService(
            store,
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
        return self._gate._html(text, status)

    def page(
        self,
        request: Request,
        text: PageText,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A page holding a form: its CSRF token, and the nonce cookie if new."""
        nonce, token, new = self._gate._csrf_pair(request)
        response = self._gate._html(text(token), status, headers)
        return self._gate._with_csrf_cookie(response, nonce, new)

    def redirect(self, location: str, status: int = 303) -> Response:
        return self._gate._security_headers(Response(b"", status, headers={"Location": location}))

    async def form(self, request: Request) -> dict[str, str] | Response:
        """The POSTed fields, or the error page (wrong encoding, too large, unreadable)."""
        return await self._gate._form(request)

    def csrf_failed(self, request: Request, form: dict[str, str]) -> bool:
        return self._gate._csrf_failed(request, form)

    def session(self, request: Request, now: float) -> Session | None:
        return self._gate._session(request, self.ip(request), now)

    def set_session(self, response: Response, session: Session, now: float) -> None:
        self._gate._set_session(response, session, now)

    async def decide(
        self, frontend: str, user: str, password: str, ip: str, now: float
    ) -> Decision:
        return await self._gate.decide(frontend, user, password, ip, now)

    def portal_path(self, page: str) -> str:
        """``page`` of the portal as an absolute URL or path (for ``rd``)."""
        return self.web.portal_url.rstrip("/") + "/" + page

    def landing(self) -> str:
        """Where a signed-in user goes by default."""
        if self.web.landing_url:
            return self.web.landing_url
        portal = self.web.portal_url
        return "/" if not portal or portal.startswith("/") else portal.rstrip("/") + "/account"
