"""The one :class:`Authenticator` every front end calls: one entry, :meth:`Authenticator.login`.

Every front end (the web's ``/auth``, portal and API, Apache, RADIUS, PAM,
``otpgate check``) wraps what the client sent in an :class:`Attempt`
(:meth:`Authenticator.attempt`: the linger digest is made once) and asks
:meth:`Authenticator.login`: the answer from memory first, then the fresh
decision.  The event loop splits the same two steps, so that only the fresh
one goes to a thread: :meth:`~Authenticator.check_cached` (no I/O), then
:meth:`~Authenticator.decide`.  How the decision is made:
:mod:`otpgate.login.decision`; sessions and logout: :mod:`otpgate.login.sessions`;
rate limiting: :mod:`otpgate.regulation`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..audit.writer import AuditLog
from ..config.auth import AuthSettings
from ..regulation.regulator import Regulator
from ..state import LocalState, SharedState
from ..store.base import Store
from ..store.records import UserRecord
from .attempt import Attempt, Decision
from .decision import Decider
from .linger import LingerMemory
from .pins import HtpasswdChecker, PinChecker, check_pin
from .reasons import Reason
from .sessions import Sessions
from .user_state import idle_use, lock_retry, locked

__all__ = [
    "Attempt",
    "AuditLog",
    "AuthSettings",
    "Authenticator",
    "Decision",
    "HtpasswdChecker",
    "PinChecker",
]

log = logging.getLogger(__name__)


class Authenticator:
    """Decides logins against a store; thread-safe.

    Args:
        store: where users live.  :meth:`close` closes it.
        settings: the rules.
        pin_checker: checks delegated (``+``) PINs, e.g. :class:`HtpasswdChecker`.
        audit: receives one line per decision.  :meth:`close` closes it.
        clock: Unix time; tests inject their own.
        state: shared with other gate processes (default: nothing); closed by
            :meth:`close`.  ``digest_key``: their common credential digest key.

    Attributes:
        regulator: the throttle, the guess budget and the failures written
            behind (:mod:`otpgate.regulation`); local, or shared through ``state``.
        throttle, budget: the regulator's tables in this process.
    """

    def __init__(
        self,
        store: Store,
        settings: AuthSettings = AuthSettings(),
        *,
        pin_checker: PinChecker | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
        state: SharedState | None = None,
        digest_key: bytes | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.audit = audit
        self.clock = clock
        self.state: SharedState = state if state is not None else LocalState()
        self._memory = LingerMemory(settings, digest_key, store.stamp)
        self._decider = Decider(store, settings, self.state, self._memory, pin_checker)
        self.regulator: Regulator = self._decider.regulator
        self.throttle = self.regulator.throttle
        self.budget = self.regulator.budget
        self._sessions = Sessions(store, self.state, self._memory, self._decider.read)

    # -- the decision -----------------------------------------------------

    def attempt(
        self,
        user: str,
        password: str,
        ip: str,
        *,
        linger: bool = True,
        write_behind: bool = False,
        device: str | None = None,
        proven: bool = True,
        next_provider: bool = False,
    ) -> Attempt:
        """Wrap one login attempt, computing its linger-cache digest once.

        Args:
            user: the user name as sent.
            password: the PIN followed by the OTP (Mobile-OTP: the OTP alone);
                an empty password from the user's last address logs out.
            ip: the client address.
            linger: whether a lingering credential may answer (see :class:`Attempt`).
            write_behind: write a failure count after the answer (see :class:`Attempt`).
            device: a genuine device cookie's nonce (see :class:`Attempt`).
            proven: whether ``ip`` is where the connection came from (see :class:`Attempt`).
            next_provider: unknown users go to another provider (see :class:`Attempt`).
        """
        key = b""
        # Nothing longer than max_password was ever accepted: do not even hash it.
        if (
            isinstance(user, str)
            and isinstance(password, str)
            and len(password) <= self.settings.max_password
        ):
            key = self._digest(user, password)
        return Attempt(user, password, ip, key, linger, write_behind, device, proven, next_provider)

    def login(self, attempt: Attempt, *, now: float | None = None) -> Decision:
        """Decide one attempt: the answer from memory if there is one, else a fresh decision.

        Blocking (may read and write the store and hash a PIN); an event loop
        calls :meth:`check_cached` itself and sends only :meth:`decide` to a thread.
        """
        now = self.clock() if now is None else now
        decision = self.check_cached(attempt, now=now)
        return decision if decision is not None else self.decide(attempt, now=now)

    def check_cached(self, attempt: Attempt, *, now: float | None = None) -> Decision | None:
        """The first half of :meth:`login`: the answer from memory alone (no I/O), or ``None``.

        A lingering credential is accepted only while the cached store read
        is younger than ``settings.state_ttl``; a throttled pair, or a user
        known (from such a read) to be locked, is refused.  A spent guess
        budget is not looked at here: :meth:`decide` finds it at the cost of
        any other attempt (:mod:`otpgate.regulation.shared`).  The hot path:
        kept here, one call deep.
        """
        now = self.clock() if now is None else now
        user, ip = attempt.user, attempt.ip
        if not isinstance(user, str) or not isinstance(attempt.password, str):
            return None
        self.state.sync()  # revocations that arrived before this request come first
        snap = self._memory.snapshot(user, now)
        record = snap.record if snap is not None else None
        decision: Decision | None = None
        # A lingering credential, unless its use is due to be written
        # (max_idle, user_state.idle_use): decide() writes it.
        if (
            snap is not None
            and record is not None
            and attempt.linger
            and self._memory.hit(attempt.key, user, ip, snap, now)
            and idle_use(record.state, now, self.settings) is None
        ):
            decision = Decision(True, record.username, Reason.LINGER)
        # A known credential is never answered "throttled" here: decide() may
        # still accept it from its linger entry after a store read (unless the
        # attempt may not linger: then it is an attempt like any other).
        elif not (attempt.linger and self._memory.knows(attempt.key)):
            retry = self.regulator.peek(user, ip, now)  # no network on the event loop
            if retry is not None:
                decision = Decision(False, None, Reason.THROTTLED, retry_after=retry)
            elif record is not None and locked(record.state, now):
                decision = Decision(False, None, Reason.LOCKED, lock_retry(record.state, now))
        if decision is not None:
            self._audit(decision, record, attempt, now)
        return decision

    def decide(self, attempt: Attempt, *, now: float | None = None) -> Decision:
        """The second half of :meth:`login`: the fresh decision (blocking).

        Never raises: a store driver's surprise ends in a logged refusal.
        """
        now = self.clock() if now is None else now
        try:
            judged = self._decider.fresh(attempt, now)
        except Exception:
            # A store driver raising something unexpected must end in a refusal,
            # logged, never in an exception a front end might mishandle.
            log.exception("unexpected error during a login decision")
            judged = Decision(False, None, Reason.STORE_ERROR), None
        self._audit(*judged, attempt, now)
        return judged[0]

    # -- after a login: sessions and logout --------------------------------

    def logout(self, user: str, *, now: float | None = None) -> None:
        """Forget lingering credentials and revoke sessions issued before now.

        Raises:
            StoreError: the store could not be read or written.
        """
        self._sessions.logout(user, self.clock() if now is None else now)

    def session_valid(self, user: str, issued_at: float, *, now: float | None = None) -> bool:
        """Whether a session issued at ``issued_at`` still stands (:meth:`session_record`)."""
        return self.session_record(user, issued_at, now=now) is not None

    def session_record(
        self, user: str, issued_at: float, *, now: float | None = None
    ) -> UserRecord | None:
        """The user's record if a session issued at ``issued_at`` still stands, else ``None``.

        The record is :meth:`record`'s, for the caller to check the binding.
        """
        now = self.clock() if now is None else now
        return self._sessions.session_record(user, issued_at, now)

    def record(
        self, user: str, *, now: float | None = None, read: bool = True
    ) -> UserRecord | None:
        """The user's record from a read younger than ``state_ttl``, else from the store
        (never a write), for a front end that checks what a cookie is bound to.

        ``read=False``: memory only, no I/O (``None`` then also means "not
        known without a read").  An unreadable store gives ``None``.
        """
        return self._sessions.record(user, self.clock() if now is None else now, read=read)

    # -- lifecycle ---------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until failure counts written behind answers are in the store.

        Returns:
            ``False`` if ``timeout`` seconds passed first.
        """
        return self.regulator.flush(timeout)

    def close(self) -> None:
        """Write pending failure counts, forget the caches, close the store and audit log."""
        self.regulator.close()
        self._memory.clear()
        try:
            self.state.close()
            self.store.close()
        finally:
            if self.audit is not None:
                self.audit.close()

    def pin_ok(self, record: UserRecord, pin: str) -> bool:
        """Whether ``pin`` is the user's PIN, whatever kind (for a second factor beside
        another first one: a passkey, :mod:`.passkey_login`); blocking."""
        d = self._decider
        return check_pin(record.pin, record.username, pin, d.pin_hasher, d.pin_checker)

    def _digest(self, user: str, password: str) -> bytes:
        # The one place an attempt's digest is made (tests count the calls).
        return self._memory.digest(user, password)

    def _audit(
        self, decision: Decision, record: UserRecord | None, attempt: Attempt, now: float
    ) -> None:
        if self.audit is None:
            return
        if decision.ok and decision.reason is Reason.LINGER and not self.settings.audit_linger:
            return
        self.audit.login(now, decision, attempt.user, attempt.ip, record)
