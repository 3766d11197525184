"""Passkeys through privacyIDEA's API: ``/validate/initialize type=passkey`` and the
assertion sent to ``/validate/check``, as privacyIDEA 3.11+ and its plugins do it.

``initialize`` answers ``CHALLENGE`` with a transaction id and the WebAuthn
request options (``detail.passkey``); no user name is asked, so the sign-in
is a discoverable one: the credential names the user, and the authenticator
must verify the user (the passkey is both factors).  The plugin then sends
``transaction_id`` with the assertion's fields (``credential_id``,
``authenticatorData``, ``clientDataJSON``, ``signature``, ``userHandle``)
and forwards the browser's ``Origin`` header; the origin must be one of
``web.webauthn_origins``.  The assertion is decided by the portal's
:class:`~otpgate.login.passkey_login.PasskeyLogin` (throttle, guess budget,
clone detection, the store write, the audit line) with the challenge of the
transaction: single use and expiring (:mod:`otpgate.state.challenges`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool

from ...audit.decision_log import log_decision
from ...login.passkey_types import PasskeyRefused
from ...login.reasons import Reason
from ._envelope import Code, Outcome, failure, result

if TYPE_CHECKING:
    from starlette.responses import Response

    from ...config.loader import Config
    from ...login.authenticator import Authenticator
    from ..decisions import Decisions
    from ..portal.passkeys import PasskeyParts

__all__ = ["ASSERTION", "PasskeyApi", "is_passkey_check"]

FRONTEND: Final = "privacyidea"
MESSAGE: Final = "Please authenticate with your Passkey!"
# The fields of a passkey answer to /validate/check (privacyIDEA's names).
ASSERTION: Final = ("authenticatorData", "clientDataJSON", "signature")
_LONGEST: Final = 8192


def is_passkey_check(params: dict[str, str]) -> bool:
    """Whether a ``/validate/check`` carries a passkey assertion rather than a code."""
    return any(name in params for name in (*ASSERTION, "credential_id", "rawId"))


@dataclass(frozen=True, slots=True)
class PasskeyApi:
    """The passkey legs of the validate API.

    Attributes:
        parts: the portal's ceremonies and sign-in, or ``None`` (passkeys off).
        decisions: its metrics.
    """

    parts: PasskeyParts | None
    decisions: Decisions

    @classmethod
    def build(cls, config: Config, auth: Authenticator, decisions: Decisions) -> PasskeyApi:
        from ..portal.passkeys import PasskeyParts

        return cls(PasskeyParts.build(config, auth, config.secrets()[-1]), decisions)

    async def initialize(self, params: dict[str, str], now: float) -> Response:
        """``/validate/initialize``: ``type=passkey`` opens a transaction with a challenge."""
        kind = params.get("type", "")
        if kind != "passkey":
            return failure(Code.PARAMETER, f"Unsupported token type {kind!r} for initialize")
        if self.parts is None:
            return failure(Code.PARAMETER, "No passkey is configured")
        try:
            tid, options = await run_in_threadpool(
                self.parts.ceremonies.authentication_options, None, now
            )
        except PasskeyRefused:
            return failure(Code.DATABASE, "the challenge could not be stored")
        passkey = {
            "challenge": options["challenge"],
            "rpId": options["rpId"],
            "userVerification": options.get("userVerification", "required"),
            "transaction_id": tid,
            "message": MESSAGE,
        }
        one: dict[str, Any] = {"type": "passkey", "transaction_id": tid, "message": MESSAGE}
        one |= {"client_mode": "webauthn", "serial": None, "challenge": passkey["challenge"]}
        one |= {"rpId": passkey["rpId"], "userVerification": passkey["userVerification"]}
        detail = {
            "transaction_id": tid,
            "transaction_ids": [tid],
            "message": MESSAGE,
            "messages": [MESSAGE],
            "passkey": passkey,
            "multi_challenge": [one],
            "client_mode": "webauthn",
            "preferred_client_mode": "webauthn",
        }
        return result(False, rid=2, authentication=Outcome.CHALLENGE, detail=detail)

    async def check(self, params: dict[str, str], origin: str, ip: str, now: float) -> Response:
        """A passkey assertion for a transaction: ACCEPT with the user's name, or REJECT."""
        started = time.perf_counter()
        answer = _assertion(params)
        parts = self.parts
        if answer is None or parts is None or origin not in _origins(parts):
            return self._refused("", ip, "malformed" if answer is None else "passkey_refused")
        # The origin the plugin forwards is the one the browser's answer must name.
        cer = parts.ceremonies
        ceremonies = type(cer)(replace(cer.rp, origins=(origin,)), cer.challenges, cer.store)
        signin = type(parts.signin)(parts.signin.auth, ceremonies)
        tid = params.get("transaction_id", "")
        decision = await run_in_threadpool(signin.sign_in, None, "", tid, answer, ip, now)
        throttled = decision.retry_after is not None and not decision.ok
        self.decisions.metrics.record(
            FRONTEND, decision.reason, time.perf_counter() - started, throttled
        )
        user = decision.user or ""
        log_decision(FRONTEND, user, ip, decision.ok, decision.reason, decision.retry_after)
        if decision.reason is Reason.STORE_ERROR:
            return failure(Code.DATABASE, "database error")
        if not decision.ok:
            detail = {"message": "wrong passkey"}
            return result(False, rid=2, authentication=Outcome.REJECT, detail=detail)
        detail = {"message": "Found matching challenge", "username": user, "type": "passkey"}
        return result(True, rid=2, authentication=Outcome.ACCEPT, detail=detail)

    def _refused(self, user: str, ip: str, reason: str) -> Response:
        self.decisions.metrics.record(FRONTEND, reason, 0.0, False)
        log_decision(FRONTEND, user, ip, False, reason, None)
        detail = {"message": "wrong passkey"}
        return result(False, rid=2, authentication=Outcome.REJECT, detail=detail)


def _origins(parts: PasskeyParts) -> tuple[str, ...]:
    return parts.ceremonies.rp.origins


def _assertion(params: dict[str, str]) -> str | None:
    """The assertion as the browser's JSON (py_webauthn reads it), or ``None`` if malformed."""
    raw = params.get("credential_id") or params.get("rawId") or params.get("id") or ""
    fields = [raw, params.get("transaction_id", ""), *(params.get(n, "") for n in ASSERTION)]
    if not all(fields) or any(len(f) > _LONGEST for f in fields):
        return None
    response: dict[str, Any] = {n: params[n] for n in ASSERTION}
    response["userHandle"] = params.get("userHandle") or None
    body: dict[str, Any] = {"id": raw, "rawId": raw, "type": "public-key", "response": response}
    body["clientExtensionResults"] = {}
    attachment = params.get("authenticatorAttachment")
    if attachment in ("platform", "cross-platform"):
        body["authenticatorAttachment"] = attachment
    return json.dumps(body)
