"""The state every front end of the gate shares, and the one way they ask for a decision.

Login rules (idle timeout, ``logout_on_ip_change``, ...) are read from the
Authenticator's own settings, and its store and clock are the gate's: there is
one source for each.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..accounts.selfservice import Event
from ..audit.decision_log import log_decision
from ..errors import OTPGateError
from ..login.authenticator import Decision
from ..login.reasons import Reason
from .devices import COOKIE as DEVICE_COOKIE
from .devices import DeviceCodec
from .metrics import Metrics
from .request import client_address, forwarded_list, forwarded_value, is_trusted
from .sessions import CsrfGuard, Session, SessionCodec

if TYPE_CHECKING:
    from ..config.loader import Config
    from ..login.authenticator import Authenticator
    from ..store.records import UserRecord

__all__ = ["Gate"]

log = logging.getLogger(__name__)

# Bounds of the address cache: entries, and the longest X-Forwarded-For kept.
_ADDRESS_CACHE: Final = 4096
_CACHED_FORWARDED: Final = 256


class Gate:
    """What the front ends share: settings, the Authenticator, sessions, CSRF, metrics.

    Args:
        config: all settings.
        authenticator: the one Authenticator; its store, clock and login
            settings are the gate's.
        metrics: where to count (default: new).

    Raises:
        ConfigError: no session secret, bad networks.
    """

    def __init__(
        self, config: Config, authenticator: Authenticator, metrics: Metrics | None = None
    ) -> None:
        self.config = config
        self.web = config.web
        self.auth = authenticator
        self.settings = authenticator.settings
        self.store = authenticator.store
        self.clock = authenticator.clock
        secrets_ = config.secrets()
        self.sessions = SessionCodec(
            secrets_, config.session_lifetime(), config.session_idle(), instance_name(config)
        )
        self.csrf = CsrfGuard(secrets_)
        self.devices = DeviceCodec(secrets_, self.settings.trusted_for)
        self.metrics = metrics if metrics is not None else Metrics()
        self.trusted = config.trusted_networks()
        # Hosts a login may send the browser back to.
        self.allowed_hosts = list(self.web.allowed_hosts)
        portal = urllib.parse.urlsplit(self.web.portal_url)
        if portal.hostname:
            self.allowed_hosts.append(portal.hostname)
        if self.web.cookie_domain:
            self.allowed_hosts.append("." + self.web.cookie_domain.lstrip("."))
        self.portal_is_path = not portal.netloc
        # (peer, X-Forwarded-For) -> client address: behind a proxy the same few
        # pairs arrive on every request, and parsing them was 40% of a lingering
        # Basic request's time (docs/benchmarks.md).  Bounded; the trusted
        # networks never change while the gate runs, so an entry never goes stale.
        self._addresses: dict[tuple[str | None, str | None], str] = {}

    # --- the client -----------------------------------------------------------------

    def address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address (``X-Forwarded-For`` only from a trusted proxy)."""
        key = (peer, forwarded_for)
        found = self._addresses.get(key)
        if found is None:
            found = client_address(peer, forwarded_for, self.trusted)
            if forwarded_for is None or len(forwarded_for) <= _CACHED_FORWARDED:
                if len(self._addresses) >= _ADDRESS_CACHE:
                    self._addresses.clear()  # a flood of distinct headers: start again
                self._addresses[key] = found
        return found

    def client_ip(self, request: Request) -> str:
        forwarded = forwarded_list(request.headers.getlist("x-forwarded-for"))
        return self.address(_peer(request), forwarded)

    def forwarded(self, request: Request, name: str) -> str | None:
        """``X-Forwarded-Host``/``-Proto`` as the trusted proxy set it, else ``None``."""
        if not self.from_proxy(request):
            return None
        return forwarded_value(request.headers.getlist(name))

    def from_proxy(self, request: Request) -> bool:
        """Whether the direct peer is a trusted proxy, whose forwarded headers count."""
        return is_trusted(_peer(request), self.trusted)

    # --- sessions -------------------------------------------------------------------

    def session(self, cookie: str | None, now: float, ip: str | None) -> Session | None:
        """The session in this cookie value, if genuine, current and not revoked.

        Args:
            cookie: the session cookie's value.
            now: Unix time.
            ip: the client's address; compared only with ``logout_on_ip_change``
                (``None`` then never matches).
        """
        session = self.sessions.decode(cookie, now)
        if session is None:
            return None
        if self.settings.logout_on_ip_change and session.ip != ip:
            return None
        record = self.auth.session_record(session.user, session.issued_at, now=now)
        if record is None or not self.sessions.bound(session, record.key):
            return None
        return session

    def new_session(self, user: str, now: float, ip: str) -> Session | None:
        """A session for ``user``, just accepted, bound to their record; ``None`` if gone.

        The record is the Authenticator's read of the accepted login (no store
        read within ``state_ttl``).  The session is written to the audit log
        (``reason`` ``session_created``).
        """
        record = self.auth.session_record(user, now, now=now)
        if record is None:
            return None
        if self.auth.audit is not None:
            # Every session made is in the audit log: who, from where, when.
            self.auth.audit.write(
                now, user=user, ip=ip, result="accept", reason=Event.SESSION_CREATED
            )
        return Session(user, now, now, ip, self.sessions.binding(record.key))

    def session_cookie(self, session: Session, now: float) -> tuple[bytes, bytes]:
        """The ``Set-Cookie`` header carrying ``session``, as an ASGI header pair."""
        # Starlette formats the cookie; the throwaway Response only carries it.
        carrier = Response()
        carrier.set_cookie(
            self.web.cookie_name,
            self.sessions.encode(session),
            max_age=self.sessions.max_age(session, now),
            path="/",
            domain=self.web.cookie_domain,
            secure=self.web.cookie_secure,
            httponly=True,
            samesite="lax",
        )
        return carrier.raw_headers[-1]

    def set_session(self, response: Response, session: Session, now: float) -> None:
        response.raw_headers.append(self.session_cookie(session, now))

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            self.web.cookie_name,
            path="/",
            domain=self.web.cookie_domain,
            secure=self.web.cookie_secure,
            httponly=True,
            samesite="lax",
        )

    # --- device cookies ---------------------------------------------------------

    async def record(self, user: str, now: float) -> UserRecord | None:
        """The user's record: the Authenticator's recent read, else the store's (in a thread)."""
        record = self.auth.record(user, now=now, read=False)
        if record is None:
            record = await run_in_threadpool(self.auth.record, user, now=now)
        return record

    async def device(self, cookies: dict[str, str], user: str, now: float) -> str | None:
        """The nonce of the request's device cookie, if genuine and issued to ``user``'s
        current record (not to an earlier user of that name, nor for an earlier token)."""
        claim = self.devices.claim(cookies.get(DEVICE_COOKIE), user, now)
        if claim is None:
            return None
        record = await self.record(user, now)
        if record is None or not self.sessions.matches(claim.binding, record.key):
            return None
        return claim.nonce

    def device_cookie(self, user: str, binding: str, now: float) -> tuple[bytes, bytes]:
        """A ``Set-Cookie`` header with a new device cookie for ``user`` (ASGI header pair),
        whose record has ``binding`` (:meth:`SessionCodec.binding`).

        Sent after a fresh login: this browser then keeps a guess budget of its
        own for the user (:mod:`otpgate.regulation.budget`), whatever strangers spend.
        """
        carrier = Response()
        carrier.set_cookie(
            DEVICE_COOKIE,
            self.devices.issue(user, binding, now),
            max_age=int(self.devices.lifetime),
            path="/",
            domain=self.web.cookie_domain,
            secure=self.web.cookie_secure,
            httponly=True,
            samesite="lax",
        )
        return carrier.raw_headers[-1]

    # --- the decision ---------------------------------------------------------------

    async def decide(
        self,
        frontend: str,
        user: str,
        password: str,
        ip: str,
        now: float,
        *,
        linger: bool = True,
        device: str | None = None,
        proven: bool = True,
    ) -> Decision:
        """Ask the Authenticator once, count the answer once.

        The answer from memory is taken on the event loop; only a fresh login
        (store I/O, the PIN hash) goes to the threadpool, with the same
        :class:`~otpgate.login.authenticator.Attempt` (so its digest is computed once).
        ``linger=False``: a lingering credential does not answer (the login
        form, where a code is single use).  ``device`` and ``proven`` say how
        far the client is trusted (:class:`~otpgate.login.authenticator.Attempt`).
        """
        started = time.perf_counter()
        try:
            # A failure count is written after the answer: a known user's wrong
            # code must take as long as an unknown user's (docs/accounts.md).
            attempt = self.auth.attempt(
                user,
                password,
                ip,
                linger=linger,
                write_behind=True,
                device=device,
                proven=proven,
            )
            decision = self.auth.check_cached(attempt, now=now)
            if decision is None:
                decision = await run_in_threadpool(self.auth.decide, attempt, now=now)
        except OTPGateError as exc:
            # The Authenticator maps store trouble to a decision itself; this is the
            # last line, so that no failure can ever turn into an accepted login.
            log.error("authentication failed with %s", exc.__class__.__name__)
            decision = Decision(False, None, Reason.STORE_ERROR)
        self.metrics.record(
            frontend,
            decision.reason,
            time.perf_counter() - started,
            decision.retry_after is not None and not decision.ok,
        )
        log_decision(frontend, user, ip, decision.ok, decision.reason, decision.retry_after)
        return decision


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


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None
