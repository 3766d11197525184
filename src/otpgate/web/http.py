"""HTTP pieces every front end of the gate uses: security headers, pages, bodies, cookies.

Written once here so that ``/auth``, the portal and the API send the same
headers, read bodies under the same limit and set login cookies alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from .._limits import retry_after_seconds
from .templating import CSP

__all__ = [
    "RAW_SECURITY_HEADERS",
    "SECURITY_HEADERS",
    "CookieScope",
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
    response.headers["Content-Security-Policy"] = CSP
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


@dataclass(frozen=True, slots=True)
class CookieScope:
    """Where the gate's login cookies go (``web.cookie_domain``, ``web.cookie_secure``).

    Session and device cookies share these attributes: sent to every path,
    never read by scripts, kept from cross-site subrequests (``SameSite=Lax``).
    """

    domain: str | None
    secure: bool

    def header(self, name: str, value: str, max_age: int) -> tuple[bytes, bytes]:
        """The ``Set-Cookie`` header, as an ASGI header pair (the hot path writes those)."""
        # Starlette formats the cookie; the throwaway Response only carries it.
        carrier = Response()
        carrier.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            domain=self.domain,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )
        return carrier.raw_headers[-1]

    def delete(self, response: Response, name: str) -> None:
        """Tell the browser to drop cookie ``name`` (set with these attributes)."""
        response.delete_cookie(
            name, path="/", domain=self.domain, secure=self.secure, httponly=True, samesite="lax"
        )
