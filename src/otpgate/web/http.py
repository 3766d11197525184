"""HTTP pieces every front end of the gate uses: security headers, pages, bodies.

Written once here so that ``/auth``, the portal and the API send the same
headers and read bodies under the same limit.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from .._limits import retry_after_seconds
from .portal import pages

__all__ = [
    "RAW_SECURITY_HEADERS",
    "SECURITY_HEADERS",
    "PayloadTooLarge",
    "html",
    "read_body",
    "redirect",
    "retry_after",
    "secure",
]

SECURITY_HEADERS: Final = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    # Not no-referrer: with it, browsers send "Origin: null" on the login POST,
    # which the CSRF origin check must refuse.
    ("Referrer-Policy", "same-origin"),
)
# The same, as ASGI header pairs, for answers written without a Response object.
RAW_SECURITY_HEADERS: Final = tuple(
    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS
)


class PayloadTooLarge(Exception):
    """The request body exceeds ``web.max_body``."""


def secure(response: Response) -> Response:
    """``response`` with the headers every answer of the gate carries."""
    for name, value in SECURITY_HEADERS:
        response.headers[name] = value
    return response


def html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A page: the security headers plus a strict CSP and no framing."""
    response = Response(text, status, headers=headers, media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = pages.CSP
    response.headers["X-Frame-Options"] = "DENY"
    return secure(response)


def redirect(location: str, status: int) -> Response:
    """An empty answer pointing the browser to ``location``."""
    return secure(Response(b"", status, headers={"Location": location}))


def retry_after(seconds: float) -> dict[str, str]:
    """The ``Retry-After`` header for a delay of ``seconds``."""
    return {"Retry-After": str(retry_after_seconds(seconds))}


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as it is known to exceed ``limit`` bytes.

    Raises:
        PayloadTooLarge: the declared or the actual length is over ``limit``.
        ClientDisconnect: the client went away while sending.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
