"""What every admin page does first: who is asking, may they, and is the form genuine.

Every route under ``/admin`` goes through :meth:`AdminBase.guard`: an
anonymous browser is sent to sign in, a signed-in user who is not an
administrator gets 403, and a POST must pass the portal's cross-site check
and CSRF token before anything else is read.  The role is read from the
store on every request, so taking it away takes effect at once.

Destructive actions also need a *step-up*: the administrator's PIN and a
fresh one-time code on the confirmation form, checked by the one
Authenticator; a lingering code (the one used to sign in) is refused.  With
passkeys on, the PIN and a passkey (user verification required, a challenge
made for the step-up) do instead, so a passkey-only administrator can act;
the page then loads static/passkeys.js (``script-src 'self'``).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..._limits import MAX_PASSWORD
from ...accounts.administration import Actor, Administration
from ...errors import OTPGateError
from ...login.reasons import Reason
from ...state.announce import AnnouncingStore
from ..http import html, redirect
from ..portal.account_passkeys import passkey_step_up
from .render import ADMIN_CSP, ADMIN_CSP_SCRIPT, render, translator

if TYPE_CHECKING:
    from ...accounts.selfservice import SelfService
    from ...login.authenticator import Authenticator
    from ..decisions import Decisions
    from ..portal.forms import Forms
    from ..portal.passkeys import PasskeyParts

__all__ = ["AdminBase", "Ctx", "Handler", "root"]

log = logging.getLogger(__name__)

# A passkey step-up is fresh by nature: its challenge was made for this request.
_FRESH: Final = (Reason.OTP, Reason.RECOVERY, Reason.PASSKEY)


@dataclass(frozen=True, slots=True)
class Ctx:
    """An administrator's request: who, from where, in which language, when."""

    admin: str
    ip: str
    lang: str
    now: float
    form: dict[str, str]

    @property
    def actor(self) -> Actor:
        return Actor(self.admin, "web", self.ip)


Handler = Callable[[Request, Ctx], Awaitable[Response]]


def root(request: Request) -> str:
    """The gate's root relative to this page (``./``, ``../``, ...).

    Links and redirects are relative, so the pages work wherever a proxy
    puts the gate (``/otpgate/admin`` behind the nginx example, ``/admin``
    on a host of its own), as the portal's pages do.
    """
    depth = request.url.path.count("/") - 1
    return "../" * depth if depth > 0 else "./"


class AdminBase:
    """The portal's form handling, plus the administrator check and step-up.

    Args:
        forms: the portal's form handling (session, CSRF, language).
        decisions: the one way to a decision (the step-up).
        authenticator: its store, audit log, shared state and settings.
        service: self-service (invitations), which administration builds on.
        passkeys: the passkey ceremonies (a step-up with a passkey), or ``None``.
    """

    def __init__(
        self,
        forms: Forms,
        decisions: Decisions,
        authenticator: Authenticator,
        service: SelfService,
        passkeys: PasskeyParts | None = None,
    ) -> None:
        self.forms = forms
        self.passkeys = passkeys
        self.web = forms.web
        self.decisions = decisions
        self.auth = authenticator
        self.store = authenticator.store
        self.service = service
        auth = authenticator
        # With Redis, a lock, a removal or a resync made here reaches every gate at once.
        store = AnnouncingStore(auth.store, auth.state) if auth.state.shares_credentials else None
        self.admin = Administration(store or auth.store, auth.audit, service, auth.settings.policy)

    def audit_path(self) -> str | None:
        """The audit log's file, if it is written to one."""
        audit = self.auth.audit
        return audit.path if audit is not None else None

    # --- rendering ------------------------------------------------------------------

    def page(
        self, request: Request, ctx: Ctx, template: str, status: int = 200, /, **context: Any
    ) -> Response:
        """An admin page (with a fresh CSRF token for its forms)."""

        here = root(request)
        script = f"{here}static/passkeys.js" if self.passkeys is not None else ""

        def text(token: str) -> str:
            return render(
                template,
                lang=ctx.lang,
                site=self.web.title,
                csrf=token,
                admin=ctx.admin,
                root=here,
                script=script,
                passkey_step_up=bool(script),
                **context,
            )

        response = self.forms.page(request, text, status)
        response.headers["Content-Security-Policy"] = ADMIN_CSP_SCRIPT if script else ADMIN_CSP
        return response

    def _refusal(self, request: Request, status: int, text: str) -> Response:
        lang = self.forms.lang(request)
        _ = translator(lang)
        page = render(
            "refused.html",
            lang=lang,
            site=self.web.title,
            heading=_("Not allowed"),
            text=_(text),
            root=root(request),
        )
        response = html(page, status)
        response.headers["Content-Security-Policy"] = ADMIN_CSP
        return response

    # --- the guard ------------------------------------------------------------------

    def guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler`` so it runs only for an administrator, with a genuine form."""

        async def endpoint(request: Request) -> Response:
            ctx = await self._admitted(request)
            if isinstance(ctx, Response):
                return ctx
            # An administrator at work here keeps the session alive: the session
            # was marked, and the answer gets the refreshed cookie (otpgate.web.slide).
            return await handler(request, ctx)

        return endpoint

    async def _admitted(self, request: Request) -> Ctx | Response:
        """The administrator's request, or the refusal: another site, no session, no role."""
        forms = self.forms
        now = forms.now()
        if request.method == "POST" and forms.cross_site(request):
            return self._refusal(request, 403, "This form came from another site.")
        session = forms.session(request, now)
        if session is None:
            return redirect(self._sign_in_url(request), 303)
        try:
            role = await run_in_threadpool(self.store.get_role, session.user)
        except OTPGateError as exc:
            log.error("cannot read the role of an administrator: %s", exc.__class__.__name__)
            return self._refusal(request, 503, "The store cannot be read right now.")
        if role != "admin":
            return self._refusal(request, 403, "These pages are for administrators.")
        form: dict[str, str] = {}
        if request.method == "POST":
            read = await forms.read(request)
            if isinstance(read, Response):
                return read
            if forms.csrf_failed(request, read):
                return self._refusal(request, 403, "The form had expired. Please try again.")
            form = read
        return Ctx(session.user, forms.ip(request), forms.lang(request), now, form)

    def _sign_in_url(self, request: Request) -> str:
        """The portal's login, coming back here (to the list after a POST)."""
        portal = self.web.portal_url.rstrip("/")
        back = request.url.path if request.method != "POST" else "/admin"
        back = urllib.parse.urlsplit(portal).path + back
        return f"{portal}/login?rd=" + urllib.parse.quote(back, safe="")

    # --- step-up --------------------------------------------------------------------

    async def step_up(self, ctx: Ctx) -> str | None:
        """Check the PIN and a fresh code (or a passkey) on a confirmation form; an error
        message id or ``None``."""
        decision = await passkey_step_up(self.passkeys, ctx.admin, ctx.form, ctx.ip, ctx.now)
        if decision is None:
            pin = ctx.form.get("pin", "")
            code = "".join(ctx.form.get("code", "").split())
            if not code or len(pin) + len(code) > MAX_PASSWORD:
                return "Enter your PIN and a new one-time code."
            decision = await self.decisions.decide("admin", ctx.admin, pin + code, ctx.ip, ctx.now)
        if decision.ok and decision.reason in _FRESH:
            return None
        if decision.retry_after is not None and not decision.ok:
            return "Too many attempts. Wait a little and try again."
        if decision.ok:
            # Right, but not fresh (the code that signed you in, still lingering).
            return "That code was used already. Wait for the next one."
        return "Wrong PIN or code."
