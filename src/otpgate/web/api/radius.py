"""``POST /api/v1/radius``: FreeRADIUS's ``rlm_rest`` asks the gate (every core).

FreeRADIUS calls an ``rlm_python3`` instance from one thread at a time, so
otpgate in process (:mod:`otpgate.adapters.radius`) decides one
Access-Request at a time, on one core.  ``rlm_rest`` has no such limit: with
``examples/freeradius/rest/`` FreeRADIUS posts every PAP Access-Request here,
to ``otpgate serve --workers N``, and the hashes run on every core.

The body is what ``rlm_rest`` sends with ``body = json`` and no ``data``: the
request's attributes, ``{"User-Name": {"type": "string", "value": ["bob"]},
...}`` (rlm_rest escapes them itself).  The decision is the one
:mod:`otpgate.adapters.radius` makes: the client is ``Calling-Station-Id``
(else the NAS's address), and a used code is refused when sent again (no
lingering).  Unlike in process, that address is only claimed (an API key
could name any), so it never earns the user the own guess budget of a known
address (:mod:`otpgate.regulation.budget`).  The answers map to FreeRADIUS's
return codes as rlm_rest reads them: 204 ok, 401 reject (with a
``Reply-Message``), 404 notfound (an unknown user, only with
``fall_through``), 503 fail.  An API key is required (the site sends it in
``X-API-Key``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._limits import MAX_PASSWORD
from ...adapters.radius import (
    REFUSED,
    RLM_MODULE_FAIL,
    RLM_MODULE_NOTFOUND,
    RLM_MODULE_OK,
    client_address,
    reply_for,
)
from ..http import secure
from ..request import MalformedCredentials, check_user, is_unicode
from ._json import answer, error, read_object

if TYPE_CHECKING:
    from ..decisions import Decisions
    from .keys import ApiKeys

__all__ = ["PATH", "RadiusApi", "attributes"]

PATH: Final = "/api/v1/radius"
# The attributes read (client_address's and the credentials).
_READ: Final = (
    "User-Name",
    "User-Password",
    "Calling-Station-Id",
    "NAS-IPv6-Address",
    "NAS-IP-Address",
    "Packet-Src-IP-Address",
)


def attributes(body: Mapping[str, Any]) -> dict[str, str]:
    """The first value of each attribute :mod:`otpgate.adapters.radius` reads.

    rlm_rest's JSON: ``{"Name": {"type": ..., "value": [v, ...]}, ...}``;
    anything else in the body is ignored, and an attribute of another shape
    is as if absent.
    """
    out: dict[str, str] = {}
    for name in _READ:
        entry = body.get(name)
        values = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(values, list) and values and isinstance(values[0], str):
            out[name] = values[0]
    return out


@dataclass(frozen=True, slots=True)
class RadiusApi:
    """``POST /api/v1/radius`` for rlm_rest.

    Attributes:
        decisions: the one way to a decision.
        keys: the API keys accepted.
        max_body: the largest body read (``web.max_body``).
        clock: the Authenticator's clock.
        fall_through: an unknown user is ``notfound`` (404) for the next module.
    """

    decisions: Decisions
    keys: ApiKeys
    max_body: int
    clock: Callable[[], float]
    fall_through: bool = False

    def routes(self) -> list[Route]:
        return [Route(PATH, self.check, methods=["POST"])]

    async def check(self, request: Request) -> Response:
        if not self.keys.accept(request):
            return error(403, "a valid API key is required")
        body = await read_object(request, self.max_body)
        if isinstance(body, Response):
            return body
        attrs = attributes(body)
        user, password = attrs.get("User-Name", ""), attrs.get("User-Password")
        try:
            check_user(user)
            if password is None or len(password) > MAX_PASSWORD or not is_unicode(password):
                raise MalformedCredentials("no usable User-Password")
        except MalformedCredentials:
            return _reject()
        # The address is the NAS's claim, passed on by whoever holds an API key:
        # as the JSON API's "ip", it never counts as one the user is known from
        # (otpgate.regulation.budget), so a key gives no more here than there.
        address = client_address(attrs)
        decision = await self.decisions.decide(
            "radius", user, password, address, self.clock(), linger=False, proven=False
        )
        code, reply = reply_for(decision, fall_through=self.fall_through)
        if code == RLM_MODULE_OK:
            return secure(Response(status_code=204))
        if code == RLM_MODULE_NOTFOUND:
            return secure(Response(status_code=404))
        if code == RLM_MODULE_FAIL:
            return answer({}, 503)
        message = dict(reply.get("reply", ())).get("Reply-Message", REFUSED)
        return answer({"reply:Reply-Message": message}, 401)


def _reject() -> Response:
    return answer({"reply:Reply-Message": REFUSED}, 401)
