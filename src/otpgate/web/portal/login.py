"""``/login``: the sign-in form (user name, PIN, one-time code) that sets the session cookie.

A login here sets the signed session cookie that ``/auth`` accepts, and a
device cookie that keeps this browser out of strangers' spent guess budget.
A code typed here is single use: a lingering credential does not answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD, MAX_USER, retry_after_seconds
from ...login.reasons import Reason
from ..http import redirect, retry_after
from ..i18n import translator
from ..request import MalformedCredentials, check_user
from . import messages, pages

if TYPE_CHECKING:
    from ...login.authenticator import Decision
    from ..targets import ReturnTargets
    from .browser import BrowserDecisions
    from .forms import Forms

__all__ = ["FORM_METHODS", "LoginPage", "credentials"]

FORM_METHODS = ["GET", "HEAD", "POST"]


def credentials(form: dict[str, str]) -> tuple[str, str, str]:
    """(user name, PIN, code) of a sign-in form, checked for shape.

    People type codes as shown ("123 456"); spaces are never part of one.

    Raises:
        MalformedCredentials: no valid user name, no code, or too long together.
    """
    user = form.get("username", "").strip()
    pin = form.get("pin", "")
    code = "".join(form.get("code", "").split())
    check_user(user)
    if not code or len(pin) + len(code) > MAX_PASSWORD:
        raise MalformedCredentials("no code")
    return user, pin, code


@dataclass(frozen=True, slots=True)
class LoginPage:
    """``/login``.

    Attributes:
        forms: form handling, the session, the language.
        targets: where a login may return to.
        logins: decisions with the browser's device cookie.
        passkeys: show the passkey buttons (:mod:`.passkeys`).
    """

    forms: Forms
    targets: ReturnTargets
    logins: BrowserDecisions
    passkeys: bool = False

    def routes(self) -> list[Route]:
        return [Route("/login", self.login, methods=FORM_METHODS)]

    def answer(
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
        """The login form, with ``message`` (a message id) if any."""
        lang = self.forms.lang(request)
        shown = None if message is None else translator(lang)(message, **(values or {}))
        site = self.forms.web.title

        def text(token: str) -> str:
            return pages.login_page(
                site=site,
                csrf=token,
                return_to=return_to,
                user=user,
                message=shown,
                lang=lang,
                passkeys=self.passkeys,
            )

        return self.forms.page(request, text, status, headers)

    async def login(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._login_post(request)
        target = self.targets.chosen(request, request.query_params.get("rd"))
        if target and self.forms.session(request, self.forms.now()) is not None:
            return redirect(target, 303)
        return self.answer(request, return_to=target)

    async def _login_post(self, request: Request) -> Response:
        form = await self.forms.read(request)
        if isinstance(form, Response):
            return form
        target = self.targets.chosen(request, form.get("rd"))
        user = form.get("username", "").strip()
        if self.forms.csrf_failed(request, form):
            message = messages.EXPIRED_FORM
            return self.answer(request, 403, user=user, return_to=target, message=message)
        try:
            user, pin, code = credentials(form)
        except MalformedCredentials:
            shown = user if len(user) <= MAX_USER else ""
            message = messages.INCOMPLETE
            return self.answer(request, 400, user=shown, return_to=target, message=message)
        now, ip = self.forms.now(), self.forms.ip(request)
        # The answer to a success is made before the decision: a code is never
        # used up for an answer that then cannot be sent.
        accepted = redirect(target or self.forms.landing(), 303)
        # A code typed into the form is single use: no lingering credential answers.
        decision = await self.logins.decide(
            "login", request, user, pin + code, ip, now, linger=False
        )
        if await self.sign_in(accepted, decision, now, ip):
            return accepted
        return self.refused(request, decision, user, target)

    async def sign_in(self, accepted: Response, decision: Decision, now: float, ip: str) -> bool:
        """Give ``accepted`` the session and device cookies if ``decision`` is a login."""
        if not decision.ok or decision.user is None:
            return False
        sessions = self.forms.sessions
        session = await run_in_threadpool(sessions.start, decision.user, now, ip)
        if session is None:
            return False
        sessions.set(accepted, session, now)
        # This browser keeps a guess budget of its own for the user from now on.
        device = self.logins.devices.header(session.user, session.binding, now)
        accepted.raw_headers.append(device)
        return True

    def refused(
        self,
        request: Request,
        decision: Decision,
        user: str,
        target: str,
        *,
        wrong: str = messages.WRONG,
    ) -> Response:
        """The form again, saying why (throttled, store trouble, ``wrong``)."""
        if decision.retry_after is not None:
            wait = retry_after_seconds(decision.retry_after)
            return self.answer(
                request,
                429,
                user=user,
                return_to=target,
                message=messages.THROTTLED,
                values={"n": wait},
                headers=retry_after(decision.retry_after),
            )
        unavailable = decision.reason == Reason.STORE_ERROR
        message = messages.UNAVAILABLE if unavailable else wrong
        status = 503 if unavailable else 401
        return self.answer(request, status, user=user, return_to=target, message=message)
