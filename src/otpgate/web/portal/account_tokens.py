"""``/account``'s authenticator forms: add an app, rename one, remove one (never the last).

Adding and removing are changes like a new PIN: the form asks for the PIN
and a fresh one-time code of a token the user already has (a lingering code
is refused), or a passkey, so a browser left signed in cannot add an
attacker's app or take the user's away.  A rename changes only a label, and
needs the session and the form's CSRF token alone.  The new app's secret is
shown as a QR code drawn on the server (no JavaScript), and the app is kept
only once a code from it confirms it (:mod:`.account_new_app`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...errors import LastAuthenticator, OTPGateError, TokenLimit
from ..i18n import translator
from ..sessions import Session
from . import messages as m
from .account_pages import AccountPages, rebound_page

if TYPE_CHECKING:
    from ...accounts.selfservice import SelfService
    from .account_new_app import NewApps
    from .forms import Forms

__all__ = ["ACTIONS", "TokenForms"]

log = logging.getLogger(__name__)

ACTIONS: Final = frozenset({"token_add", "token_confirm", "token_rename", "token_remove"})


@dataclass(frozen=True, slots=True)
class TokenForms:
    """The authenticator actions of ``/account``."""

    forms: Forms
    service: SelfService
    apps: NewApps

    async def handle(
        self,
        page: AccountPages,
        request: Request,
        session: Session,
        form: dict[str, str],
        now: float,
    ) -> Response:
        lang = self.forms.lang(request)
        _ = translator(lang)
        action, user = form.get("action"), session.user
        if action == "token_rename":
            return await self._rename(page, request, session, form, now)
        if action == "token_confirm":  # the new app's code is the proof: no PIN again
            return await self._guarded(
                page, request, user, self.apps.confirm(page, request, session, form)
            )
        prefix = "ta" if action == "token_add" else "tr"
        if action == "token_add" and not _name_ok(form.get("name", "")):
            errors = {"ta-name": _(m.AUTH_BAD_NAME)}
            return await page._page(request, user, lang, 400, errors=errors)
        refused = await page._reauthenticate(request, session, form, lang, prefix, now)
        if refused is not None:
            return refused
        if action == "token_add":
            started = self.apps.start(page, request, session, form["name"], now)
            return await self._guarded(page, request, user, started)
        return await self._guarded(
            page, request, user, self._remove(page, request, session, form, now)
        )

    async def _guarded(
        self, page: AccountPages, request: Request, user: str, change: Awaitable[Response]
    ) -> Response:
        """``change``'s page, or the page that says why the store refused it."""
        lang = self.forms.lang(request)
        _ = translator(lang)
        try:
            return await change
        except LastAuthenticator:
            return await page._page(request, user, lang, 409, message=_(m.AUTH_LAST))
        except TokenLimit:
            return await page._page(request, user, lang, 409, message=_(m.AUTH_CANNOT_ADD))
        except OTPGateError as exc:
            log.error("account: store error %s", exc.__class__.__name__)
            return await page._page(request, user, lang, 503, message=_(m.UNAVAILABLE))

    async def _rename(
        self,
        page: AccountPages,
        request: Request,
        session: Session,
        form: dict[str, str],
        now: float,
    ) -> Response:
        lang = self.forms.lang(request)
        _ = translator(lang)
        name = form.get("name", "")
        if not _name_ok(name):
            return await page._page(request, session.user, lang, 400, message=_(m.AUTH_BAD_NAME))
        ip = self.forms.ip(request)
        changes = self.service.tokens
        done = await run_in_threadpool(
            changes.rename, session.user, form.get("token", ""), name, now, ip
        )
        if not done:
            return await page._page(request, session.user, lang, 404, message=_(m.AUTH_UNKNOWN))
        return await page._page(request, session.user, lang, message=_(m.AUTH_RENAMED), kind="ok")

    async def _remove(
        self,
        page: AccountPages,
        request: Request,
        session: Session,
        form: dict[str, str],
        now: float,
    ) -> Response:
        lang = self.forms.lang(request)
        _ = translator(lang)
        ip, token_id, user = self.forms.ip(request), form.get("token", ""), session.user
        store = self.service.store
        if not await run_in_threadpool(self.service.tokens.remove, user, token_id, now, ip):
            return await page._page(request, user, lang, 404, message=_(m.AUTH_UNKNOWN))
        return await rebound_page(page, request, self.forms, store, session, _(m.AUTH_REMOVED))


def _name_ok(name: str) -> bool:
    from ...store.authenticators import check_token_name

    try:
        check_token_name(name)
    except ValueError:
        return False
    return True
