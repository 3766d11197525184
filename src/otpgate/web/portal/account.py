"""``/account``: a signed-in user changes their PIN, renews recovery codes, sees sign-ins.

A session alone is not enough to change anything: each form asks again for
the current PIN and a *fresh* one-time code (a lingering one is refused), or
with passkeys the PIN and a passkey (a step-up challenge, user verification
required: :func:`.account_passkeys.passkey_step_up`), so a browser left signed
in, or a stolen cookie, cannot change the PIN or take new recovery codes.  The
PIN policy is checked before the code is spent.  A PIN change ends every other
session (as ``otpgate user set-pin`` does) and gives this browser a new one.
"""

from __future__ import annotations

import logging
import math
import os
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD, retry_after_seconds
from ...accounts.authenticators import listing_of
from ...accounts.pending_apps import PendingApps
from ...errors import OTPGateError
from ...login.reasons import Reason
from ...store.authenticators import AuthenticatorInfo
from ...store.records import UserRecord
from ..http import html, redirect
from ..i18n import translator
from ..sessions import Session
from ..templating import render
from . import messages as m
from .account_new_app import NewApps
from .account_passkeys import (
    add_passkey,
    listed,
    passkey_name_ok,
    passkey_step_up,
)
from .account_tokens import ACTIONS as TOKEN_ACTIONS
from .account_tokens import TokenForms
from .activity import account_activity
from .login import FORM_METHODS

if TYPE_CHECKING:
    from ...accounts.selfservice import SelfService
    from ...login.attempt import Decision
    from .browser import BrowserDecisions
    from .forms import Forms
    from .passkeys import PasskeyParts

__all__ = ["AccountPage"]

log = logging.getLogger(__name__)

# A passkey step-up is fresh by nature: its challenge was made for this request.
_FRESH: Final = (Reason.OTP, Reason.RECOVERY, Reason.PASSKEY)


@dataclass(frozen=True, slots=True)
class AccountPage:
    """``/account``.

    Attributes:
        forms: form handling, the session, the language.
        service: self-service (PIN changes, recovery codes).
        logins: decisions with the browser's device cookie (the current PIN and
            a fresh code).
        audit_path: the audit log's file now, if any (the sign-ins shown).
        passkeys: the passkey ceremonies, when passkeys are on (:mod:`.account_passkeys`).
        apps: where new apps' keys wait for their first code (:mod:`.account_new_app`).
    """

    forms: Forms
    service: SelfService
    logins: BrowserDecisions
    audit_path: Callable[[], str | None]
    passkeys: PasskeyParts | None = None
    apps: PendingApps | None = None

    @property
    def site(self) -> str:
        return self.forms.web.title

    def routes(self) -> list[Route]:
        return [Route("/account", self.account, methods=FORM_METHODS)]

    async def _page(
        self,
        request: Request,
        user: str,
        lang: str,
        status: int = 200,
        *,
        message: str | None = None,
        kind: str = "error",
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        session: Session | None = None,
    ) -> Response:
        facts = await run_in_threadpool(self._facts, user)
        text = self.forms.template(
            "account.html",
            lang,
            user=user,
            landing=self.forms.landing(),
            message=message,
            message_kind=kind,
            errors=errors or {},
            min_length=self.service.policy.min_length,
            wide=True,
            script="static/passkeys.js" if self.passkeys is not None else "",
            **facts,
        )
        return self.forms.page(request, text, status, headers, session)

    def _facts(self, user: str) -> dict[str, object]:
        """The token's kind, recovery codes left, enrolment and sign-ins (from the audit log).

        The page shows what it can: a store or log that cannot be read leaves
        those lines out rather than failing the page.
        """
        path = self.audit_path()
        activity = account_activity(path, user) if path else None
        store = self.service.store
        try:
            record = store.get(user)
            left: int | None = store.count_recovery_codes(user)
            infos = listing_of(store, record) if record is not None else []
        except OTPGateError as exc:
            log.error("account: store error %s", exc.__class__.__name__)
            record, left, infos = None, None, []
        return {
            "authenticators": _listing(record, infos) if record is not None else [],
            "passkeys": listed(self.passkeys, infos) if record is not None else None,
            "codes_left": left,
            "enrolled": activity.enrolled if activity is not None else None,
            "signins": activity.signins if activity is not None else None,
        }

    @property
    def _tokens(self) -> TokenForms:
        apps = self.apps
        if apps is None:  # one process: a key of its own for the sealed entries
            apps = PendingApps(self.logins.decisions.auth.state, os.urandom(32))
            object.__setattr__(self, "apps", apps)
        return TokenForms(
            self.forms, self.service, NewApps(self.forms, self.service, self.logins, apps)
        )

    async def account(self, request: Request) -> Response:
        lang = self.forms.lang(request)
        now = self.forms.now()
        session = self.forms.session(request, now)
        if session is None:
            rd = self.forms.portal_path("account")
            return redirect("login?rd=" + urllib.parse.quote(rd, safe=""), 303)
        if request.method != "POST":
            return await self._page(request, session.user, lang)
        form = await self.forms.read(request)
        if isinstance(form, Response):
            return form
        _ = translator(lang)
        if self.forms.csrf_failed(request, form):
            return await self._page(
                request, session.user, lang, 403, message=_(m.EXPIRED_FORM_RETRY)
            )
        action = form.get("action")
        if action in TOKEN_ACTIONS:
            return await self._tokens.handle(self, request, session, form, now)
        passkey_actions = ("passkey",) if self.passkeys else ()
        if action not in ("pin", "codes", *passkey_actions):
            return await self._page(request, session.user, lang, 400, message=_(m.UNKNOWN_ACTION))
        prefix = {"pin": "cp", "codes": "rc"}.get(str(action), "pk")
        errors = self._errors(str(action), session.user, form, lang)
        if errors:
            return await self._page(request, session.user, lang, 400, errors=errors)
        refused = await self._reauthenticate(request, session, form, lang, prefix, now)
        if refused is not None:
            return refused
        try:
            if action == "pin":
                return await self._change_pin(request, session, form, lang, now)
            if action in passkey_actions:
                return await self._passkey(str(action), request, session.user, form, lang, now)
            codes = await run_in_threadpool(
                self.service.renew_codes, session.user, now, self.forms.ip(request)
            )
        except OTPGateError as exc:
            log.error("account: store error %s", exc.__class__.__name__)
            return await self._page(request, session.user, lang, 503, message=_(m.UNAVAILABLE))
        return self._codes_page(session.user, codes, lang)

    def _codes_page(self, user: str, codes: list[str], lang: str) -> Response:
        """The new recovery codes, shown once."""
        _ = translator(lang)
        text = render(
            "recovery_codes.html",
            lang=lang,
            site=self.site,
            user=user,
            codes=codes,
            notice=_(m.CODES_RENEWED),
            next_href="account",
            next_label=_(m.BACK_TO_ACCOUNT),
        )
        return html(text)

    async def _passkey(
        self, action: str, request: Request, user: str, form: dict[str, str], lang: str, now: float
    ) -> Response:
        """The page after adding a passkey (the PIN and a fresh code or passkey were right).

        A passkey is removed like any authenticator (the ``token_remove`` action).
        """
        assert self.passkeys is not None
        done = await add_passkey(self.passkeys, user, form, now)
        message, kind = (m.PASSKEY_ADDED, "ok") if done else (m.PASSKEY_FAILED, "error")
        _ = translator(lang)
        return await self._page(
            request, user, lang, 200 if done else 400, message=_(message), kind=kind
        )

    def _errors(self, action: str, user: str, form: dict[str, str], lang: str) -> dict[str, str]:
        """What is wrong with the form before the PIN and code are checked."""
        if action == "pin":
            return self._pin_errors(user, form, lang)
        if action == "passkey" and not passkey_name_ok(form):
            return {"pk-name": translator(lang)(m.PASSKEY_NAME)}
        return {}

    def _pin_errors(self, user: str, form: dict[str, str], lang: str) -> dict[str, str]:
        _ = translator(lang)
        policy = self.service.policy
        new, again = form.get("new_pin", "")[:MAX_PASSWORD], form.get("new_pin2", "")
        errors: dict[str, str] = {}
        for p in policy.problems(new, user, again[:MAX_PASSWORD]):
            key = "cp-new2" if p == "mismatch" else "cp-new"
            text = _(m.PIN_PROBLEMS[p], n=policy.min_length)
            errors[key] = f"{errors[key]} {text}" if key in errors else text
        return errors

    async def _reauthenticate(
        self,
        request: Request,
        session: Session,
        form: dict[str, str],
        lang: str,
        prefix: str,
        now: float,
    ) -> Response | None:
        """``None`` if the current PIN and a fresh code (or a passkey) are right, else the
        page to show."""
        _ = translator(lang)
        decision = await self._step_up(request, session.user, form, now)
        if decision is None:
            wrong = {f"{prefix}-code": _(m.WRONG_PIN_OR_CODE)}
            return await self._page(request, session.user, lang, 400, errors=wrong)
        if decision.ok and decision.fresh and decision.reason in _FRESH:
            return None
        if decision.retry_after is not None and not decision.ok:
            wait = retry_after_seconds(decision.retry_after)
            return await self._page(
                request,
                session.user,
                lang,
                429,
                message=_(m.THROTTLED, n=wait),
                headers={"Retry-After": str(wait)},
            )
        if decision.reason == Reason.STORE_ERROR:
            return await self._page(request, session.user, lang, 503, message=_(m.UNAVAILABLE))
        text = _(m.WRONG_PIN_OR_CODE)
        return await self._page(request, session.user, lang, 401, errors={f"{prefix}-code": text})

    async def _step_up(
        self, request: Request, user: str, form: dict[str, str], now: float
    ) -> Decision | None:
        """The decision on the PIN and a passkey or a fresh code; ``None``: nothing to decide."""
        ip = self.forms.ip(request)
        if self.passkeys is not None and form.get("step_credential"):
            device = await self.logins.devices.nonce(request.cookies, user, now)
            return await passkey_step_up(self.passkeys, user, form, ip, now, device)
        pin, code = form.get("pin", ""), "".join(form.get("code", "").split())
        if not code or len(pin) + len(code) > MAX_PASSWORD:
            return None
        return await self.logins.decide("account", request, user, pin + code, ip, now)

    async def _change_pin(
        self, request: Request, session: Session, form: dict[str, str], lang: str, now: float
    ) -> Response:
        _ = translator(lang)
        # Sessions are stamped to the millisecond, rounded down; revoking at the
        # same stamp keeps the new one below valid and ends every older one.
        stamp = math.floor(now * 1000) / 1000
        new, again = form.get("new_pin", ""), form.get("new_pin2", "")
        ip = self.forms.ip(request)
        problems = await run_in_threadpool(
            self.service.change_pin, session.user, new, again, stamp, ip
        )
        if problems:  # checked before; only a changed setting could get here
            return await self._page(request, session.user, lang, 400, message=_(m.UNKNOWN_ACTION))
        # The same record (a new PIN, the same key): the session keeps its binding.
        renewed = Session(session.user, stamp, stamp, ip, session.binding)
        # The page's forms belong to the new session, which this answer sets.
        response = await self._page(
            request, session.user, lang, message=_(m.PIN_CHANGED), kind="ok", session=renewed
        )
        self.forms.sessions.set(response, renewed, now)
        return response


def _listing(record: UserRecord, infos: list[AuthenticatorInfo]) -> list[dict[str, object]]:
    """The user's authenticators (OTP tokens and passkeys) as the page lists them, oldest
    first (never a key); a passkey has no ``token_type``."""
    types = {t.meta.id: t.token_type for t in record.tokens()}
    return [
        {
            "id": a.id,
            "kind": a.kind,
            "token_type": types.get(a.id),
            "name": a.name,
            "created_text": _minute(a.created) if a.created else "",
            "used_text": _minute(a.last_used) if a.last_used is not None else "",
        }
        for a in infos
    ]


def _minute(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))
