"""ASGI middleware that guards every request before a front end reads it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_HEADER", "MAX_HEADERS_TOTAL", "HeaderLimit", "headers_too_large"]

MAX_HEADER: Final = 8192
MAX_HEADERS_TOTAL: Final = 32768


class HeaderLimit:
    """Refuses requests with oversized headers before any handler parses them.

    uvicorn has its own limits; this one also holds behind other servers and
    in tests, and answers 431 instead of dropping the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and headers_too_large(scope.get("headers", ())):
            response = Response("Request header fields too large\n", 431)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def headers_too_large(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether one header line or all of them together are over the limits."""
    total = 0
    for name, value in headers:
        size = len(name) + len(value)
        total += size
        if size > MAX_HEADER or total > MAX_HEADERS_TOTAL:
            return True
    return False
