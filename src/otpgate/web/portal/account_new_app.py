"""``/account``'s new app, confirmed by a code from it before it is kept.

After the PIN and a fresh code (or a passkey) the page shows the new key as
a QR code and asks for a code from the new app; the key waits meanwhile,
sealed and bound to this user and session, in the ``[state]``
(:class:`~otpgate.accounts.pending_apps.PendingApps`).  Only a current code
(within the normal window) keeps the token, with the state that code leaves,
so it cannot be replayed.  A wrong code shows the same key again under a new
handle, until its tries are spent or it expires; every wrong code is also
counted like a wrong sign-in code by the Regulator (the throttle and the
user's guess budget), so the tries are never unlimited.  Works without
JavaScript: the confirmation is a plain form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..._limits import retry_after_seconds
from ...accounts.pending_apps import PendingApp, PendingApps
from ...otp.keys import encode_base32
from ..i18n import translator
from ..sessions import Session
from . import messages as m
from .account_pages import rebound_page
from .qr import qr_svg

if TYPE_CHECKING:
    from ...accounts.selfservice import SelfService
    from ...login.authenticator import Authenticator
    from .account_pages import AccountPages
    from .browser import BrowserDecisions
    from .forms import Forms

__all__ = ["NewApps"]

log = logging.getLogger(__name__)


def tag(session: Session) -> str:
    """The tag a pending key is bound to: this session (a new one after a PIN change)."""
    return PendingApps.session_tag(session.issued_at, session.binding)


@dataclass(frozen=True, slots=True)
class NewApps:
    """Start and confirm a new app on ``/account``.

    Attributes:
        forms: form handling, the session, the language.
        service: self-service (the token changes and their audit lines).
        logins: the Authenticator (its Regulator) and the device cookie.
        pending: where new keys wait for their first code.
    """

    forms: Forms
    service: SelfService
    logins: BrowserDecisions
    pending: PendingApps

    @property
    def _auth(self) -> Authenticator:
        return self.logins.decisions.auth

    async def start(
        self, page: AccountPages, request: Request, session: Session, name: str, now: float
    ) -> Response:
        """A new key held for ``session``, and the page that shows it and asks for a code."""
        lang = self.forms.lang(request)
        begun = await run_in_threadpool(self.pending.begin, session.user, tag(session), name, now)
        if begun is None:  # the shared state cannot keep it: nothing to confirm later
            return await page._page(
                request, session.user, lang, 503, message=translator(lang)(m.UNAVAILABLE)
            )
        handle, pending = begun
        return self._confirm_page(request, pending, handle, lang)

    async def confirm(
        self, page: AccountPages, request: Request, session: Session, form: dict[str, str]
    ) -> Response:
        """Keep the pending app if the code is one of its current codes."""
        lang, now, user = self.forms.lang(request), self.forms.now(), session.user
        _ = translator(lang)
        taken = await run_in_threadpool(
            self.pending.take, form.get("pending", ""), user, tag(session), now
        )
        if taken is None:
            return await page._page(request, user, lang, 410, message=_(m.APP_PENDING_GONE))
        auth, ip = self._auth, self.forms.ip(request)
        device = await self.logins.devices.nonce(request.cookies, user, now)
        code = "".join(form.get("code", "").split())[:16]
        attempt = auth.attempt(user, code, ip, linger=False, device=device)
        before = await run_in_threadpool(auth.regulator.before, attempt, now, credential=False)
        if before.wait is not None:  # throttled: the code is not judged, no try counted
            wait = retry_after_seconds(before.wait)
            handle = await run_in_threadpool(self.pending.kept, taken, now)
            if handle is None:
                return await page._page(request, user, lang, 410, message=_(m.APP_PENDING_GONE))
            error = _(m.THROTTLED, n=wait)
            return self._confirm_page(request, taken, handle, lang, 429, error, wait)
        kept = await run_in_threadpool(
            self.service.tokens.confirm_app, taken, code, now, ip, auth.settings.policy
        )
        if kept is not None:
            await run_in_threadpool(auth.regulator.accepted, attempt, now)
            log.info("new app %s of %r confirmed", kept.meta.id, user)
            store = self.service.store
            return await rebound_page(page, request, self.forms, store, session, _(m.AUTH_ADDED))
        await run_in_threadpool(
            auth.regulator.refused, attempt, before, now, counted=True, known=True
        )
        handle = await run_in_threadpool(self.pending.again, taken, now)
        if handle is None:
            return await page._page(request, user, lang, 410, message=_(m.APP_PENDING_GONE))
        return self._confirm_page(request, taken, handle, lang, 400, _(m.APP_PENDING_WRONG))

    def _confirm_page(
        self,
        request: Request,
        pending: PendingApp,
        handle: str,
        lang: str,
        status: int = 200,
        error: str | None = None,
        wait: int | None = None,
    ) -> Response:
        _ = translator(lang)
        uri = self.service.tokens.uri(pending.user, pending.key)
        text = self.forms.template(
            "token_confirm.html",
            lang,
            user=pending.user,
            token_name=pending.name,
            qr=qr_svg(uri, _(m.QR_LABEL)),
            key=encode_base32(pending.key),
            uri=uri,
            pending=handle,
            error=error,
            minutes=max(1, round(self.pending.ttl / 60)),
        )
        # The key is on this page: no cache may keep it.
        headers = {"Cache-Control": "no-store"}
        if wait is not None:
            headers["Retry-After"] = str(wait)
        return self.forms.page(request, text, status, headers)
