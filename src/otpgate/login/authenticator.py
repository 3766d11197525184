"""The login decision: the one :class:`Authenticator` every front end calls.

Order of work per attempt, cheapest first (docs/accounts.md explains why):

1. Linger cache (memory, :mod:`otpgate.login.linger`): a keyed digest of user +
   password that was accepted recently.  A hit is accepted without a store
   write or a PIN hash.  It comes before the throttle check because it only
   matches credentials that were proven correct, so a user behind the same
   address as a guesser keeps working.  The digest is made once per attempt
   (:class:`Attempt`).
2. Throttle and guess budget (:mod:`otpgate.regulation.limits`: memory, and with a shared
   state one round trip whose shape does not depend on the name): a throttled
   attempt is answered at once, without store read, PIN hash or write.
3. Store read; locked users are refused.
4. The login rules (:func:`otpgate.login.rules.transition`, a pure function): the
   password is split (PIN = everything but the last ``digits`` characters;
   Mobile-OTP: the whole password is the code, the PIN is in the hash), and
   the OTP is verified (a few HMACs, :mod:`otpgate.otp.verify`).
5. Only if the OTP matched, the PIN is checked (plain: constant time; hash:
   argon2id; delegated: the :class:`~otpgate.login.pins.PinChecker`).
6. The new state is written with compare-and-set (:func:`otpgate.login.compare_and_set.settle`,
   the one loop).  A lost race re-reads and decides again, so the same code
   can never be accepted twice.  A store that cannot be written denies the
   login.

A right OTP with a wrong PIN still consumes the OTP (the new token state is
written along with the failure), so the code cannot be retried with another
PIN guess.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final, overload

from ..audit.writer import AuditLog
from ..config.auth import AuthSettings
from ..errors import StoreError
from ..regulation.failure_writer import FailureWriter
from ..regulation.limits import Before, Limits
from ..state import LocalState, SharedState
from ..state.credentials import SharedCredentials
from ..store.base import Store
from ..store.records import Pin, UserRecord
from . import compare_and_set as settle
from . import rules
from .attempt import Attempt, Decision
from .linger import LingerMemory, Snapshot
from .pins import HtpasswdChecker, PinChecker, PinHasher, check_pin
from .reasons import Reason
from .rules import Outcome

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

_FRESH: Final = frozenset({Reason.OTP, Reason.RECOVERY})


def _store_error(what: str, exc: StoreError) -> None:
    """Log a store error, unless its source said it once for the whole outage (a directory)."""
    if not getattr(exc, "logged", False):
        log.error("%s: %s", what, exc)


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
        self.pin_checker = pin_checker
        self.audit = audit
        self.clock = clock
        self.state: SharedState = state if state is not None else LocalState()
        # Per (user, address), and per user across addresses (otpgate.regulation.budget).
        self.limits = Limits(settings, self.state)
        self.throttle = self.limits.throttle
        self.budget = self.limits.budget
        self._memory = LingerMemory(settings, digest_key, store.stamp)
        self._known = SharedCredentials(self.state, self._memory)
        self._pin_hasher = PinHasher()
        self._failures = FailureWriter(self._write_failures)
        # An unknown user's attempt is checked against this decoy, so that it
        # costs what a known user's does.
        self._decoy = settle.decoy_record()

    # -- public API -------------------------------------------------------

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
            password: the PIN followed by the OTP.
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

    def authenticate(
        self,
        user: str,
        password: str,
        ip: str,
        *,
        now: float | None = None,
        device: str | None = None,
        proven: bool = True,
    ) -> Decision:
        """Decide one login attempt (blocking; may read and write the store and hash a PIN).

        Args:
            user: the user name as sent.
            password: the PIN followed by the OTP (Mobile-OTP: the OTP alone);
                an empty password from the user's last address logs out.
            ip: the client address.
            now: Unix time; defaults to the clock.
            device: a checked device cookie's nonce (see :class:`Attempt`).
            proven: ``False`` when ``ip`` is only claimed by the client.
        """
        attempt = self.attempt(user, password, ip, device=device, proven=proven)
        return self.decide(attempt, now=now)

    def decide(self, attempt: Attempt, *, now: float | None = None) -> Decision:
        """Decide an :class:`Attempt` (blocking; may read and write the store and hash a PIN).

        The same as :meth:`authenticate`, reusing the attempt's digest, for a
        front end that asked :meth:`check_cached` first.
        """
        now = self.clock() if now is None else now
        try:
            decision, record = self._authenticate(attempt, now)
        except Exception:
            # A store driver raising something unexpected must end in a refusal,
            # logged, never in an exception a front end might mishandle.
            log.exception("unexpected error during a login decision")
            decision, record = Decision(False, None, Reason.STORE_ERROR), None
        self._audit(decision, attempt.user, attempt.ip, record, now)
        return decision

    @overload
    def check_cached(self, attempt: Attempt, /, *, now: float | None = None) -> Decision | None: ...

    @overload
    def check_cached(
        self, user: str, password: str, ip: str, /, *, now: float | None = None
    ) -> Decision | None: ...

    def check_cached(
        self,
        attempt: Attempt | str,
        password: str | None = None,
        ip: str | None = None,
        /,
        *,
        now: float | None = None,
    ) -> Decision | None:
        """Answer from memory alone (no store access, no slow hash), or ``None``.

        Takes an :class:`Attempt` (or, for older callers, user, password and
        address).  A lingering credential is accepted only while the cached
        store read is younger than ``settings.state_ttl``; a throttled pair,
        or a user known (from such a read) to be locked, is refused.  A spent
        guess budget is not looked at here: :meth:`decide` finds it at the
        cost of any other attempt (:mod:`otpgate.regulation.limits`).
        """
        if not isinstance(attempt, Attempt):
            attempt = self.attempt(attempt, password, ip)  # type: ignore[arg-type]
        now = self.clock() if now is None else now
        user, ip_ = attempt.user, attempt.ip
        if not isinstance(user, str) or not isinstance(attempt.password, str):
            return None
        record: UserRecord | None = None
        decision: Decision | None = None
        self.state.sync()  # revocations that arrived before this request come first
        snap = self._memory.snapshot(user, now)
        if snap is not None and snap.record is not None:
            record = snap.record
            # A lingering credential, unless its use is due to be written
            # (max_idle, rules.idle_use): decide() writes it.
            if (
                attempt.linger
                and self._memory.hit(attempt.key, user, ip_, snap, now)
                and rules.idle_use(record.state, now, self.settings) is None
            ):
                decision = Decision(True, record.username, Reason.LINGER)
        # A known credential is never answered "throttled" here: decide()
        # may still accept it from its linger entry after a store read (unless
        # the attempt may not linger: then it is an attempt like any other).
        known = decision is None and attempt.linger and self._memory.knows(attempt.key)
        if decision is None and not known:
            retry = self.limits.peek(user, ip_, now)  # no network on the event loop
            if retry is not None:
                decision = Decision(False, None, Reason.THROTTLED, retry_after=retry)
            elif record is not None and rules.locked(record.state, now):
                retry = rules.lock_retry(record.state, now)
                decision = Decision(False, None, Reason.LOCKED, retry)
        if decision is not None:
            self._audit(decision, user, ip_, record, now)
        return decision

    def logout(self, user: str, *, now: float | None = None) -> None:
        """Forget lingering credentials and revoke sessions issued before now.

        Raises:
            StoreError: the store could not be read or written.
        """
        now = self.clock() if now is None else now
        self._memory.forget(user)
        stamp = self.store.stamp()
        record = self.store.get(user)
        if record is None:
            return
        _, new = settle.settle(self.store, user, record, settle.log_out(now))
        self._memory.remember(user, new, now, stamp)
        self.state.revoke(user)  # written first: whoever hears it and re-reads sees it

    def session_valid(self, user: str, issued_at: float, *, now: float | None = None) -> bool:
        """Whether a session issued at ``issued_at`` still stands (:meth:`session_record`)."""
        return self.session_record(user, issued_at, now=now) is not None

    def session_record(
        self, user: str, issued_at: float, *, now: float | None = None
    ) -> UserRecord | None:
        """The user's record if a session issued at ``issued_at`` still stands, else ``None``.

        The user must exist, not be locked, and not have been logged out or
        locked after the session was issued (:func:`rules.session_stands`);
        the record is :meth:`record`'s, for the caller to check the binding.
        """
        now = self.clock() if now is None else now
        record = self.record(user, now=now)
        return record if rules.session_stands(record, issued_at, now) else None

    def record(
        self, user: str, *, now: float | None = None, read: bool = True
    ) -> UserRecord | None:
        """The user's record from a read younger than ``state_ttl``, else from the store
        (never a write), for a front end that checks what a cookie is bound to.

        ``read=False``: memory only, no I/O (``None`` then also means "not
        known without a read").  An unreadable store gives ``None``.
        """
        now = self.clock() if now is None else now
        self.state.sync()
        if not read:
            snap = self._memory.snapshot(user, now)
            return None if snap is None else snap.record
        try:
            return self._read(user, now).record
        except StoreError as exc:
            _store_error("store error reading a user", exc)
            return None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until failure counts written behind answers are in the store.

        Returns:
            ``False`` if ``timeout`` seconds passed first.
        """
        return self._failures.flush(timeout)

    def close(self) -> None:
        """Write pending failure counts, forget the caches, close the store and audit log."""
        self._failures.close()
        self._memory.clear()
        try:
            self.state.close()
            self.store.close()
        finally:
            if self.audit is not None:
                self.audit.close()

    # -- the decision -----------------------------------------------------

    def _authenticate(self, attempt: Attempt, now: float) -> tuple[Decision, UserRecord | None]:
        user, password, ip = attempt.user, attempt.password, attempt.ip
        if not isinstance(user, str) or not isinstance(password, str) or not isinstance(ip, str):
            return Decision(False, None, Reason.MALFORMED), None
        if attempt.write_behind:
            self._failures.ready()  # for every name, not only when a failure is handed over
        # 1. lingering credentials (may read the store once per state_ttl).
        known = attempt.linger and self._memory.knows(attempt.key)
        if known:
            lingered = self._linger(attempt, now)
            if lingered is not None:
                return lingered
        # 2. the throttle and the guess budget (one round trip with a shared state,
        # which also brings a credential another gate accepted), the input limits,
        # a lock known from a recent read
        before = self.limits.before(attempt, now, credential=attempt.linger and not known)
        if attempt.linger and self._known.adopt(attempt.key, user, before.credential):
            lingered = self._linger(attempt, now)
            if lingered is not None:
                return lingered
        early = rules.screen(user, password, self.settings, before.wait)
        if early is not None:
            return self._conclude(early, attempt, before, None, now), None
        recent = self._memory.snapshot(user, now)
        if recent is not None and recent.record is not None:
            state = recent.record.state
            if rules.locked(state, now):
                # Hammering a locked account costs no store read within state_ttl.
                locked = Outcome(Reason.LOCKED, retry_after=rules.lock_retry(state, now))
                return self._conclude(locked, attempt, before, recent.record, now), recent.record
        # 3. the record, the rules and the write
        stamp = self.store.stamp()  # before the read: a change during it is seen next time
        try:
            # A store with a user directory asks it now, not its cache (otpgate.directory.users).
            record = getattr(self.store, "get_fresh", self.store.get)(user)
        except StoreError as exc:
            _store_error("store error reading a user", exc)
            return Decision(False, None, Reason.STORE_ERROR), None
        self._seen(record, now)
        try:
            if record is None:
                settle.decoy_work(self.store, self._decoy, attempt, now, self.settings)
            decide = settle.login_rules(
                self.store,
                attempt,
                now,
                self.settings,
                self._check_pin,
                self._memory.forget,
                self._memory.no_step_back,
            )
            defer = settle.write_behind(self._failures, user, now) if attempt.write_behind else None
            outcome, record = settle.settle(self.store, user, record, decide, defer)
        except StoreError as exc:
            _store_error("store error during a login", exc)
            return Decision(False, None, Reason.STORE_ERROR), record
        if record is not None and (outcome.state is not None or outcome.reason is Reason.LOCKED):
            self._memory.remember(user, record, now, stamp)  # as read or written just now
        return self._conclude(outcome, attempt, before, record, now), record

    def _linger(self, attempt: Attempt, now: float) -> tuple[Decision, UserRecord | None] | None:
        """Accept a known credential that still lingers (store read at most once per state_ttl).

        A sliding idle window is shared through the store (the reference module's
        rule: at most one write per idle/16 seconds, see ``settle.write_use``).
        """
        try:
            snap = self._read(attempt.user, now)
        except StoreError as exc:
            _store_error("store error", exc)
            return Decision(False, None, Reason.STORE_ERROR), None
        if not self._memory.hit(attempt.key, attempt.user, attempt.ip, snap, now):
            return None
        assert snap.record is not None
        fingerprint = snap.fingerprint
        same = lambda r: self._memory.fingerprint(r) == fingerprint  # noqa: E731
        used = settle.write_use(self.store, snap.record, now, self.settings, same)
        if used is not None:
            self._memory.remember(attempt.user, used, now, snap.stamp)
        return Decision(True, snap.record.username, Reason.LINGER), snap.record

    def _write_failures(self, user: str, count: int, now: float) -> None:
        """Add ``count`` failures at ``now`` to the stored state (the writer's thread).

        Raises:
            StoreError: the store failed or the race was lost too often.
        """
        fail = settle.count_failures(count, now, self.settings)
        stamp = self.store.stamp()
        _, new = settle.settle(self.store, user, self.store.get(user), fail)
        if new is not None:
            self._memory.remember(user, new, now, stamp)

    def _check_pin(self, stored: Pin, user: str, pin: str) -> bool:
        """For :func:`settle.login_rules`: whether ``pin`` is ``user``'s PIN."""
        return check_pin(stored, user, pin, self._pin_hasher, self.pin_checker)

    def _conclude(
        self,
        outcome: Outcome,
        attempt: Attempt,
        before: Before,
        record: UserRecord | None,
        now: float,
    ) -> Decision:
        """The Decision for the rules' outcome; the throttle, budget and memory learn from it.

        Every refusal, counted or not, is told to the limits (one round trip
        with a shared state): a name whose budget is spent costs the same
        work as one that does not exist.
        """
        user, ip, key = attempt.user, attempt.ip, attempt.key
        double = outcome.reason is Reason.REPLAYED and attempt.linger
        if double and record is not None and self._memory.knows(key):
            # A concurrent double submit: the winner cached it a moment ago.
            snap = Snapshot(record, now, self._memory.fingerprint(record))
            if self._memory.hit(key, user, ip, snap, now):
                return Decision(True, record.username, Reason.LINGER)
        if outcome.linger_from is not None and record is not None:
            self._memory.add(key, user, ip, record, now, outcome.linger_from)
            self._known.share(key, now)
            self.limits.accepted(attempt, now)
        if outcome.reason is Reason.LOGOUT:
            self.state.revoke(user)  # an empty password: written by now, so tell every gate
        retry = outcome.retry_after
        ok = outcome.reason.accepted and record is not None
        if not ok:
            counted, known = outcome.counted, record is not None
            told = self.limits.refused(attempt, before, now, counted=counted, known=known)
            retry = told if counted else retry
        name = record.username if ok and record is not None else None
        return Decision(ok, name, outcome.reason, retry, fresh=outcome.reason in _FRESH)

    def _digest(self, user: str, password: str) -> bytes:
        # The one place an attempt's digest is made (tests count the calls).
        return self._memory.digest(user, password)

    def _read(self, user: str, now: float) -> Snapshot:
        """The user's record from a read younger than ``state_ttl``, else from the store.

        Raises:
            StoreError: the store could not be read.
        """
        snap = self._memory.snapshot(user, now)
        if snap is not None:
            return snap
        stamp = self.store.stamp()
        record = self.store.get(user)
        self._seen(record, now)
        return self._memory.remember(user, record, now, stamp)

    # -- the guess budget ------------------------------------------------------

    def _seen(self, record: UserRecord | None, now: float) -> None:
        """The budget learns where the user last logged in (maybe in another process)."""
        if record is not None:
            state = record.state
            self.limits.seen(record.username, state.last_ip, state.last_auth, now)

    def _audit(
        self, decision: Decision, user: str, ip: str, record: UserRecord | None, now: float
    ) -> None:
        if self.audit is None:
            return
        if decision.ok and decision.reason is Reason.LINGER and not self.settings.audit_linger:
            return
        self.audit.login(now, decision, user, ip, record)
