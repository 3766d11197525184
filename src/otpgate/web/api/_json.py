"""Reading a JSON object from a request and answering with one, as every API of the gate does."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ..http import PayloadTooLarge, read_body, secure

__all__ = ["TOO_DEEP", "answer", "error", "read_object"]

TOO_DEEP = "the body is nested too deeply"


def answer(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``body`` as JSON, with the security headers every answer carries."""
    return secure(JSONResponse(body, status, headers=headers))


def error(status: int, text: str) -> Response:
    """``{"ok": false, "error": text}``."""
    return answer({"ok": False, "error": text}, status)


async def read_object(request: Request, max_body: int) -> dict[str, Any] | Response:
    """The JSON object sent (``application/json``, at most ``max_body`` bytes), or the error."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return error(415, "the body must be application/json")
    try:
        data: Any = json.loads(await read_body(request, max_body))
    except PayloadTooLarge:
        return error(413, "the body is too large")
    except RecursionError:
        # json's C parser recurses per level: "[" x 8000 fits in max_body.
        return error(400, TOO_DEEP)
    except (ValueError, ClientDisconnect):
        return error(400, "the body is not JSON")
    if not isinstance(data, dict):
        return error(400, "the body must be a JSON object")
    return data
