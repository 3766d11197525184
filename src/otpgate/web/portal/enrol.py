"""``/enrol/<token>``: from an invitation link, choose a PIN, scan the new token, confirm it.

The link walks the user through three steps, each a POST to the same
address: choose a PIN (the server then makes the secret), scan it and confirm
with a current code, see the recovery codes once.  Every step re-reads the
invitation, so a used, revoked or expired link is refused at any point; the
PIN step answers with a redirect (reloading it repeats nothing), and a
repeated confirmation finds the link used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD
from ...accounts.passkey_enrolment import confirm_with_passkey
from ...accounts.selfservice import InvitationRefused, WrongCode
from ...errors import OTPGateError
from ...login.passkey_types import PasskeyRefused
from ...otp.keys import encode_base32
from ...otp.tokens import build_uri
from ...store.invitations import Invitation
from ..http import html, redirect
from ..i18n import translator
from ..templating import render
from . import messages as m
from . import pages
from .qr import qr_svg

if TYPE_CHECKING:
    from ...accounts.selfservice import SelfService
    from .forms import Forms
    from .passkeys import PasskeyParts

__all__ = ["EnrolPages", "message"]

log = logging.getLogger(__name__)

_STATUS: Final = {"unknown": 404, "exists": 409}


def _grouped(key: bytes) -> str:
    text = encode_base32(key)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def message(
    site: str, lang: str, heading: str, text: str, status: int, link: str = "", kind: str = "error"
) -> Response:
    """A short page with ``heading`` and ``text`` (message ids), and a link to sign in."""
    page = pages.message_page(
        site=site, heading=heading, text=text, kind=kind, link=link, lang=lang
    )
    return html(page, status)


@dataclass(frozen=True, slots=True)
class _Visit:
    """One request to an enrolment link: the invitation as just read, and the page's language."""

    request: Request
    token: str
    inv: Invitation
    lang: str
    now: float


@dataclass(frozen=True, slots=True)
class EnrolPages:
    """``/enrol/<token>``.

    Attributes:
        forms: form handling, the language.
        service: self-service (invitations, PINs, the new token).
        passkeys: the passkey ceremonies, when passkeys are on (a passkey
            instead of an app, :mod:`.enrol_passkey`).
    """

    forms: Forms
    service: SelfService
    passkeys: PasskeyParts | None = None

    @property
    def site(self) -> str:
        return self.forms.web.title

    def routes(self) -> list[Route]:
        return [Route("/enrol/{token}", self.enrol, methods=["GET", "HEAD", "POST"])]

    async def enrol(self, request: Request) -> Response:
        lang = self.forms.lang(request)
        try:
            return await self._enrol(request, request.path_params["token"], lang)
        except InvitationRefused as exc:
            text = m.LINK_WHY.get(exc.why, m.ASK_ADMIN)
            status = _STATUS.get(exc.why, 410)
            return message(self.site, lang, m.LINK_REFUSED, text, status, "../login")
        except OTPGateError as exc:
            log.error("enrolment: store error %s", exc.__class__.__name__)
            return message(self.site, lang, m.BAD_REQUEST, m.UNAVAILABLE, 503)

    async def _enrol(self, request: Request, token: str, lang: str) -> Response:
        # Every step re-reads the invitation; a refusal or a store error at any
        # point is answered by enrol().
        now = self.forms.now()
        inv = await run_in_threadpool(self.service.open, token, now)
        visit = _Visit(request, token, inv, lang, now)
        if request.method != "POST":
            if inv.status == "pending":
                return self._scan_page(visit)
            if not self.service.asks_pin:  # the directory's password, or none
                await run_in_threadpool(self.service.skip_pin, token, now)
                return redirect(token, 303)
            return self._pin_page(visit)
        form = await self.forms.read(request)
        if isinstance(form, Response):
            return form
        if self.forms.csrf_failed(request, form):
            return message(self.site, lang, m.BAD_REQUEST, m.EXPIRED_FORM_RETRY, 403)
        step = form.get("step")
        if step == "confirm" and inv.status == "pending":
            return await self._confirm(visit, form)
        if step == "passkey" and inv.status == "pending" and self.passkeys and not inv.reset:
            return await self._with_passkey(visit, form)
        if step == "pin":
            return await self._choose(visit, form)
        if step == "keep" and inv.reset:
            await run_in_threadpool(self.service.keep_pin, token, now)
        # The scan step by GET; or, for a stale form (the other step) or something
        # made up, where things stand.
        return redirect(token, 303)

    def _step(self, visit: _Visit, template: str, status: int, **fields: Any) -> Response:
        """A step's page: its form posts back to the link, for the invitation's user."""
        text = self.forms.template(
            template, visit.lang, action=visit.token, user=visit.inv.username, **fields
        )
        return self.forms.page(visit.request, text, status)

    def _pin_page(
        self, visit: _Visit, status: int = 200, errors: dict[str, str] | None = None
    ) -> Response:
        errors = errors or {}
        return self._step(
            visit,
            "enrol_pin.html",
            status,
            reset=visit.inv.reset,
            min_length=self.service.policy.min_length,
            message=None,
            pin_error=errors.get("pin"),
            pin2_error=errors.get("pin2"),
        )

    def _scan_page(
        self,
        visit: _Visit,
        status: int = 200,
        code_error: str | None = None,
        passkey_error: str | None = None,
    ) -> Response:
        inv = visit.inv
        assert inv.pending_key is not None
        # The otpauth label cannot hold a colon in the issuer; the title may have one.
        issuer = self.site.replace(":", "").strip() or None
        uri = build_uri(inv.token_type, inv.pending_key, inv.username, issuer=issuer)
        return self._step(
            visit,
            "enrol_scan.html",
            status,
            qr=qr_svg(uri, translator(visit.lang)(m.QR_LABEL)),
            key=_grouped(inv.pending_key),
            uri=uri,
            wide=True,
            message=None,
            code_error=code_error,
            passkeys=bool(self.passkeys) and not inv.reset,
            passkey_error=passkey_error,
            script="../static/passkeys.js" if self.passkeys and not inv.reset else "",
        )

    async def _choose(self, visit: _Visit, form: dict[str, str]) -> Response:
        pin, again = form.get("pin", "")[:MAX_PASSWORD], form.get("pin2", "")[:MAX_PASSWORD]
        problems = await run_in_threadpool(
            self.service.choose_pin, visit.token, pin, again, visit.now
        )
        if not problems:
            return redirect(visit.token, 303)  # the scan step, by GET
        _ = translator(visit.lang)
        n = self.service.policy.min_length
        errors: dict[str, str] = {}
        for p in problems:
            key = "pin2" if p == "mismatch" else "pin"
            errors[key] = " ".join(filter(None, [errors.get(key), _(m.PIN_PROBLEMS[p], n=n)]))
        return self._pin_page(visit, 400, errors)

    async def _with_passkey(self, visit: _Visit, form: dict[str, str]) -> Response:
        assert self.passkeys is not None
        ip = self.forms.ip(visit.request)
        _ = translator(visit.lang)
        try:
            user, codes = await run_in_threadpool(
                enrol_with_passkey, self.service, self.passkeys, visit.token, form, ip, visit.now
            )
        except (PasskeyRefused, WrongCode) as exc:
            log.info("enrolment with a passkey refused: %s", exc)
            return self._scan_page(visit, 400, passkey_error=_(m.PASSKEY_FAILED))
        return self._codes(visit, user, codes, m.PASSKEY_ENROLLED)

    async def _confirm(self, visit: _Visit, form: dict[str, str]) -> Response:
        code = "".join(form.get("code", "").split())[:64]
        ip = self.forms.ip(visit.request)
        _ = translator(visit.lang)
        try:
            user, codes = await run_in_threadpool(
                self.service.confirm, visit.token, code, ip, visit.now
            )
        except WrongCode:
            return self._scan_page(visit, 400, _(m.WRONG_NEW_CODE))
        return self._codes(visit, user, codes, m.ENROLLED)

    def _codes(self, visit: _Visit, user: str, codes: list[str], notice: str) -> Response:
        """The recovery codes, shown once, and the way to sign in."""
        _ = translator(visit.lang)
        text = render(
            "recovery_codes.html",
            lang=visit.lang,
            site=self.site,
            user=user,
            codes=codes,
            notice=_(notice),
            next_href="../login",
            next_label=_(m.CONTINUE_SIGN_IN),
        )
        return html(text)


def enrol_with_passkey(
    service: SelfService, parts: PasskeyParts, token: str, form: dict[str, str], ip: str, now: float
) -> tuple[str, list[str]]:
    """Verify the new passkey for the invitation's user, then create the user with it.

    Raises:
        PasskeyRefused: the browser's answer or the name is not right.
        WrongCode: the link is not at the step for it.
        InvitationRefused: the link cannot be used (any more).
        StoreError: the store failed.
    """
    user = service.open(token, now).username
    passkey = parts.ceremonies.verify_registration(
        user, form.get("handle", ""), form.get("credential", ""), form.get("name", ""), now
    )
    return confirm_with_passkey(service, parts.ceremonies.store, token, passkey, ip, now)
