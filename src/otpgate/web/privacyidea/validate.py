"""privacyIDEA's ``/validate/check``, ``triggerchallenge`` and ``polltransaction``.

Every login goes through :meth:`~otpgate.web.decisions.Decisions.decide`
(frontend ``privacyidea``): the same throttle, guess budget, audit lines and
metrics as every other front end, and the same one decision.  An error never
accepts: a store that cannot be read answers privacyIDEA's database error.

Challenge-response (``[privacyidea] challenge_response``): a first leg that
is not accepted, and is not refused for a reason that ends the attempt
(throttled, locked, store error), answers ``CHALLENGE``; its password (the
PIN alone, in the normal case) is kept with the transaction
(:mod:`._transactions`), and the second leg's code is decided with it.  So
the first leg judges nothing but "not a full PIN and code": a wrong PIN is
found in the second leg, at the cost of one guess like any other, and the
first leg is no oracle for the PIN.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...audit.decision_log import log_decision
from ...login.reasons import Reason
from ..http import secure
from ._envelope import Code, Outcome, failure, result
from ._login import Login, UnknownRealm, read_login, serial_of, type_of
from ._params import ParamError, read_params
from ._passkey import is_passkey_check
from ._service import bearer
from ._transactions import Pending

if TYPE_CHECKING:
    from ...config.privacyidea import PrivacyIdeaSettings
    from ...login.authenticator import Authenticator, Decision
    from ..clients import ClientAddresses
    from ..decisions import Decisions
    from ._passkey import PasskeyApi
    from ._service import ServiceTokens
    from ._transactions import Transactions

__all__ = ["FRONTEND", "Validate"]

FRONTEND: Final = "privacyidea"
MISSING_HEADER: Final = "Authentication failure. Missing Authorization header."
# Refusals that end the attempt: no challenge follows them.
_FINAL: Final = frozenset({Reason.THROTTLED, Reason.LOCKED, Reason.STORE_ERROR, Reason.LOGOUT})
_REJECTED: Final = {"message": "wrong otp pin"}


@dataclass(frozen=True, slots=True)
class Validate:
    """The ``/validate`` endpoints.

    Attributes:
        decisions: the one way to a decision.
        auth: the Authenticator (its memory tells a token's type without I/O).
        clients: the caller's address.
        transactions: challenge transactions.
        tokens: service tokens (``/validate/triggerchallenge``).
        settings: the ``[privacyidea]`` table.
        max_body: the largest body read (``web.max_body``).
        clock: the Authenticator's clock.
        passkeys: ``/validate/initialize type=passkey`` and the passkey check.
    """

    decisions: Decisions
    auth: Authenticator
    clients: ClientAddresses
    transactions: Transactions
    tokens: ServiceTokens
    settings: PrivacyIdeaSettings
    max_body: int
    clock: Callable[[], float]
    passkeys: PasskeyApi

    def routes(self) -> list[Route]:
        p = self.settings.prefix
        return [
            Route(p + "/validate/check", self.check, methods=["GET", "POST"]),
            Route(p + "/validate/initialize", self.initialize, methods=["POST"]),
            Route(p + "/validate/radiuscheck", self.radiuscheck, methods=["GET", "POST"]),
            Route(p + "/validate/triggerchallenge", self.trigger, methods=["GET", "POST"]),
            Route(p + "/validate/polltransaction", self.poll, methods=["GET"]),
            Route(p + "/validate/polltransaction/{transaction_id}", self.poll, methods=["GET"]),
        ]

    async def check(self, request: Request) -> Response:
        """``/validate/check``: ``user`` (+``realm``), ``pass``, ``transaction_id``/``state``."""
        try:
            params = await read_params(request, self.max_body)
            if is_passkey_check(params):
                origin = request.headers.get("origin", "")
                ip = self._address(request, params)
                return await self.passkeys.check(params, origin, ip, self.clock())
            login = read_login(params, self.settings.realm)
        except ParamError as exc:
            return failure(Code.PARAMETER, str(exc))
        except UnknownRealm as exc:
            return failure(Code.USER, str(exc))
        ip = self._address(request, params)
        now = self.clock()
        if login.transaction_id is not None:
            return await self._second_leg(login, login.transaction_id, ip, now)
        if not login.sound:
            return self._unheard(login.user, ip, "malformed")
        decision = await self.decisions.decide(
            FRONTEND, login.user, login.password, ip, now, linger=False
        )
        if decision.ok or decision.reason in _FINAL or not self.settings.challenge_response:
            return self._answer(decision, login.user)
        # A shared state is a network or file round trip: not on the event loop.
        pending = Pending(login.user, login.password)
        tid = await run_in_threadpool(self.transactions.open, pending, now)
        if tid is None:
            return failure(Code.DATABASE, "the challenge could not be stored")
        return self._challenge(login.user, tid)

    async def initialize(self, request: Request) -> Response:
        """``/validate/initialize``: ``type=passkey`` (:mod:`._passkey`)."""
        try:
            params = await read_params(request, self.max_body)
        except ParamError as exc:
            return failure(Code.PARAMETER, str(exc))
        return await self.passkeys.initialize(params, self.clock())

    async def radiuscheck(self, request: Request) -> Response:
        """``/validate/radiuscheck``: ``/validate/check`` as an empty 204 (accepted) or 400
        (anything else, errors too), for adapters that read the status alone."""
        answer = await self.check(request)
        accepted = answer.status_code == 200 and json.loads(bytes(answer.body))["result"].get(
            "value"
        )
        return secure(Response(status_code=204 if accepted is True else 400))

    async def _second_leg(self, login: Login, tid: str, ip: str, now: float) -> Response:
        """The code for a challenge: decided with the PIN its first leg sent."""
        pending = await run_in_threadpool(self.transactions.take, tid, now)
        if pending is None or pending.user != login.user:
            return self._unheard(login.user, ip, "no_transaction")
        whole = Login(login.user, pending.pin + login.password, None)
        if not login.password or not whole.sound:
            return self._unheard(login.user, ip, "malformed")
        decision = await self.decisions.decide(
            FRONTEND, whole.user, whole.password, ip, now, linger=False
        )
        return self._answer(decision, login.user)

    async def trigger(self, request: Request) -> Response:
        """``/validate/triggerchallenge``: a service token and ``user``.

        No challenge is triggered: a challenge without the PIN would need the
        code alone to log in, which otpgate's one decision does not do.  The
        answer is privacyIDEA's for a user without challenge-response tokens,
        after which the clients ask for the PIN and code (docs/privacyidea.md).
        """
        refused = self._service(request)
        if refused is not None:
            return refused
        try:
            read_login(await read_params(request, self.max_body), self.settings.realm)
        except ParamError as exc:
            return failure(Code.PARAMETER, str(exc))
        except UnknownRealm as exc:
            return failure(Code.USER, str(exc))
        return result(0, rid=2, authentication=Outcome.REJECT, detail=_NO_CHALLENGE)

    async def poll(self, request: Request) -> Response:
        """``/validate/polltransaction``: never answered yet (no push tokens); never consumes."""
        tid = request.path_params.get("transaction_id") or request.query_params.get(
            "transaction_id"
        )
        if not tid:
            return failure(Code.PARAMETER, "Missing parameter: transaction_id")
        detail = {"challenge_status": "pending"}
        return result(False, rid=2, authentication=Outcome.REJECT, detail=detail)

    def _service(self, request: Request) -> Response | None:
        """``None`` if the request carries a valid service token, else the error."""
        token = bearer(request.headers.get("pi-authorization")) or bearer(
            request.headers.get("authorization")
        )
        if token is None:
            return failure(Code.AUTH_HEADER, MISSING_HEADER)
        if self.tokens.check(token, self.clock()) is None:
            return failure(Code.AUTHENTICATE, "Authentication failure. Wrong credentials.")
        return None

    def _address(self, request: Request, params: dict[str, str]) -> str:
        """The client's address; a ``client`` parameter counts only from a trusted proxy."""
        client = params.get("client", "")
        if client and self.clients.from_proxy(request) and _is_ip(client):
            return client
        return self.clients.of(request)

    def _answer(self, decision: Decision, user: str) -> Response:
        if decision.reason is Reason.STORE_ERROR:
            return failure(Code.DATABASE, "database error")
        if not decision.ok:
            return result(False, rid=2, authentication=Outcome.REJECT, detail=dict(_REJECTED))
        record = self.auth.record(decision.user or user, read=False)
        detail: dict[str, object] = {
            "message": "matching 1 tokens",
            "serial": serial_of(user, record),
            "type": type_of(record),
        }
        if record is not None:
            detail["otplen"] = record.token_type.digits
        return result(True, rid=2, authentication=Outcome.ACCEPT, detail=detail)

    def _challenge(self, user: str, tid: str) -> Response:
        message, serial = self.settings.challenge_message, serial_of(user, None)
        one = {
            "serial": serial,
            "transaction_id": tid,
            "message": message,
            "client_mode": "interactive",
            "type": type_of(None),
        }
        detail = {
            "message": message,
            "messages": [message],
            "serial": serial,
            "type": one["type"],
            "transaction_id": tid,
            "transaction_ids": [tid],
            "multi_challenge": [one],
            "client_mode": "interactive",
            "preferred_client_mode": "interactive",
        }
        return result(False, rid=2, authentication=Outcome.CHALLENGE, detail=detail)

    def _unheard(self, user: str, ip: str, reason: str) -> Response:
        """A refusal decided before the Authenticator (no transaction, no usable password)."""
        self.decisions.metrics.record(FRONTEND, reason, 0.0, False)
        log_decision(FRONTEND, user, ip, False, reason, None)
        return result(False, rid=2, authentication=Outcome.REJECT, detail=dict(_REJECTED))


_NO_CHALLENGE: Final[dict[str, list[str]]] = {"messages": [], "transaction_ids": []}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
