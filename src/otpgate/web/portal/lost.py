"""``/lost``: a user who lost their token starts a reset with their PIN and a recovery code.

When the Authenticator accepts the user name, PIN and code *as a recovery
code*, the page makes a short-lived reset invitation and sends the browser to
it (:mod:`.enrol`, where the user may keep the PIN just typed).  A current
code of the token instead says that the token is not lost and where to sign
in; a lingering code proves nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._limits import retry_after_seconds
from ...errors import OTPGateError
from ...login.reasons import Reason
from ..http import redirect
from ..i18n import translator
from ..request import MalformedCredentials
from . import messages as m
from .enrol import message
from .login import FORM_METHODS, credentials

if TYPE_CHECKING:
    from ...accounts.selfservice import SelfService
    from ...login.authenticator import Decision
    from .browser import BrowserDecisions
    from .forms import Forms

__all__ = ["LOST_EXPIRES", "LostPage"]

log = logging.getLogger(__name__)

# A reset made from /lost must be finished in one sitting.
LOST_EXPIRES: Final = 15 * 60.0


@dataclass(frozen=True, slots=True)
class LostPage:
    """``/lost``.

    Attributes:
        forms: form handling, the language.
        service: makes the reset invitation.
        logins: decisions with the browser's device cookie.
    """

    forms: Forms
    service: SelfService
    logins: BrowserDecisions

    def routes(self) -> list[Route]:
        return [Route("/lost", self.lost, methods=FORM_METHODS)]

    def _page(
        self,
        request: Request,
        lang: str,
        status: int = 200,
        user: str = "",
        text: str | None = None,
        wait: int | None = None,
    ) -> Response:
        """The form, with ``text`` (a message id) and the ``Retry-After`` of ``wait`` seconds."""
        _ = translator(lang)
        shown = None if text is None else _(text) if wait is None else _(text, n=wait)
        headers = None if wait is None else {"Retry-After": str(wait)}
        page = self.forms.template("lost.html", lang, user=user, message=shown, invalid=bool(text))
        return self.forms.page(request, page, status, headers)

    async def lost(self, request: Request) -> Response:
        lang = self.forms.lang(request)
        if request.method != "POST":
            return self._page(request, lang)
        form = await self.forms.read(request)
        if isinstance(form, Response):
            return form
        user = form.get("username", "").strip()
        shown = user if len(user) <= 256 else ""
        if self.forms.csrf_failed(request, form):
            return self._page(request, lang, 403, shown, m.EXPIRED_FORM_RETRY)
        try:
            user, pin, code = credentials(form)
        except MalformedCredentials:
            return self._page(request, lang, 400, shown, m.NOT_RECOVERED)
        now, ip = self.forms.now(), self.forms.ip(request)
        decision = await self.logins.decide("lost", request, user, pin + code, ip, now)
        recovered = self._recovered(request, lang, shown, decision)
        if isinstance(recovered, Response):
            return recovered
        try:
            token = await run_in_threadpool(self._reset, recovered, now)
        except OTPGateError as exc:
            log.error("lost token: cannot make the invitation: %s", exc.__class__.__name__)
            return self._page(request, lang, 503, shown, m.UNAVAILABLE)
        except ValueError:
            # A Mobile-OTP token has no QR code to enrol here (or the user vanished).
            return self._page(request, lang, 409, shown, m.ASK_ADMIN)
        return redirect(f"enrol/{token}", 303)

    def _reset(self, user: str, now: float) -> str:
        return self.service.invite_reset(user, expires_in=LOST_EXPIRES, now=now)

    def _recovered(
        self, request: Request, lang: str, shown: str, decision: Decision
    ) -> str | Response:
        """The user whose recovery code ``decision`` accepted, else the answer to send."""
        if decision.retry_after is not None and not decision.ok:
            wait = retry_after_seconds(decision.retry_after)
            return self._page(request, lang, 429, shown, m.THROTTLED, wait)
        if decision.reason == Reason.STORE_ERROR:
            return self._page(request, lang, 503, shown, m.UNAVAILABLE)
        if decision.ok and decision.reason == Reason.OTP:
            # A current code of the token: it is not lost, and no reset comes from here.
            site = self.forms.web.title
            return message(site, lang, m.APP_WORKS, m.APP_WORKS_TEXT, 200, "login", kind="ok")
        if not decision.ok or decision.reason != Reason.RECOVERY or decision.user is None:
            # A lingering code proves nothing new: the same answer as a wrong one.
            return self._page(request, lang, 401, shown, m.NOT_RECOVERED)
        return decision.user
