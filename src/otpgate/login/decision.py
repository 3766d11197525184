"""The decision itself: the cached answer, then the fresh one (store, rules, compare-and-set).

Order of work per attempt, cheapest first (docs/accounts.md explains why):

1. Linger cache (memory, :mod:`otpgate.login.linger`): a keyed digest of user +
   password that was accepted recently.  A hit is accepted without a store
   write or a PIN hash.  It comes before the throttle check because it only
   matches credentials that were proven correct, so a user behind the same
   address as a guesser keeps working.  The digest is made once per attempt
   (:class:`~otpgate.login.attempt.Attempt`).
2. Throttle and guess budget (:mod:`otpgate.regulation`: memory, and with a shared
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

:meth:`Authenticator.check_cached <otpgate.login.authenticator.Authenticator.check_cached>`
does steps 1 and 2 from memory alone (no I/O, for the event loop);
:meth:`Decider.fresh` does them all.  A right OTP with a wrong PIN
still consumes the OTP (the new token state is written along with the
failure), so the code cannot be retried with another PIN guess.
"""

from __future__ import annotations

import logging
from typing import Final

from ..config.auth import AuthSettings
from ..errors import StoreError
from ..regulation.regulator import Before, LocalRegulator, Regulator
from ..regulation.shared import SharedRegulator
from ..state.base import SharedState
from ..store.base import Store
from ..store.records import Pin, UserRecord
from . import compare_and_set as settle
from . import rules, user_state
from .attempt import Attempt, Decision
from .linger import LingerMemory, Snapshot
from .pins import PinChecker, PinHasher, check_pin
from .reasons import Reason
from .rules import Outcome
from .shared_credentials import SharedCredentials

__all__ = ["Decider", "Judged"]

log = logging.getLogger(__name__)

_FRESH: Final = frozenset({Reason.OTP, Reason.RECOVERY})

# A decision and the record it was made on (for the audit log).
Judged = tuple[Decision, UserRecord | None]


class Decider:
    """Decides attempts for one Authenticator; thread-safe.

    Args:
        store: where users live.
        settings: the rules.
        state: shared with other gate processes (revocations, known credentials,
            and with ``state.shared`` the regulator's counts).
        memory: the process's lingering credentials and recent reads.
        pin_checker: checks delegated (``+``) PINs.

    Attributes:
        regulator: the throttle, guess budget and failures written behind.
    """

    def __init__(
        self,
        store: Store,
        settings: AuthSettings,
        state: SharedState,
        memory: LingerMemory,
        pin_checker: PinChecker | None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.state = state
        self.pin_checker = pin_checker
        self.pin_hasher = PinHasher()
        self.regulator: Regulator = (
            SharedRegulator(settings, state, self.count_failures)
            if state.shared
            else LocalRegulator(settings, self.count_failures)
        )
        self.memory = memory
        self._known = SharedCredentials(state, memory)
        # An unknown user's attempt is checked against this decoy, so that it
        # costs what a known user's does.
        self._decoy = settle.decoy_record()

    # -- the fresh decision -----------------------------------------------

    def fresh(self, attempt: Attempt, now: float) -> Judged:
        """Decide with the store (blocking: may read and write it and hash a PIN)."""
        user, password, ip = attempt.user, attempt.password, attempt.ip
        if not isinstance(user, str) or not isinstance(password, str) or not isinstance(ip, str):
            return Decision(False, None, Reason.MALFORMED), None
        if attempt.write_behind:
            self.regulator.ready()  # for every name, not only when a failure is handed over
        # 1. lingering credentials (may read the store once per state_ttl).
        known = attempt.linger and self.memory.knows(attempt.key)
        if known:
            lingered = self._linger(attempt, now)
            if lingered is not None:
                return lingered
        # 2. the throttle and the guess budget (one round trip with a shared state,
        # which also brings a credential another gate accepted), the input limits,
        # a lock known from a recent read
        before = self.regulator.before(attempt, now, credential=attempt.linger and not known)
        if attempt.linger and self._known.adopt(attempt.key, user, before.credential):
            lingered = self._linger(attempt, now)
            if lingered is not None:
                return lingered
        early = rules.screen(user, password, self.settings, before.wait)
        if early is not None:
            return self._conclude(early, attempt, before, None, now), None
        recent = self.memory.snapshot(user, now)
        if recent is not None and recent.record is not None:
            state = recent.record.state
            if user_state.locked(state, now):
                # Hammering a locked account costs no store read within state_ttl.
                locked = Outcome(Reason.LOCKED, retry_after=user_state.lock_retry(state, now))
                return self._conclude(locked, attempt, before, recent.record, now), recent.record
        return self._from_store(attempt, before, now)

    def _from_store(self, attempt: Attempt, before: Before, now: float) -> Judged:
        """3. to 6.: the record, the rules and the write."""
        user = attempt.user
        stamp = self.store.stamp()  # before the read: a change during it is seen next time
        try:
            # A store with a user directory asks it now, not its cache (otpgate.directory.users).
            record = getattr(self.store, "get_fresh", self.store.get)(user)
        except StoreError as exc:
            if not exc.logged:
                log.error("store error reading a user: %s", exc)
            return Decision(False, None, Reason.STORE_ERROR), None
        self.seen(record, now)
        try:
            if record is None:
                settle.decoy_work(self.store, self._decoy, attempt, now, self.settings)
            decide = settle.LoginRules(
                self.store,
                attempt,
                now,
                self.settings,
                self._check_pin,
                self.memory.forget,
                self.memory.no_step_back,
            )
            defer = settle.write_behind(self.regulator, user, now) if attempt.write_behind else None
            outcome, record = settle.settle(self.store, user, record, decide, defer)
        except StoreError as exc:
            if not exc.logged:
                log.error("store error during a login: %s", exc)
            return Decision(False, None, Reason.STORE_ERROR), record
        if record is not None and (outcome.state is not None or outcome.reason is Reason.LOCKED):
            self.memory.remember(user, record, now, stamp)  # as read or written just now
        return self._conclude(outcome, attempt, before, record, now), record

    def _linger(self, attempt: Attempt, now: float) -> Judged | None:
        """Accept a known credential that still lingers (store read at most once per state_ttl).

        A sliding idle window is shared through the store (the reference module's
        rule: at most one write per idle/16 seconds, see ``settle.write_use``).
        """
        try:
            snap = self.read(attempt.user, now)
        except StoreError as exc:
            if not exc.logged:
                log.error("store error: %s", exc)
            return Decision(False, None, Reason.STORE_ERROR), None
        if not self.memory.hit(attempt.key, attempt.user, attempt.ip, snap, now):
            return None
        assert snap.record is not None
        fingerprint = snap.fingerprint
        same = lambda r: self.memory.fingerprint(r) == fingerprint  # noqa: E731
        used = settle.write_use(self.store, snap.record, now, self.settings, same)
        if used is not None:
            self.memory.remember(attempt.user, used, now, snap.stamp)
        return Decision(True, snap.record.username, Reason.LINGER), snap.record

    def _conclude(
        self,
        outcome: Outcome,
        attempt: Attempt,
        before: Before,
        record: UserRecord | None,
        now: float,
    ) -> Decision:
        """The Decision for the rules' outcome; the regulator and memory learn from it.

        Every refusal, counted or not, is told to the regulator (one round trip
        with a shared state): a name whose budget is spent costs the same
        work as one that does not exist.
        """
        user, ip, key = attempt.user, attempt.ip, attempt.key
        double = outcome.reason is Reason.REPLAYED and attempt.linger
        if double and record is not None and self.memory.knows(key):
            # A concurrent double submit: the winner cached it a moment ago.
            snap = Snapshot(record, now, self.memory.fingerprint(record))
            if self.memory.hit(key, user, ip, snap, now):
                return Decision(True, record.username, Reason.LINGER)
        if outcome.linger_from is not None and record is not None:
            self.memory.add(key, user, ip, record, now, outcome.linger_from)
            self._known.share(key, now)
            self.regulator.accepted(attempt, now)
        if outcome.reason is Reason.LOGOUT:
            self.state.revoke(user)  # an empty password: written by now, so tell every gate
        retry = outcome.retry_after
        ok = outcome.reason.accepted and record is not None
        if not ok:
            counted, known = outcome.counted, record is not None
            told = self.regulator.refused(attempt, before, now, counted=counted, known=known)
            retry = told if counted else retry
        name = record.username if ok and record is not None else None
        return Decision(ok, name, outcome.reason, retry, fresh=outcome.reason in _FRESH)

    def _check_pin(self, stored: Pin, user: str, pin: str) -> bool:
        """For :class:`settle.LoginRules`: whether ``pin`` is ``user``'s PIN."""
        return check_pin(stored, user, pin, self.pin_hasher, self.pin_checker)

    # -- store reads and writes outside a login ---------------------------

    def read(self, user: str, now: float) -> Snapshot:
        """The user's record from a read younger than ``state_ttl``, else from the store.

        Raises:
            StoreError: the store could not be read.
        """
        snap = self.memory.snapshot(user, now)
        if snap is not None:
            return snap
        stamp = self.store.stamp()
        record = self.store.get(user)
        self.seen(record, now)
        return self.memory.remember(user, record, now, stamp)

    def seen(self, record: UserRecord | None, now: float) -> None:
        """The budget learns where the user last logged in (maybe in another process)."""
        if record is not None:
            state = record.state
            self.regulator.seen(record.username, state.last_ip, state.last_auth, now)

    def count_failures(self, user: str, count: int, now: float) -> None:
        """Add ``count`` failures at ``now`` to the stored state (the failure writer's thread).

        Raises:
            StoreError: the store failed or the race was lost too often.
        """
        fail = settle.count_failures(count, now, self.settings)
        stamp = self.store.stamp()
        _, new = settle.settle(self.store, user, self.store.get(user), fail)
        if new is not None:
            self.memory.remember(user, new, now, stamp)
