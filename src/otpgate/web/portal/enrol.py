"""Enrolment pages: ``/enrol/<token>`` (from an invitation) and ``/lost`` (a recovery code).

``/enrol/<token>`` walks the user through three steps, each a POST to the same
address: choose a PIN (the server then makes the secret), scan it and confirm
with a current code, see the recovery codes once.  Every step re-reads the
invitation, so a used, revoked or expired link is refused at any point; the
PIN step answers with a redirect (reloading it repeats nothing), and a
repeated confirmation finds the link used.

``/lost`` takes a user name, PIN and recovery code; when the Authenticator
accepts them *as a recovery code*, it makes a short-lived reset invitation and
sends the browser to it (where the user may keep the PIN just typed).  A
current code of the token instead says that the token is not lost and where
to sign in.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD, retry_after_seconds
from ...accounts.selfservice import InvitationRefused, WrongCode
from ...errors import OTPGateError
from ...login.reasons import Reason
from ...otp.keys import encode_base32
from ...otp.tokens import build_uri
from ...store.invitations import Invitation
from ..i18n import translator
from ..request import MalformedCredentials, check_user
from ..templating import render
from . import messages as m
from . import pages
from .forms import FormKit
from .qr import qr_svg

__all__ = ["EnrolPages"]

log = logging.getLogger(__name__)

# A reset made from /lost must be finished in one sitting.
LOST_EXPIRES: Final = 15 * 60.0
_STATUS: Final = {"unknown": 404, "exists": 409}


def _grouped(key: bytes) -> str:
    text = encode_base32(key)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class EnrolPages:
    """``/enrol/<token>`` and ``/lost``."""

    def __init__(self, kit: FormKit) -> None:
        self.kit = kit
        self.site = kit.web.title

    def routes(self) -> list[Route]:
        return [
            Route("/enrol/{token}", self.enrol, methods=["GET", "HEAD", "POST"]),
            Route("/lost", self.lost, methods=["GET", "HEAD", "POST"]),
        ]

    # --- /enrol/<token> ---------------------------------------------------------------

    def _message(
        self, lang: str, heading: str, text: str, status: int, link: str = "", kind: str = "error"
    ) -> Response:
        page = pages.message_page(
            site=self.site, heading=heading, text=text, kind=kind, link=link, lang=lang
        )
        return self.kit.html(page, status)

    def _refused(self, lang: str, why: str) -> Response:
        text = m.LINK_WHY.get(why, m.ASK_ADMIN)
        return self._message(lang, m.LINK_REFUSED, text, _STATUS.get(why, 410), "../login")

    def _pin_page(
        self,
        request: Request,
        inv: Invitation,
        token: str,
        lang: str,
        status: int = 200,
        errors: dict[str, str] | None = None,
    ) -> Response:
        errors = errors or {}
        return self.kit.form_page(
            request,
            "enrol_pin.html",
            lang,
            status,
            action=token,
            user=inv.username,
            reset=inv.reset,
            min_length=self.kit.service.policy.min_length,
            message=None,
            pin_error=errors.get("pin"),
            pin2_error=errors.get("pin2"),
        )

    def _scan_page(
        self,
        request: Request,
        inv: Invitation,
        token: str,
        lang: str,
        status: int = 200,
        code_error: str | None = None,
    ) -> Response:
        assert inv.pending_key is not None
        _ = translator(lang)
        # The otpauth label cannot hold a colon in the issuer; the title may have one.
        issuer = self.site.replace(":", "").strip() or None
        uri = build_uri(inv.token_type, inv.pending_key, inv.username, issuer=issuer)
        return self.kit.form_page(
            request,
            "enrol_scan.html",
            lang,
            status,
            action=token,
            user=inv.username,
            qr=qr_svg(uri, _(m.QR_LABEL)),
            key=_grouped(inv.pending_key or b""),
            uri=uri,
            wide=True,
            message=None,
            code_error=code_error,
        )

    async def enrol(self, request: Request) -> Response:
        lang = self.kit.lang(request)
        try:
            return await self._enrol(request, request.path_params["token"], lang)
        except InvitationRefused as exc:
            return self._refused(lang, exc.why)
        except OTPGateError as exc:
            log.error("enrolment: store error %s", exc.__class__.__name__)
            return self._unavailable(lang)

    async def _enrol(self, request: Request, token: str, lang: str) -> Response:
        # Every step re-reads the invitation; a refusal or a store error at any
        # point is answered by enrol().
        now = self.kit.now()
        inv = await run_in_threadpool(self.kit.service.open, token, now)
        if request.method != "POST":
            if inv.status == "pending":
                return self._scan_page(request, inv, token, lang)
            return self._pin_page(request, inv, token, lang)
        form = await self.kit.form(request)
        if isinstance(form, Response):
            return form
        if self.kit.csrf_failed(request, form):
            return self._expired(lang)
        if form.get("step") == "confirm" and inv.status == "pending":
            return await self._confirm(request, inv, token, form, lang, now)
        if form.get("step") == "pin":
            return await self._choose(request, inv, token, form, lang, now)
        if form.get("step") == "keep" and inv.reset:
            await run_in_threadpool(self.kit.service.keep_pin, token, now)
            return self.kit.redirect(token)  # the scan step, by GET
        # A stale form (the other step), or something made up: show where things stand.
        return self.kit.redirect(token)

    async def _choose(
        self,
        request: Request,
        inv: Invitation,
        token: str,
        form: dict[str, str],
        lang: str,
        now: float,
    ) -> Response:
        pin, again = form.get("pin", "")[:MAX_PASSWORD], form.get("pin2", "")[:MAX_PASSWORD]
        problems = await run_in_threadpool(self.kit.service.choose_pin, token, pin, again, now)
        if not problems:
            return self.kit.redirect(token)  # the scan step, by GET
        _ = translator(lang)
        n = self.kit.service.policy.min_length
        errors: dict[str, str] = {}
        for p in problems:
            key = "pin2" if p == "mismatch" else "pin"
            errors[key] = " ".join(filter(None, [errors.get(key), _(m.PIN_PROBLEMS[p], n=n)]))
        return self._pin_page(request, inv, token, lang, 400, errors)

    async def _confirm(
        self,
        request: Request,
        inv: Invitation,
        token: str,
        form: dict[str, str],
        lang: str,
        now: float,
    ) -> Response:
        code = "".join(form.get("code", "").split())[:64]
        ip = self.kit.ip(request)
        try:
            user, codes = await run_in_threadpool(self.kit.service.confirm, token, code, ip, now)
        except WrongCode:
            _ = translator(lang)
            return self._scan_page(request, inv, token, lang, 400, _(m.WRONG_NEW_CODE))
        _ = translator(lang)
        text = render(
            "recovery_codes.html",
            lang=lang,
            site=self.site,
            user=user,
            codes=codes,
            notice=_(m.ENROLLED),
            next_href="../login",
            next_label=_(m.CONTINUE_SIGN_IN),
        )
        return self.kit.html(text)

    def _expired(self, lang: str) -> Response:
        return self._message(lang, m.BAD_REQUEST, m.EXPIRED_FORM_RETRY, 403)

    def _unavailable(self, lang: str) -> Response:
        return self._message(lang, m.BAD_REQUEST, m.UNAVAILABLE, 503)

    # --- /lost ------------------------------------------------------------------------

    def _lost_page(
        self,
        request: Request,
        lang: str,
        status: int = 200,
        user: str = "",
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return self.kit.form_page(
            request,
            "lost.html",
            lang,
            status,
            headers,
            user=user,
            message=message,
            invalid=bool(message),
        )

    async def lost(self, request: Request) -> Response:
        lang = self.kit.lang(request)
        if request.method != "POST":
            return self._lost_page(request, lang)
        form = await self.kit.form(request)
        if isinstance(form, Response):
            return form
        _ = translator(lang)
        user = form.get("username", "").strip()
        shown = user if len(user) <= 256 else ""
        if self.kit.csrf_failed(request, form):
            return self._lost_page(request, lang, 403, shown, _(m.EXPIRED_FORM_RETRY))
        pin, code = form.get("pin", ""), "".join(form.get("code", "").split())
        try:
            check_user(user)
            if not code or len(pin) + len(code) > MAX_PASSWORD:
                raise MalformedCredentials("no code")
        except MalformedCredentials:
            return self._lost_page(request, lang, 400, shown, _(m.NOT_RECOVERED))
        now, ip = self.kit.now(), self.kit.ip(request)
        decision = await self.kit.decide("lost", user, pin + code, ip, now, request)
        if decision.retry_after is not None and not decision.ok:
            wait = retry_after_seconds(decision.retry_after)
            return self._lost_page(
                request, lang, 429, shown, _(m.THROTTLED, n=wait), {"Retry-After": str(wait)}
            )
        if decision.reason == Reason.STORE_ERROR:
            return self._lost_page(request, lang, 503, shown, _(m.UNAVAILABLE))
        if decision.ok and decision.reason == Reason.OTP:
            # A current code of the token: it is not lost, and no reset comes from here.
            return self._message(lang, m.APP_WORKS, m.APP_WORKS_TEXT, 200, "login", kind="ok")
        if not decision.ok or decision.reason != Reason.RECOVERY or decision.user is None:
            # A lingering code proves nothing new: the same answer as a wrong one.
            return self._lost_page(request, lang, 401, shown, _(m.NOT_RECOVERED))
        try:
            token = await run_in_threadpool(self._reset_invitation, decision.user, now)
        except OTPGateError as exc:
            log.error("lost token: cannot make the invitation: %s", exc.__class__.__name__)
            return self._lost_page(request, lang, 503, shown, _(m.UNAVAILABLE))
        except ValueError:
            # A Mobile-OTP token has no QR code to enrol here (or the user vanished).
            return self._lost_page(request, lang, 409, shown, _(m.ASK_ADMIN))
        return self.kit.redirect(f"enrol/{token}")

    def _reset_invitation(self, user: str, now: float) -> str:
        record = self.kit.service.store.get(user)
        if record is None:
            raise ValueError("the user is gone")
        return self.kit.service.invite(
            user, record.token_type, expires_in=LOST_EXPIRES, reset=True, now=now
        )
