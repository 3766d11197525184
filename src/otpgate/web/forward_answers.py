"""What ``/auth`` answers from memory, and the answers themselves, ready to write.

The one place where forward auth decides a request the common way -- a
session cookie, a lingering Basic credential, a refusal the Authenticator
knows without I/O -- and builds its status and headers.  Both ways a request
reaches ``/auth`` use it: the ASGI endpoint (:mod:`.forward_auth`), and the
server's fast path (:mod:`.fast_auth`), which writes the same answer on the
connection without ASGI.  So the two cannot drift: the checks, the
metrics, the audit and the header bytes are these, for both.

:meth:`ForwardAnswers.look` has no side effect unless it answers: when memory
alone cannot decide (no credentials, a malformed header, a fresh login, a
device cookie whose record must be read), it returns what it has read
(:class:`Seen`) and nothing is counted, so the request may be looked at again
by the ASGI endpoint, which continues from it (:data:`SEEN`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, NamedTuple

from starlette.requests import cookie_parser
from starlette.responses import Response

from .._limits import has_control
from ..login.reasons import Reason
from .http import RAW_SECURITY_HEADERS, retry_after, secure
from .request import MalformedCredentials, forwarded_list, parse_basic

if TYPE_CHECKING:
    from ..config.loader import WebConfig
    from ..login.attempt import Attempt
    from .clients import ClientAddresses
    from .decisions import Decisions
    from .devices import DeviceCookies
    from .session_cookies import SessionCookies

__all__ = ["FRONTEND", "SEEN", "Answer", "ForwardAnswers", "Seen", "read_headers"]

log = logging.getLogger(__name__)

# The metrics' and the decision log's name of this front end.
FRONTEND: Final = "auth"
# The scope key under which the server's fast path hands what it read to the
# ASGI endpoint when memory could not answer: the request is read, its address
# found and its credentials digested once (only the server sets scope keys).
SEEN: Final = "otpgate.forward_auth.seen"
Headers = list[tuple[bytes, bytes]]


class Answer(NamedTuple):
    """A complete answer: status, header pairs (lower-case names), body."""

    # A tuple: made on every hot-path request, and a frozen dataclass costs more.
    status: int
    headers: Headers
    body: bytes = b""


@dataclass(slots=True)
class Seen:
    """What :meth:`ForwardAnswers.look` read when memory could not answer.

    Attributes:
        started: when the request was read (``time.perf_counter``).
        now: the Authenticator's clock then.
        cookies: the request's cookies.
        ip: the client's address (known whenever credentials were offered).
        offered: an Authorization header was sent.
        user, password: the Basic credentials (``None`` if not offered or malformed).
        attempt: the attempt to decide fresh (``None`` until credentials parsed and
            any device cookie checked).
    """

    started: float
    now: float
    cookies: dict[str, str]
    ip: str | None
    offered: bool
    user: str | None = None
    password: str | None = None
    attempt: Attempt | None = field(default=None)


def read_headers(
    headers: Iterable[tuple[bytes, bytes]],
) -> tuple[str | None, str | None, str | None]:
    """Cookie and Authorization (the first of each) and X-Forwarded-For (every line, joined).

    ``Request`` reads the first Cookie and Authorization line too; several
    X-Forwarded-For lines are one list (:func:`~.request.forwarded_list`).
    """
    cookie = authorization = None
    forwarded: list[str] = []
    for name, value in headers:
        if name == b"cookie" and cookie is None:
            cookie = value.decode("latin-1")
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
    return cookie, authorization, forwarded_list(forwarded)


@dataclass(slots=True)
class ForwardAnswers:
    """Forward auth's decision from memory and its answers.

    Attributes:
        web: the ``[web]`` settings (the realm).
        clock: the Authenticator's clock.
        clients: the client's address behind trusted proxies.
        sessions: the session cookie.
        devices: the device cookie (a Basic client's own guess budget).
        decisions: the one way to a decision.
    """

    web: WebConfig
    clock: Callable[[], float]
    clients: ClientAddresses
    sessions: SessionCookies
    devices: DeviceCookies
    decisions: Decisions
    _challenge_header: str = field(init=False)

    def __post_init__(self) -> None:
        realm = self.web.realm.replace("\\", "").replace('"', "")
        self._challenge_header = f'Basic realm="{realm}", charset="UTF-8"'

    def look(self, headers: Iterable[tuple[bytes, bytes]], peer: str | None) -> Answer | Seen:
        """The answer from memory to a forward-auth request, else what was read.

        Args:
            headers: the request's header pairs, names in lower case.
            peer: the address of the direct peer (the proxy).
        """
        started = time.perf_counter()
        cookie, authorization, forwarded = read_headers(headers)
        now = self.clock()
        sessions = self.sessions
        ip: str | None = None
        if authorization is not None or sessions.needs_address:
            ip = self.clients.address(peer, forwarded)
        cookies = cookie_parser(cookie) if cookie is not None else {}
        if cookies:
            session = sessions.find(cookies.get(sessions.name), now, ip)
            if session is not None:
                self.decisions.metrics.record(
                    FRONTEND, Reason.SESSION, time.perf_counter() - started, False
                )
                refresh = None
                if sessions.codec.needs_refresh(session, now):
                    refresh = sessions.header(replace(session, seen=now), now)
                return self.accept(session.user, refresh)
        seen = Seen(started, now, cookies, ip, authorization is not None)
        if authorization is None or ip is None:  # ip is known whenever authorization is
            return seen
        try:
            seen.user, seen.password = parse_basic(authorization)
        except MalformedCredentials:
            return seen
        return self._basic(seen, seen.user, seen.password, ip)

    def _basic(self, seen: Seen, user: str, password: str, ip: str) -> Answer | Seen:
        """Basic credentials: the answer from memory, else ``seen`` with its attempt
        (none yet if a device cookie needs its record read first)."""
        device: str | None = None
        if seen.cookies:
            known, device = self.devices.nonce_from_memory(seen.cookies, user, seen.now)
            if not known:
                return seen
        attempt = self.decisions.attempt(user, password, ip, device=device)
        decision = self.decisions.cached(FRONTEND, attempt, seen.now, seen.started)
        if decision is None:
            seen.attempt = attempt
            return seen
        if decision.ok and decision.user is not None:
            return self.accept(decision.user, None)
        return self.challenge(decision.retry_after)

    def accept(self, user: str, cookie: tuple[bytes, bytes] | None) -> Answer:
        """200 with ``Remote-User`` (and a cookie to set, if any)."""
        if has_control(user):
            # A name from the store that would split the header: refuse, loudly.
            log.error("refusing a user name with control characters in Remote-User")
            return self.challenge(None)
        # Raw header bytes: a user name may be any Unicode, and the proxy passes
        # the UTF-8 bytes on (Starlette would refuse non-Latin-1 text).
        headers = [(b"content-length", b"0"), (b"remote-user", user.encode("utf-8"))]
        headers += RAW_SECURITY_HEADERS
        if cookie is not None:
            headers.append(cookie)
        return Answer(200, headers)

    def challenge(self, wait: float | None) -> Answer:
        """401 with a Basic challenge (and ``Retry-After`` for a throttled client)."""
        headers = {"WWW-Authenticate": self._challenge_header}
        if wait is not None:
            headers.update(retry_after(wait))
        response = secure(Response("Unauthorized\n", 401, headers=headers))
        return Answer(401, response.raw_headers, bytes(response.body))
