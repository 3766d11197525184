"""The account page's passkeys: the list shown, adding one, and the passkey step-up.

:class:`.account.AccountPage` checks the current PIN and a fresh one-time code
(or a passkey: :func:`passkey_step_up`) first, as for its other changes; only
then is the browser's answer verified and the passkey kept.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from ..._limits import MAX_PASSWORD
from ...errors import OTPGateError
from ...login.passkey_types import PasskeyRefused
from ...store.passkeys import check_passkey_name

if TYPE_CHECKING:
    from ...login.attempt import Decision
    from ...store.authenticators import AuthenticatorInfo
    from .passkeys import PasskeyParts

__all__ = [
    "add_passkey",
    "listed",
    "passkey_name_ok",
    "passkey_step_up",
    "utc",
]

log = logging.getLogger(__name__)


def utc(when: float | None) -> str | None:
    """``YYYY-MM-DD HH:MM`` in UTC, or ``None``."""
    return None if when is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(when))


def listed(
    parts: PasskeyParts | None, infos: list[AuthenticatorInfo]
) -> list[dict[str, object]] | None:
    """The passkeys among ``infos`` as the page shows them; ``None`` when passkeys are off."""
    if parts is None:
        return None
    return [
        {"id": p.id, "name": p.name, "created": utc(p.created), "last_used": utc(p.last_used)}
        for p in infos
        if p.kind == "WEBAUTHN"
    ]


def passkey_name_ok(form: dict[str, str]) -> bool:
    try:
        check_passkey_name(form.get("name", ""))
    except ValueError:
        return False
    return True


async def add_passkey(parts: PasskeyParts, user: str, form: dict[str, str], now: float) -> bool:
    """Verify the browser's answer and keep the passkey; whether it was added.

    Raises:
        StoreError: the store failed.
    """
    try:
        await run_in_threadpool(
            parts.ceremonies.register,
            user,
            form.get("handle", ""),
            form.get("credential", ""),
            form.get("name", ""),
            now,
        )
    except PasskeyRefused as exc:
        log.info("passkey not added for %r: %s", user, exc)
        return False
    except OTPGateError as exc:
        if "registered already" not in str(exc):
            raise
        return False
    return True


async def passkey_step_up(
    parts: PasskeyParts | None,
    user: str,
    form: dict[str, str],
    ip: str,
    now: float,
    device: str | None = None,
) -> Decision | None:
    """The decision on a step-up with the PIN and a passkey (``step_handle`` and
    ``step_credential``, filled by static/passkeys.js), or ``None`` when the form
    carries no passkey answer (or passkeys are off): the code step-up then decides.

    Counted, limited and audited as a sign-in (:meth:`.PasskeyLogin.step_up`).
    """
    answer = form.get("step_credential", "")
    if parts is None or not answer:
        return None
    pin = form.get("pin", "")[:MAX_PASSWORD]
    handle = form.get("step_handle", "")
    return await run_in_threadpool(
        parts.signin.step_up, user, pin, handle, answer, ip, now, device=device
    )
