"""Sliding the portal session: every page that finds a valid session keeps it alive.

``web.session_idle`` ends a session after that long without a request, and
every request within it slides the timeout (docs/gate.md).  ``/auth`` re-issues
the cookie itself (:mod:`.forward_auth`, the hot path in front of the router);
for every other page this middleware does it, so no page can forget: a page
that found a valid session (:meth:`.portal.forms.Forms.session`) marks it on the request with
:func:`mark`, and the answer gets the refreshed cookie when
:meth:`~.sessions.SessionCodec.needs_refresh` says so, unless the answer sets
the session cookie itself (a sign-in, a sign-out, a PIN change).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .session_cookies import SessionCookies
    from .sessions import Session

__all__ = ["SlideSessions", "mark"]

# Where a page leaves the session it found (and when) in the request's scope.
_KEY: Final = "otpgate.session"


def mark(scope: Scope, session: Session, now: float) -> None:
    """Say that this request found ``session`` valid at ``now``."""
    scope[_KEY] = (session, now)


class SlideSessions:
    """Adds the refreshed session cookie to the answer of a page that found a session.

    Args:
        app: the router.
        sessions: the session cookie (its codec, name and attributes).
    """

    def __init__(self, app: ASGIApp, sessions: SessionCookies) -> None:
        self.app = app
        self.sessions = sessions
        self._prefix = sessions.name.encode("latin-1") + b"="

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sliding(message: Message) -> None:
            found = scope.get(_KEY)
            if found is not None and message["type"] == "http.response.start":
                message = self._refreshed(message, *found)
            await send(message)

        await self.app(scope, receive, sliding)

    def _refreshed(self, message: Message, session: Session, now: float) -> Message:
        if not self.sessions.codec.needs_refresh(session, now):
            return message
        headers = list(message.get("headers", ()))
        for name, value in headers:
            if name.lower() == b"set-cookie" and value.startswith(self._prefix):
                return message  # the page set (or deleted) the session itself
        # replace(): the re-issued cookie keeps the session's record binding.
        headers.append(self.sessions.header(dataclasses.replace(session, seen=now), now))
        return {**message, "headers": headers}
