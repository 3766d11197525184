"""A browser's session: found in its cookie, started after a login, sent back, cleared.

The cookie's format and signature are :class:`~.sessions.SessionCodec`'s;
this module adds what needs the user's record: a session counts only while
it is bound to the current record and not revoked (the Authenticator's
``session_record``), and a new one is written to the audit log.  Login
rules (``logout_on_ip_change``) are the Authenticator's own settings.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from starlette.responses import Response

from ..accounts.selfservice import Event
from .sessions import Session, SessionCodec

if TYPE_CHECKING:
    from ..config.loader import Config
    from ..login.authenticator import Authenticator
    from .http import CookieScope

__all__ = ["SessionCookies", "instance_name"]


class SessionCookies:
    """The session cookie of every front end (``/auth``, the portal, the admin pages).

    Args:
        codec: signs and checks the cookie's value.
        authenticator: the records sessions are bound to, and the audit log.
        name: the cookie's name (``web.cookie_name``).
        scope: its domain and ``Secure`` flag.
    """

    def __init__(
        self, codec: SessionCodec, authenticator: Authenticator, name: str, scope: CookieScope
    ) -> None:
        self.codec = codec
        self.name = name
        self._auth = authenticator
        self._settings = authenticator.settings
        self._scope = scope
        # Whether find() compares the client's address: /auth works the address
        # out only then (or for Basic credentials).
        self.needs_address: bool = self._settings.logout_on_ip_change

    def find(self, cookie: str | None, now: float, ip: str | None) -> Session | None:
        """The session in this cookie value, if genuine, current and not revoked.

        Args:
            cookie: the session cookie's value.
            now: Unix time.
            ip: the client's address; compared only with ``logout_on_ip_change``
                (``None`` then never matches).
        """
        session = self.codec.decode(cookie, now)
        if session is None:
            return None
        if self._settings.logout_on_ip_change and session.ip != ip:
            return None
        record = self._auth.session_record(session.user, session.issued_at, now=now)
        if record is None or not self.codec.bound(session, record.key):
            return None
        return session

    def start(self, user: str, now: float, ip: str) -> Session | None:
        """A session for ``user``, just accepted, bound to their record; ``None`` if gone.

        The record is the Authenticator's read of the accepted login (no store
        read within ``state_ttl``).  The session is written to the audit log
        (``reason`` ``session_created``).
        """
        record = self._auth.session_record(user, now, now=now)
        if record is None:
            return None
        audit = self._auth.audit
        if audit is not None:
            # Every session made is in the audit log: who, from where, when.
            audit.write(now, user=user, ip=ip, result="accept", reason=Event.SESSION_CREATED)
        return Session(user, now, now, ip, self.codec.binding(record.key))

    def reread(self, user: str) -> None:
        """The user's record changed here (a token removed): the next session check reads it."""
        self._auth.forget(user)

    def header(self, session: Session, now: float) -> tuple[bytes, bytes]:
        """The ``Set-Cookie`` header carrying ``session``, as an ASGI header pair."""
        value = self.codec.encode(session)
        return self._scope.header(self.name, value, self.codec.max_age(session, now))

    def set(self, response: Response, session: Session, now: float) -> None:
        """Give the browser ``session`` with ``response``."""
        response.raw_headers.append(self.header(session, now))

    def clear(self, response: Response) -> None:
        """Drop the browser's session cookie with ``response``."""
        self._scope.delete(response, self.name)


def instance_name(config: Config) -> str:
    """What tells this gate instance's sessions from another's with the same secret.

    ``web.instance`` when set; else the realm and where the store is (its URL
    without user name, password, query or fragment), which all hosts of one
    deployment share.
    """
    if config.web.instance:
        return config.web.instance
    try:
        parts = urllib.parse.urlsplit(config.store.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{config.web.realm}\0{config.store.url}"
    location = urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))
    return f"{config.web.realm}\0{location}"
