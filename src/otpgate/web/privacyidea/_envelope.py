"""privacyIDEA's answers: the JSON-RPC style envelope, its results and its error codes.

``result.status`` says the request was processed, ``result.value`` the
outcome; an error sets ``status`` false and ``result.error = {code, message}``
with privacyIDEA's codes (``lib/error.py``) and HTTP statuses (400 for
parameter and user errors, 401 for authentication errors).
"""

from __future__ import annotations

import threading
import time
from enum import IntEnum, StrEnum
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from ..http import secure

__all__ = ["VERSION", "Code", "Outcome", "failure", "result"]

# What the clients read as the server's version (none of them compares it).
VERSION: Final = "privacyIDEA 3.14 (otpgate)"
VERSION_NUMBER: Final = "3.14"


class Code(IntEnum):
    """privacyIDEA's error codes, as its clients act on them (904: user not found)."""

    AUTHENTICATE = 403
    WRONG_CREDENTIALS = 4031
    AUTH_HEADER = 4033
    TOKEN_EXPIRED = 4305
    DATABASE = 902
    USER = 904
    PARAMETER = 905


_STATUS: Final = {
    Code.AUTHENTICATE: 401,
    Code.WRONG_CREDENTIALS: 401,
    Code.AUTH_HEADER: 401,
    Code.TOKEN_EXPIRED: 401,
    Code.DATABASE: 500,
    Code.USER: 400,
    Code.PARAMETER: 400,
}


class Outcome(StrEnum):
    """``result.authentication`` of a ``/validate`` answer."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    CHALLENGE = "CHALLENGE"


def result(
    value: Any,
    *,
    authentication: Outcome | None = None,
    detail: dict[str, Any] | None = None,
    rid: int = 1,
) -> Response:
    """A processed request's answer (privacyIDEA's ``send_result``)."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "result": {"status": True, "value": value}}
    if authentication is not None:
        body["result"]["authentication"] = str(authentication)
    body |= {"version": VERSION, "versionnumber": VERSION_NUMBER, "id": rid, "time": time.time()}
    if detail:
        body["detail"] = detail | {"threadid": threading.get_ident()}
    return secure(JSONResponse(body))


def failure(code: Code, message: str) -> Response:
    """An error (privacyIDEA's ``send_error``): ``ERR<code>: <message>``, but for
    authentication errors, whose message privacyIDEA sends as it is."""
    if _STATUS[code] != 401:
        message = f"ERR{int(code)}: {message}"
    body = {
        "jsonrpc": "2.0",
        "detail": None,
        "result": {"status": False, "error": {"code": int(code), "message": message}},
        "version": VERSION,
        "id": 1,
        "time": time.time(),
    }
    return secure(JSONResponse(body, _STATUS[code]))
