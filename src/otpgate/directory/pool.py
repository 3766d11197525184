"""Connections to the directory: TLS always, timeouts, failover between URLs, a small pool.

Every connection is encrypted: ``ldaps://``, or ``ldap://`` with StartTLS
(refused if the server does not offer it), the certificate checked against
``ca_file``.  A connection is opened to the first URL that answers, in the
order given; the pool keeps up to ``pool_size`` bound connections.  When no
URL answers, the caller gets :class:`DirectoryUnavailable` (the login is
refused), one line is logged, and the next request tries again, so the
gate reconnects by itself once a server is back.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

import ldap
from ldap.controls import SimplePagedResultsControl

from ..errors import StoreError
from .entries import Attributes, DirectoryUnavailable
from .settings import DirectorySettings

__all__ = ["Pool", "SearchResult"]

log = logging.getLogger(__name__)

T = TypeVar("T")
SearchResult = list[tuple[str, Attributes]]
# What says "this server (or this connection) is gone", as opposed to an answer.
_DOWN: Final = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.UNAVAILABLE, ldap.BUSY)
_PAGE: Final = 500


class Pool:
    """Bound service connections, and binds as a user, over the configured URLs.

    Args:
        settings: the ``[directory]`` table.
        password: the service account's password (``None``: anonymous).
    """

    def __init__(self, settings: DirectorySettings, password: str | None) -> None:
        self.settings = settings
        self._password = password
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue(settings.pool_size)
        self._lock = threading.Lock()
        self._down: str | None = None  # why, while no URL answers
        self.url: str | None = None  # the URL the last connection went to

    # -- public ---------------------------------------------------------------

    def run(self, operation: Callable[[Any], T]) -> T:
        """``operation(connection)`` on a bound service connection.

        A pooled connection the server has dropped (a restart) is replaced,
        the other idle ones with it, and the operation tried once more on a
        new one.

        Raises:
            DirectoryUnavailable: no URL answered, or the service account's
                bind was refused.
            StoreError: the server refused the operation (a bad filter).
        """
        for attempt in (1, 2):
            conn = self._take()
            fresh = conn is None
            if conn is None:
                conn = self._service()
            try:
                result = operation(conn)
            except _DOWN as exc:
                _close(conn)
                if fresh or attempt == 2:
                    raise self._unavailable(str(_message(exc))) from None
                self.close()  # the server went away once: every idle connection is stale
                continue
            except ldap.LDAPError as exc:
                self._give(conn)
                raise StoreError(f"the directory refused: {_message(exc)}") from None
            self._give(conn)
            return result
        raise AssertionError("unreachable")

    def search(self, base: str, filterstr: str, attrs: list[str], limit: int = 0) -> SearchResult:
        """Entries under ``base`` (subtree) matching ``filterstr``, paged; referrals left out.

        Raises:
            DirectoryUnavailable: no URL answered.
            StoreError: the server refused the search.
        """
        return self.run(lambda conn: _paged(conn, base, filterstr, attrs, limit))

    def check_password(self, dn: str, password: str) -> bool:
        """Whether ``password`` is the entry's: a simple bind as it, on a connection of its own.

        An empty password is refused unsent: LDAP takes a bind with a DN and
        no password as an anonymous bind that succeeds (RFC 4513 5.1.2).

        Raises:
            DirectoryUnavailable: no URL answered.
        """
        if not password or not dn:
            return False
        try:
            conn = self._open(dn, password)
        except ldap.INVALID_CREDENTIALS:
            return False
        _close(conn)
        return True

    def close(self) -> None:
        while True:
            try:
                _close(self._idle.get_nowait())
            except queue.Empty:
                return

    # -- connections ---------------------------------------------------------

    def _take(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

    def _give(self, conn: Any) -> None:
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            _close(conn)

    def _service(self) -> Any:
        """A connection bound as the service account.

        Raises:
            DirectoryUnavailable: no URL answered, or the bind was refused
                (for the gate the directory is as good as away).
        """
        try:
            return self._open(self.settings.bind_dn, self._password)
        except ldap.INVALID_CREDENTIALS:
            raise self._unavailable(
                f"the service account's bind as {self.settings.bind_dn!r} was refused: "
                "Invalid credentials (check bind_dn and bind_password_file)"
            ) from None

    def _open(self, dn: str, password: str | None) -> Any:
        """A connection bound as ``dn`` to the first URL that answers.

        Raises:
            DirectoryUnavailable: no URL answered.
            ldap.INVALID_CREDENTIALS: the server said the password is wrong.
        """
        problems = []
        for url in self.settings.url:
            try:
                conn = self._connect(url)
                try:
                    conn.simple_bind_s(dn, password or "")
                except BaseException:
                    _close(conn)
                    raise
            except _DOWN as exc:
                problems.append(f"{url}: {_message(exc)}")
                continue
            except ldap.INVALID_CREDENTIALS:
                self._up(url)
                raise
            except ldap.LDAPError as exc:
                problems.append(f"{url}: {_message(exc)}")
                continue
            self._up(url)
            return conn
        raise self._unavailable("; ".join(problems))

    def _connect(self, url: str) -> Any:
        """An encrypted, unbound connection to ``url``."""
        s = self.settings
        conn = ldap.initialize(url)
        conn.timeout = s.timeout  # python-ldap's own wait for each synchronous call
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, s.timeout)
        conn.set_option(ldap.OPT_TIMEOUT, s.timeout)
        conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        if s.ca_file:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, s.ca_file)
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # last: applies the TLS options above
        if url.lower().startswith("ldap://"):
            conn.start_tls_s()
        return conn

    def _up(self, url: str) -> None:
        with self._lock:
            was, self._down, self.url = self._down, None, url
        if was is not None:
            log.warning("directory reachable again at %s", url)

    def _unavailable(self, why: str) -> DirectoryUnavailable:
        with self._lock:
            first, self._down = self._down is None, why or "no url configured"
        if first:  # one line per outage, not one per login
            log.error("directory unavailable, logins refused until it answers: %s", self._down)
        return DirectoryUnavailable(f"directory unavailable: {self._down}")


def _paged(conn: Any, base: str, filterstr: str, attrs: list[str], limit: int) -> SearchResult:
    """A subtree search with the simple paged results control (AD returns 1,000 at most)."""
    found: SearchResult = []
    control = SimplePagedResultsControl(True, size=_PAGE, cookie="")
    while True:
        msgid = conn.search_ext(base, ldap.SCOPE_SUBTREE, filterstr, attrs, serverctrls=[control])
        _, data, _, controls = conn.result3(msgid, timeout=conn.timeout)
        found += [(dn, entry) for dn, entry in data if dn is not None]
        if limit and len(found) >= limit:
            return found[:limit]
        cookie = next(
            (c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType),
            b"",
        )
        if not cookie:
            return found
        control.cookie = cookie


def _message(exc: BaseException) -> str:
    """python-ldap's error as one line ("Can't contact LDAP server")."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    parts = [str(info.get("desc", exc.__class__.__name__))]
    if info.get("info"):
        parts.append(str(info["info"]))
    return ": ".join(parts)


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.unbind_s()
