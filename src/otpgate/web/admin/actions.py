"""What an administrator does to a user: each a POST, the destructive ones after a step-up.

Lock, unlock and revoking links take one click (a POST with the CSRF token).
Resync needs two consecutive codes of the user's token.  Reset, new recovery
codes, a role change and removal show a confirmation form that asks for the
administrator's PIN and a fresh one-time code; so does inviting a new user,
whose link opens every protected application as a reset's does.  Nobody removes themselves or
takes their own administrator role away in the browser: that would lock the
last administrator out; the terminal can.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..._limits import MAX_USER, has_control
from ...accounts.administration import CannotResync
from ...accounts.authenticators import listing
from ...accounts.selfservice import USER_NAME
from ...errors import LastAuthenticator, OTPGateError, StoreError, UnknownUser
from ...otp.tokens import TokenType, parse_token_type
from ...store.invitations import DEFAULT_EXPIRY
from ..http import redirect
from .base import AdminBase, Ctx, root

__all__ = ["EXPIRY", "EXPIRY_DEFAULT", "TYPES", "Actions"]

TYPES: Final = {"totp": "HOTP/T30", "hotp": "HOTP/E"}
EXPIRY: Final = {"1h": 3600.0, "24h": 86400.0, "72h": 3 * 86400.0, "7d": 7 * 86400.0}
# The form's choice unless changed: the same as ``otpgate user invite``'s.
EXPIRY_DEFAULT: Final = next(key for key, seconds in EXPIRY.items() if seconds == DEFAULT_EXPIRY)
STEP_UP: Final = ("reset", "recovery-codes", "role", "remove", "remove-token")
TROUBLE: Final = "The store cannot be written right now. Nothing was changed."
BAD_NAME: Final = "User names are 1 to 128 characters: letters, digits and . _ @ + -"
EXISTS: Final = "That user exists already. To give them a new token, use Reset on their page."
NOT_IN_DIRECTORY: Final = "The directory has no user of that name."


def _user_url(request: Request, name: str, done: str = "") -> str:
    url = root(request) + "admin/users/" + urllib.parse.quote(name, safe="")
    return url + (f"?done={done}" if done else "")


class Actions:
    """The action routes of one user, and inviting a new one."""

    def __init__(self, base: AdminBase) -> None:
        self.base = base
        self.admin = base.admin

    def _name(self, request: Request) -> str | None:
        name: str = request.path_params.get("name", "")
        if not name or len(name) > MAX_USER or has_control(name):
            return None
        return name

    async def _exists(self, name: str) -> bool:
        return await run_in_threadpool(self.base.store.get, name) is not None

    # --- one click ------------------------------------------------------------------

    async def simple(self, request: Request, ctx: Ctx, action: str) -> Response:
        name = self._name(request)
        if request.method != "POST" or name is None:
            return redirect(_user_url(request, name or ""), 303)
        do: Callable[..., object] = {
            "lock": self.admin.lock,
            "unlock": self.admin.unlock,
            "revoke": self.admin.revoke_invitations,
        }[action]
        try:
            await run_in_threadpool(do, ctx.actor, name, ctx.now)
        except UnknownUser:
            return self._missing(request, ctx)
        except OTPGateError:
            return self.base.page(request, ctx, "notice.html", 503, text=TROUBLE)
        done = {"lock": "locked", "unlock": "unlocked", "revoke": "revoked"}[action]
        return redirect(_user_url(request, name, done), 303)

    def _missing(self, request: Request, ctx: Ctx) -> Response:
        return self.base.page(request, ctx, "notice.html", 404, text="No such user.")

    # --- confirmation forms ---------------------------------------------------------

    def _confirm(
        self,
        request: Request,
        ctx: Ctx,
        action: str,
        name: str,
        status: int = 200,
        *,
        error: str | None = None,
        role: str = "user",
        tokens: list[tuple[str, str]] | None = None,
    ) -> Response:
        return self.base.page(
            request,
            ctx,
            "confirm.html",
            status,
            action=action,
            name=name,
            error=error,
            step_up=action in STEP_UP,
            types=TYPES,
            expiry=EXPIRY,
            expiry_default=EXPIRY_DEFAULT,
            role=role,
            self_page=name == ctx.admin,
            tokens=tokens or [],
            chosen=request.query_params.get("token", ""),
        )

    async def _tokens(self, name: str) -> list[tuple[str, str]]:
        """(id, "name (kind)") of each of the user's authenticators, for the removal form."""
        infos = await run_in_threadpool(listing, self.base.store, name)
        return [(a.id, f"{a.name} ({a.kind})") for a in infos or []]

    async def confirmed(self, request: Request, ctx: Ctx, action: str) -> Response:
        name = self._name(request)
        if name is None or not await self._exists(name):
            return self._missing(request, ctx)
        role = await run_in_threadpool(self.base.store.get_role, name)
        tokens = await self._tokens(name) if action == "remove-token" else None
        if request.method != "POST":
            return self._confirm(request, ctx, action, name, role=role, tokens=tokens)
        if name == ctx.admin and action in ("remove", "role"):
            msg = "Change your own account at the terminal (otpgate user ...)."
            return self._confirm(request, ctx, action, name, 403, error=msg, role=role)
        if action in STEP_UP:
            problem = await self.base.step_up(ctx)
            if problem is not None:
                return self._confirm(request, ctx, action, name, 403, error=problem, role=role)
        try:
            return await self._perform(request, ctx, action, name)
        except UnknownUser:
            return self._missing(request, ctx)
        except LastAuthenticator:
            msg = "That is the user's only authenticator: it cannot be removed."
            return self._confirm(request, ctx, action, name, 409, error=msg, tokens=tokens)
        except CannotResync:
            msg = "Those are not two consecutive codes of this token."
            return self._confirm(request, ctx, action, name, 400, error=msg, role=role)
        except ValueError:
            return self._confirm(
                request, ctx, action, name, 400, error="Check the form.", role=role
            )
        except StoreError:
            return self._confirm(request, ctx, action, name, 503, error=TROUBLE, role=role)

    async def _perform(self, request: Request, ctx: Ctx, action: str, name: str) -> Response:
        f, adm = ctx.form, self.admin
        if action == "resync":
            code1, code2 = "".join(f.get("code1", "").split()), "".join(f.get("code2", "").split())
            if not code1 or not code2 or len(code1) > 20 or len(code2) > 20:
                raise ValueError("two codes")
            await run_in_threadpool(adm.resync, ctx.actor, name, code1, code2, ctx.now)
            return redirect(_user_url(request, name, "resynced"), 303)
        if action == "remove-token":
            token_id = f.get("token", "")
            await run_in_threadpool(adm.remove_token, ctx.actor, name, token_id, ctx.now)
            return redirect(_user_url(request, name, "token-removed"), 303)
        if action == "remove":
            await run_in_threadpool(adm.remove, ctx.actor, name, ctx.now)
            return redirect(root(request) + "admin?done=removed", 303)
        if action == "role":
            await run_in_threadpool(adm.set_role, ctx.actor, name, f.get("role", ""), ctx.now)
            return redirect(_user_url(request, name, "role"), 303)
        if action == "recovery-codes":
            codes = await run_in_threadpool(adm.recovery_codes, ctx.actor, name, ctx.now)
            return self.base.page(
                request, ctx, "secret.html", name=name, codes=codes, link="", reset=False
            )
        # reset
        return await self._link(request, ctx, name, reset=True)

    # --- invitations ----------------------------------------------------------------

    @staticmethod
    def _link_choice(ctx: Ctx) -> tuple[TokenType, float]:
        """The token type and expiry chosen on the form.  Raises ValueError."""
        kind = ctx.form.get("type", "totp")
        expires = EXPIRY.get(ctx.form.get("expires", EXPIRY_DEFAULT))
        if kind not in TYPES or expires is None:
            raise ValueError("type or expiry")
        return parse_token_type(TYPES[kind]), expires

    async def _link(self, request: Request, ctx: Ctx, name: str, *, reset: bool) -> Response:
        ttype, expires = self._link_choice(ctx)
        token = await run_in_threadpool(
            lambda: self.admin.invite(
                ctx.actor, name, ttype, expires_in=expires, reset=reset, now=ctx.now
            )
        )
        link = self._portal_base(request) + "/enrol/" + token
        return self.base.page(
            request, ctx, "secret.html", name=name, codes=[], link=link, reset=reset
        )

    def _portal_base(self, request: Request) -> str:
        portal = self.base.web.portal_url.rstrip("/")
        if urllib.parse.urlsplit(portal).netloc:
            return portal
        scheme, host = self.base.forms.clients.origin(request)
        return f"{scheme}://{host}{portal}"

    def _invite_form(
        self,
        request: Request,
        ctx: Ctx,
        status: int = 200,
        name: str = "",
        error: str | None = None,
        step_error: str | None = None,
        suggest: Sequence[tuple[str, str]] = (),
    ) -> Response:
        return self.base.page(
            request,
            ctx,
            "invite.html",
            status,
            suggest=suggest,
            types=TYPES,
            expiry=EXPIRY,
            expiry_default=EXPIRY_DEFAULT,
            error=error,
            step_error=step_error,
            name=name[:MAX_USER],
        )

    def _invitable(self) -> list[tuple[str, str]]:
        """(login, display name) of directory users without a token, for the name field;
        nothing without a directory, or while it does not answer."""
        without_token = getattr(self.base.store, "without_token", None)
        if without_token is None:
            return []
        try:
            return [(u.login, u.display) for u in without_token()]
        except StoreError:
            return []

    async def invite(self, request: Request, ctx: Ctx) -> Response:
        if request.method != "POST":
            known = await run_in_threadpool(self._invitable)
            return self._invite_form(request, ctx, suggest=known)
        name = ctx.form.get("username", "").strip()
        if not USER_NAME.fullmatch(name):
            return self._invite_form(request, ctx, 400, name, BAD_NAME)
        try:
            if await self._exists(name):
                return self._invite_form(request, ctx, 409, name, EXISTS)
            self._link_choice(ctx)  # a bad form is refused before a code is spent
            # The link opens every protected application, as a reset's does: a
            # session alone (perhaps a stolen one) must not make it.
            problem = await self.base.step_up(ctx)
            if problem is not None:
                return self._invite_form(request, ctx, 403, name, step_error=problem)
            return await self._link(request, ctx, name, reset=False)
        except ValueError:
            return self._invite_form(request, ctx, 400, name, "Check the form.")
        except UnknownUser:  # users from a directory: only its names get a link
            return self._invite_form(request, ctx, 400, name, NOT_IN_DIRECTORY)
        except StoreError:
            return self._invite_form(request, ctx, 503, name, TROUBLE)
