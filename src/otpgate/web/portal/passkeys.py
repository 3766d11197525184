"""Passkeys in the portal: options for the browser, sign-in, and the script file.

* ``POST /passkey/options``: a challenge and the ``publicKey`` options for
  ``navigator.credentials`` (``purpose`` ``login`` with or without a user
  name, ``register`` and ``step-up`` for the signed-in user, ``enrol`` for an
  invitation whose PIN is chosen); a form POST like every other, CSRF-checked.
* ``POST /passkey``: the browser's answer (with user name and PIN, or
  alone), decided by :class:`~otpgate.login.passkey_login.PasskeyLogin`; a
  success gets the same session and device cookies as a code
  (:meth:`.login.LoginPage.sign_in`), a refusal the login form again.
* ``GET /static/passkeys.js``: the script behind the buttons (the CSP's
  ``script-src 'self'``); without it every page still works.

Registering a passkey is a form of the account page and of an enrolment link
(:mod:`.account`, :mod:`.enrol`); they call :class:`PasskeyParts`.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.resources
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...accounts.passkey_enrolment import passkey_user
from ...audit.decision_log import log_decision
from ...config.web import webauthn_party
from ...errors import OTPGateError
from ...login.passkey_types import STEP_UP, PasskeyRefused, RelyingParty
from ...store.passkeys import keeps_passkeys
from ..http import redirect, secure
from ..request import MalformedCredentials, check_user
from . import messages

if TYPE_CHECKING:
    from ...accounts.selfservice import SelfService
    from ...config.loader import Config
    from ...login.authenticator import Authenticator
    from ...login.passkey_login import PasskeyLogin
    from ...login.passkeys import Ceremonies
    from ...store.passkeys import PasskeyStore
    from .forms import Forms
    from .login import LoginPage

__all__ = ["SCRIPT", "PasskeyPages", "PasskeyParts"]

log = logging.getLogger(__name__)

SCRIPT: Final = importlib.resources.files("otpgate.web").joinpath("static/passkeys.js").read_bytes()


@dataclass(frozen=True, slots=True)
class PasskeyParts:
    """What the pages with passkey forms share: the ceremonies and the sign-in.

    Attributes:
        ceremonies: the WebAuthn checks, with the RP ID and origins.
        signin: passkey sign-ins through the Authenticator's limits.
    """

    ceremonies: Ceremonies
    signin: PasskeyLogin

    @classmethod
    def build(cls, config: Config, auth: Authenticator, secret: bytes) -> PasskeyParts | None:
        """The parts, or ``None`` when passkeys are off: no RP ID is set or follows from
        ``web.portal_url``, or the store keeps none (the users file)."""
        party = webauthn_party(config.web)
        if party is None or not keeps_passkeys(auth.store):
            return None
        # Only now: a gate with passkeys off never loads the WebAuthn library.
        from ...login.passkey_login import PasskeyLogin
        from ...login.passkeys import Ceremonies
        from ...state.challenges import Challenges

        key = hmac.digest(secret, b"otpgate passkeys v1", hashlib.sha256)
        rp = RelyingParty(party[0], party[1], config.web.title, key)
        store = cast("PasskeyStore", auth.store)
        ceremonies = Ceremonies(rp, Challenges(auth.state), store)
        return cls(ceremonies, PasskeyLogin(auth, ceremonies))


def _json(value: object, status: int = 200) -> Response:
    return secure(JSONResponse(value, status))


@dataclass(frozen=True, slots=True)
class PasskeyPages:
    """``/passkey/options``, ``/passkey``, ``/static/passkeys.js``.

    Attributes:
        forms: form handling, the session, the language.
        page: the login page (its form, its cookies).
        service: invitations (the ``enrol`` options).
        parts: the ceremonies and the sign-in.
    """

    forms: Forms
    page: LoginPage
    service: SelfService
    parts: PasskeyParts

    def routes(self) -> list[Route]:
        return [
            Route("/passkey/options", self.options, methods=["POST"]),
            Route("/passkey", self.login, methods=["POST"]),
            Route("/static/passkeys.js", self.script, methods=["GET", "HEAD"]),
        ]

    async def script(self, request: Request) -> Response:
        return secure(Response(SCRIPT, media_type="text/javascript; charset=utf-8"))

    async def options(self, request: Request) -> Response:
        form = await self.forms.read(request)
        if isinstance(form, Response):
            return form
        if self.forms.csrf_failed(request, form):
            return _json({"error": "form expired"}, 403)
        now = self.forms.now()
        cer = self.parts.ceremonies
        try:
            purpose = form.get("purpose")
            if purpose == "login":
                name = form.get("username", "").strip() or None
                if name is not None:
                    check_user(name)
                made = await run_in_threadpool(cer.authentication_options, name, now)
            elif purpose == STEP_UP:
                session = self.forms.session(request, now)
                if session is None:
                    return _json({"error": "not signed in"}, 403)
                made = await run_in_threadpool(
                    cer.authentication_options, session.user, now, STEP_UP
                )
            elif purpose in ("register", "enrol"):
                user = await self._registering(request, form, now)
                if user is None:
                    return _json({"error": "not signed in"}, 403)
                made = await run_in_threadpool(cer.registration_options, user, now)
            else:
                return _json({"error": "unknown purpose"}, 400)
        except MalformedCredentials:
            return _json({"error": "bad user name"}, 400)
        except PasskeyRefused:
            return _json({"error": "unavailable"}, 503)
        except OTPGateError as exc:  # a store error, a used link
            log.info("passkey options refused: %s", exc.__class__.__name__)
            return _json({"error": "refused"}, 403)
        handle, public_key = made
        return _json({"handle": handle, "publicKey": public_key})

    async def _registering(self, request: Request, form: dict[str, str], now: float) -> str | None:
        """Who a passkey is being registered for: the signed-in user, or an invitation's."""
        if form.get("purpose") == "register":
            session = self.forms.session(request, now)
            return session.user if session is not None else None
        return await run_in_threadpool(passkey_user, self.service, form.get("token", ""), now)

    async def _device(
        self, request: Request, user: str | None, credential: str, now: float
    ) -> str | None:
        """The browser's device cookie for the user signing in (without a user name:
        the one the passkey names), so it keeps its own guess budget."""
        if user is None:
            try:
                passkey = await run_in_threadpool(self.parts.ceremonies.passkey_of, credential)
            except OTPGateError:
                return None  # a bad answer or the store: the sign-in says so
            user = passkey.user if passkey is not None else None
        if user is None:
            return None
        return await self.page.logins.devices.nonce(request.cookies, user, now)

    async def login(self, request: Request) -> Response:
        form = await self.forms.read(request)
        if isinstance(form, Response):
            return form
        page = self.page
        target = page.targets.chosen(request, form.get("rd"))
        typed = form.get("username", "").strip()
        if self.forms.csrf_failed(request, form):
            return page.answer(
                request, 403, user=typed, return_to=target, message=messages.EXPIRED_FORM
            )
        user: str | None = typed or None
        try:
            if user is not None:
                check_user(user)
        except MalformedCredentials:
            return page.answer(request, 400, return_to=target, message=messages.PASSKEY_WRONG)
        now, ip = self.forms.now(), self.forms.ip(request)
        accepted = redirect(target or self.forms.landing(), 303)
        started = time.perf_counter()
        device = await self._device(request, user, form.get("credential", ""), now)
        decision = await run_in_threadpool(
            self.parts.signin.sign_in,
            user,
            form.get("pin", ""),
            form.get("handle", ""),
            form.get("credential", ""),
            ip,
            now,
            device=device,
        )
        throttled = decision.retry_after is not None and not decision.ok
        page.logins.decisions.metrics.record(
            "passkey", decision.reason, time.perf_counter() - started, throttled
        )
        log_decision("passkey", user or "", ip, decision.ok, decision.reason, decision.retry_after)
        if await page.sign_in(accepted, decision, now, ip):
            return accepted
        return page.refused(request, decision, typed, target, wrong=messages.PASSKEY_WRONG)
