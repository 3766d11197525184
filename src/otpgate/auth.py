"""The login decision: the one :class:`Authenticator` every front end calls.

Order of work per attempt, cheapest first (docs/accounts.md explains why):

1. Linger cache (memory): a keyed digest of user + password that was accepted
   recently.  A hit is accepted without a store write or a PIN hash.  It comes
   before the throttle check because it only matches credentials that were
   proven correct, so a user behind the same address as a guesser keeps
   working.
2. Throttle table (memory, per user and client address): a throttled attempt
   is answered at once, without store read, PIN hash or write.
3. Store read; locked users are refused.
4. The password is split (PIN = everything but the last ``digits``
   characters; Mobile-OTP: the whole password is the code, the PIN is in the
   hash), and the OTP is verified (a few HMACs, :mod:`otpgate.verify`).
5. Only if the OTP matched, the PIN is checked (plain: constant time; hash:
   argon2id; delegated: the :class:`~otpgate.pins.PinChecker`).
6. The new state is written with compare-and-set.  A lost race re-reads and
   re-verifies, so the same code can never be accepted twice.  A store that
   cannot be written denies the login.

A right OTP with a wrong PIN still consumes the OTP (the new token state is
written along with the failure), so the code cannot be retried with another
PIN guess.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final, overload

from . import recovery
from .audit import AuditLog
from .errors import MalformedCode, NoMatch, ReplayedCode, StoreConflict, StoreError
from .models import UserRecord, UserState
from .otp import HmacKey
from .pins import HtpasswdChecker, PinChecker, PinHasher, encode_secret, pins_equal
from .reasons import Reason
from .store.base import Store
from .verify import Policy, verify

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

# A compare-and-set lost this many times in a row means something is wrong.
_MAX_RETRIES: Final = 8
# Longer user names and passwords are refused before anything else is done.
_MAX_USER: Final = 256


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Login rules; names follow mod_authn_otp's directives where they exist.

    Attributes:
        policy: OTP windows and drift (:class:`otpgate.verify.Policy`).
        max_linger: ``OTPAuthMaxLinger``: a used PIN+OTP is accepted again for
            this many seconds after its first use; 0 turns lingering off.
        max_idle: ``OTPAuthMaxIdle``: sliding variant, the time since the last
            use counts.  When set it replaces ``max_linger``.
        logout_on_ip_change: ``OTPAuthLogoutOnIPChange``: a lingering
            credential from another address is not accepted.
        max_otp_failures: ``OTPAuthMaxOTPFailure``: lock a user after this many
            consecutive failures (0 = off).
        failure_unlock_after: such a lock lifts itself after this many seconds
            (``math.inf`` or 0 = never, as the reference module).
        throttle_free_failures: failures per (user, address) before backoff.
        throttle_base: the first backoff in seconds; doubles per failure.
        throttle_max: the longest backoff; a quiet pair is forgotten after it.
        fall_through: ``OTPAuthFallThrough``: unknown users are for another
            provider; they are not counted by the throttle.
        cache_size: bound on lingering credentials kept in memory.
        throttle_size: bound on (user, address) pairs in the throttle table.
        state_ttl: how long a store read may answer :meth:`Authenticator.check_cached`
            and :meth:`Authenticator.session_valid` (so a lock or logout from
            another process takes effect within this time).
        max_password: longer passwords are refused unread.
        audit_linger: also audit lingering re-checks (one per HTTP request
            under Basic auth, so off by default).
        throttle_ipv6_prefix: the throttle counts IPv6 clients per network
            of this length (one machine usually holds a whole /64).
    """

    policy: Policy = Policy()  # noqa: RUF009 - frozen, so one shared default is safe
    max_linger: float = 600.0
    max_idle: float | None = None
    logout_on_ip_change: bool = False
    max_otp_failures: int = 0
    failure_unlock_after: float = 900.0
    throttle_free_failures: int = 3
    throttle_base: float = 1.0
    throttle_max: float = 900.0
    fall_through: bool = False
    cache_size: int = 10_000
    throttle_size: int = 100_000
    state_ttl: float = 2.0
    max_password: int = 1024
    audit_linger: bool = False
    throttle_ipv6_prefix: int = 64

    def __post_init__(self) -> None:
        problems = []
        for name in (
            "max_linger",
            "failure_unlock_after",
            "throttle_base",
            "throttle_max",
            "state_ttl",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or math.isnan(value) or value < 0:
                problems.append(f"{name} must be a non-negative number")
        if self.max_idle is not None and (math.isnan(self.max_idle) or self.max_idle < 0):
            problems.append("max_idle must be a non-negative number")
        for name in (
            "max_otp_failures",
            "throttle_free_failures",
            "cache_size",
            "throttle_size",
            "max_password",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(f"{name} must be a non-negative whole number")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def lingering(self) -> bool:
        return (self.max_idle or 0) > 0 if self.max_idle is not None else self.max_linger > 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one login attempt.

    Attributes:
        ok: accepted.
        user: the user name when accepted, else ``None``.
        reason: why (:class:`otpgate.reasons.Reason`), for the audit log and
            the metrics only, never shown to clients.
        retry_after: seconds, when throttled or locked for a limited time.
        fresh: a new OTP (or recovery code) was consumed; ``False`` for a
            lingering re-use.
    """

    ok: bool
    user: str | None
    reason: Reason
    retry_after: float | None = None
    fresh: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt, with the keyed digest of user + password made once.

    Built by :meth:`Authenticator.attempt`; pass it to
    :meth:`Authenticator.check_cached` and then :meth:`Authenticator.decide`
    so that neither computes the digest again.

    Attributes:
        user: the user name as sent.
        password: the PIN followed by the OTP (Mobile-OTP: the OTP alone).
        ip: the client address.
        key: the Authenticator's keyed digest of user + password, the key of
            its linger cache; empty when the input can never linger (not
            text, or longer than ``max_password``).
    """

    user: str
    password: str = field(repr=False)
    ip: str
    key: bytes = field(repr=False)


@dataclass(slots=True)
class _Linger:
    user: str
    first_use: float
    last_use: float
    ip: str
    fingerprint: bytes


@dataclass(slots=True)
class _Snapshot:
    record: UserRecord | None
    fetched: float
    fingerprint: bytes = field(default=b"")


def _locked(state: UserState, now: float) -> bool:
    return state.locked_until is not None and now < state.locked_until


def _retry(state: UserState, now: float) -> float | None:
    if state.locked_until is None or math.isinf(state.locked_until):
        return None
    return max(state.locked_until - now, 0.0)


class Authenticator:
    """Decides logins against a store; thread-safe.

    Args:
        store: where users live.  :meth:`close` closes it.
        settings: the rules.
        pin_checker: checks delegated (``+``) PINs, e.g. :class:`HtpasswdChecker`.
        audit: receives one line per decision.  :meth:`close` closes it.
        clock: Unix time; tests inject their own.
    """

    def __init__(
        self,
        store: Store,
        settings: AuthSettings = AuthSettings(),
        *,
        pin_checker: PinChecker | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from .throttle import Throttle

        self.store = store
        self.settings = settings
        self.pin_checker = pin_checker
        self.audit = audit
        self.clock = clock
        self.throttle = Throttle(
            settings.throttle_free_failures,
            settings.throttle_base,
            settings.throttle_max,
            max(settings.throttle_size, 1),
            settings.throttle_ipv6_prefix,
        )
        # A per-process random key: cached digests are useless outside this process.
        self._mac = HmacKey(secrets.token_bytes(32), "SHA256")
        self._lock = threading.Lock()
        self._lingering: OrderedDict[bytes, _Linger] = OrderedDict()
        self._snapshots: OrderedDict[str, _Snapshot] = OrderedDict()
        self._pin_hasher = PinHasher()

    # -- public API -------------------------------------------------------

    def attempt(self, user: str, password: str, ip: str) -> Attempt:
        """Wrap one login attempt, computing its linger-cache digest once."""
        key = b""
        # Nothing longer than max_password was ever accepted: do not even hash it.
        if (
            isinstance(user, str)
            and isinstance(password, str)
            and len(password) <= self.settings.max_password
        ):
            key = self._digest(user, password)
        return Attempt(user, password, ip, key)

    def authenticate(
        self, user: str, password: str, ip: str, *, now: float | None = None
    ) -> Decision:
        """Decide one login attempt (blocking; may read and write the store and hash a PIN).

        Args:
            user: the user name as sent.
            password: the PIN followed by the OTP (Mobile-OTP: the OTP alone);
                an empty password from the user's last address logs out.
            ip: the client address.
            now: Unix time; defaults to the clock.
        """
        return self.decide(self.attempt(user, password, ip), now=now)

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
        or a user known (from such a read) to be locked, is refused.
        """
        if not isinstance(attempt, Attempt):
            attempt = self.attempt(attempt, password, ip)  # type: ignore[arg-type]
        now = self.clock() if now is None else now
        user, ip_ = attempt.user, attempt.ip
        if not isinstance(user, str) or not isinstance(attempt.password, str):
            return None
        record: UserRecord | None = None
        decision: Decision | None = None
        snap = self._fresh_snapshot(user, now)
        if snap is not None and snap.record is not None:
            record = snap.record
            if self._linger_hit(attempt.key, user, ip_, snap, now):
                decision = Decision(True, record.username, Reason.LINGER)
        with self._lock:
            known = attempt.key in self._lingering
        # A known credential is never answered "throttled" here: decide()
        # may still accept it from its linger entry after a store read.
        if decision is None and not known:
            retry = self.throttle.retry_after(user, ip_, now)
            if retry is not None:
                decision = Decision(False, None, Reason.THROTTLED, retry_after=retry)
            elif record is not None and _locked(record.state, now):
                decision = Decision(False, None, Reason.LOCKED, _retry(record.state, now))
        if decision is not None:
            self._audit(decision, user, ip_, record, now)
        return decision

    def logout(self, user: str, *, now: float | None = None) -> None:
        """Forget lingering credentials and revoke sessions issued before now.

        Raises:
            StoreError: the store could not be read or written.
        """
        now = self.clock() if now is None else now
        self._forget(user)
        record = self.store.get(user)
        if record is None:
            return
        new = self._update(record, lambda s: replace(s, revoked_before=now, last_otp=None))
        self._remember(user, new, now)

    def session_valid(self, user: str, issued_at: float, *, now: float | None = None) -> bool:
        """Whether a session issued at ``issued_at`` still stands (:meth:`session_record`)."""
        return self.session_record(user, issued_at, now=now) is not None

    def session_record(
        self, user: str, issued_at: float, *, now: float | None = None
    ) -> UserRecord | None:
        """The user's record if a session issued at ``issued_at`` still stands, else ``None``.

        The user must exist, not be locked, and not have been logged out or
        locked after the session was issued.  Reads the store at most once per
        ``settings.state_ttl``; never writes.  An unreadable store says no.
        The record lets the caller check that the session was issued for this
        very record (a user removed and added again is another record).
        """
        now = self.clock() if now is None else now
        snap = self._fresh_snapshot(user, now)
        if snap is None:
            try:
                snap = self._remember(user, self.store.get(user), now)
            except StoreError as exc:
                log.error("store error checking a session: %s", exc)
                return None
        record = snap.record
        if record is None or _locked(record.state, now):
            return None
        revoked = record.state.revoked_before
        return record if revoked is None or issued_at >= revoked else None

    def close(self) -> None:
        """Forget the caches; close the store and the audit log."""
        with self._lock:
            self._lingering.clear()
            self._snapshots.clear()
        try:
            self.store.close()
        finally:
            if self.audit is not None:
                self.audit.close()

    # -- the decision -----------------------------------------------------

    def _authenticate(self, attempt: Attempt, now: float) -> tuple[Decision, UserRecord | None]:
        s = self.settings
        user, password, ip, key = attempt.user, attempt.password, attempt.ip, attempt.key
        if not isinstance(user, str) or not isinstance(password, str) or not isinstance(ip, str):
            return Decision(False, None, Reason.MALFORMED), None
        # 1. lingering credentials (a cheap check; may read the store once per state_ttl).
        # An empty key (an over-long password) was never cached.
        with self._lock:
            entry = self._lingering.get(key) if key else None
        if entry is not None:
            snap = self._fresh_snapshot(user, now)
            if snap is None:
                try:
                    snap = self._remember(user, self.store.get(user), now)
                except StoreError as exc:
                    log.error("store error: %s", exc)
                    return Decision(False, None, Reason.STORE_ERROR), None
            if self._linger_hit(key, user, ip, snap, now):
                assert snap.record is not None
                return Decision(True, snap.record.username, Reason.LINGER), snap.record
        # 2. throttle
        retry = self.throttle.retry_after(user, ip, now)
        if retry is not None:
            return Decision(False, None, Reason.THROTTLED, retry_after=retry), None
        if not user or len(user) > _MAX_USER or len(password) > s.max_password:
            return self._fail(user, ip, now, Reason.MALFORMED), None
        snap = self._fresh_snapshot(user, now)
        if snap is not None and snap.record is not None and _locked(snap.record.state, now):
            # Hammering a locked account costs no store read within state_ttl.
            state = snap.record.state
            return Decision(False, None, Reason.LOCKED, _retry(state, now)), snap.record
        # 3. the record
        try:
            record = self.store.get(user)
        except StoreError as exc:
            log.error("store error reading a user: %s", exc)
            return Decision(False, None, Reason.STORE_ERROR), None
        if record is None:
            if s.fall_through:
                return Decision(False, None, Reason.UNKNOWN_USER), None
            return self._fail(user, ip, now, Reason.UNKNOWN_USER), None
        if password == "":
            return self._empty_password(record, user, ip, now), record
        try:
            return self._decide(record, attempt, now)
        except StoreError as exc:
            log.error("store error during a login: %s", exc)
            return Decision(False, None, Reason.STORE_ERROR), record

    def _empty_password(self, record: UserRecord, user: str, ip: str, now: float) -> Decision:
        # As the reference module: an empty password from the last address logs out.
        if record.state.last_ip is not None and record.state.last_ip == ip:
            try:
                self.logout(user, now=now)
            except StoreError as exc:
                log.error("store error during logout: %s", exc)
                return Decision(False, None, Reason.STORE_ERROR)
            return Decision(False, None, Reason.LOGOUT)
        # Not a guess at anything: do not count it.
        return Decision(False, None, Reason.MALFORMED)

    def _decide(
        self, record: UserRecord, attempt: Attempt, now: float
    ) -> tuple[Decision, UserRecord | None]:
        s = self.settings
        user, password, ip, key = attempt.user, attempt.password, attempt.ip, attempt.key
        bad_pin_pending = False
        for _ in range(_MAX_RETRIES):
            state = record.state
            if _locked(state, now):
                self._remember(user, record, now)
                return Decision(False, None, Reason.LOCKED, _retry(state, now)), record
            motp = record.token_type.kind == "MOTP"
            digits = record.token_type.digits
            rec = recovery.split_password(password)
            # A long PIN followed by an OTP can also end like a compact recovery
            # code; such a password is tried as an OTP first.
            tail = password[-digits:]
            otp_shaped = len(password) == digits if motp else tail.isascii() and tail.isdigit()
            if rec is not None and not otp_shaped:
                return self._recover(record, attempt, rec[0], rec[1], now), record
            if motp:
                pin, otp = "", password
            elif len(password) < digits:
                return self._fail(user, ip, now, Reason.MALFORMED), record
            else:
                pin, otp = password[:-digits], password[-digits:]
            # Another process accepted this code moments ago: the reference
            # module's linger, from the stored last OTP (no write).
            if self._stored_linger(state, otp, ip, now):
                if motp or self._check_pin(record, pin):
                    # The window runs from the first use, in whichever process.
                    first = state.last_auth if state.last_auth is not None else now
                    self._cache(key, user, ip, record, now, first_use=first)
                    self.throttle.success(user, ip)
                    return Decision(True, record.username, Reason.LINGER), record
                # Someone holds the lingering code but not the PIN: end the
                # cross-process linger so the code cannot serve many PIN guesses.
                new = self._update(
                    record, lambda st: replace(self._failed_state(st, now), last_otp=None)
                )
                return self._fail(user, ip, now, Reason.BAD_PIN), new
            if state.last_otp is not None and hmac.compare_digest(
                encode_secret(otp), encode_secret(state.last_otp)
            ):
                # The last accepted code, re-sent after its linger ran out (a
                # browser repeating Basic credentials).  The PIN is not looked
                # at, so this answers nothing about it: not counted.
                return Decision(False, None, Reason.REPLAYED), record
            motp_pin = ""
            if motp:
                if record.pin.kind == "plain":
                    motp_pin = record.pin.value
                elif record.pin.kind != "none":
                    log.error("Mobile-OTP user %r needs a plain PIN to verify codes", user)
            try:
                match = verify(
                    record.token(), state.token, otp, now=now, policy=s.policy, pin=motp_pin
                )
            except MalformedCode:
                return self._fail(user, ip, now, Reason.MALFORMED), record
            except NoMatch:
                if rec is not None:
                    return self._recover(record, attempt, rec[0], rec[1], now), record
                new = self._update(record, lambda st: self._failed_state(st, now))
                return self._fail(user, ip, now, Reason.NO_MATCH), new
            except ReplayedCode:
                if bad_pin_pending:
                    new = self._update(record, lambda st: self._failed_state(st, now))
                    return self._fail(user, ip, now, Reason.BAD_PIN), new
                # A concurrent double submit: the winner cached it a moment ago.
                snap = _Snapshot(record, now, self._fingerprint(record))
                if self._linger_hit(key, user, ip, snap, now):
                    return Decision(True, record.username, Reason.LINGER), record
                # Knowing an old code proves nothing and the PIN was not looked
                # at, so nothing was guessed: not counted (a double click).
                return Decision(False, None, Reason.REPLAYED), record
            if not bad_pin_pending and (motp or self._check_pin(record, pin)):
                new_state = replace(
                    state,
                    token=match.state,
                    failures=0,
                    last_otp=otp,
                    last_auth=now,
                    last_ip=ip,
                    locked_until=None,
                )
                new = self.store.compare_and_set(user, record.version, new_state)
            else:
                # Right OTP, wrong PIN: consume the OTP with the failure.
                bad_pin_pending = True
                new_state = self._failed_state(replace(state, token=match.state), now)
                new = self.store.compare_and_set(user, record.version, new_state)
                if new is not None:
                    self._remember(user, new, now)
                    return self._fail(user, ip, now, Reason.BAD_PIN), new
            if new is not None:
                self._remember(user, new, now)
                self._cache(key, user, ip, new, now)
                self.throttle.success(user, ip)
                return Decision(True, new.username, Reason.OTP, fresh=True), new
            # Lost a race: re-read and decide again (the code is now a replay).
            fresh = self.store.get(user)
            if fresh is None:
                return self._fail(user, ip, now, Reason.UNKNOWN_USER), None
            record = fresh
        raise StoreConflict(f"gave up after {_MAX_RETRIES} concurrent updates of {user!r}")

    def _recover(
        self, record: UserRecord, attempt: Attempt, pin: str, code: str, now: float
    ) -> Decision:
        user, ip = attempt.user, attempt.ip
        if not self.store.consume_recovery_code(user, recovery.digest(user, code)):
            self._update(record, lambda st: self._failed_state(st, now))
            return self._fail(user, ip, now, Reason.NO_MATCH)
        # The code is used up even if the PIN is wrong, like an OTP.
        if not self._check_pin(record, pin):
            self._update(record, lambda st: self._failed_state(st, now))
            return self._fail(user, ip, now, Reason.BAD_PIN)
        new = self._update(
            record,
            lambda st: replace(
                st, failures=0, last_otp=None, last_auth=now, last_ip=ip, locked_until=None
            ),
        )
        self._remember(user, new, now)
        if new is None:
            return self._fail(user, ip, now, Reason.UNKNOWN_USER)
        self._cache(attempt.key, user, ip, new, now)
        self.throttle.success(user, ip)
        return Decision(True, new.username, Reason.RECOVERY, fresh=True)

    def _stored_linger(self, state: UserState, otp: str, ip: str, now: float) -> bool:
        s = self.settings
        if not s.lingering or state.last_otp is None or state.last_auth is None:
            return False
        if not hmac.compare_digest(encode_secret(otp), encode_secret(state.last_otp)):
            return False
        # Across processes the idle time cannot slide without a write on every
        # request, so it counts from the first use there.
        span = s.max_idle if s.max_idle is not None else s.max_linger
        if not 0 <= now - state.last_auth < span:
            return False
        if state.revoked_before is not None and state.last_auth < state.revoked_before:
            return False
        return not (s.logout_on_ip_change and state.last_ip != ip)

    def _failed_state(self, state: UserState, now: float) -> UserState:
        s = self.settings
        failures = state.failures + 1
        locked_until = state.locked_until
        if locked_until is not None and locked_until <= now:
            locked_until = None  # an expired automatic lock
        if s.max_otp_failures and failures >= s.max_otp_failures:
            unlock = s.failure_unlock_after
            locked_until = now + unlock if unlock > 0 else math.inf
        return replace(state, failures=failures, locked_until=locked_until)

    def _fail(self, user: str, ip: str, now: float, reason: Reason) -> Decision:
        retry = self.throttle.failure(user, ip, now)
        return Decision(False, None, reason, retry_after=retry)

    def _check_pin(self, record: UserRecord, pin: str) -> bool:
        kind = record.pin.kind
        if kind == "none":
            return pin == ""
        if kind == "plain":
            return pins_equal(record.pin.value, pin)
        if kind == "hash":
            return self._pin_hasher.verify(record.pin.value, pin)
        if self.pin_checker is None:
            log.error(
                "user %r has a delegated PIN but no PIN checker is configured", record.username
            )
            return False
        try:
            return self.pin_checker.check(record.username, pin) is True
        except Exception:  # a broken checker must deny, not crash the gate
            log.exception("the PIN checker failed")
            return False

    def _update(
        self, record: UserRecord, change: Callable[[UserState], UserState]
    ) -> UserRecord | None:
        """Apply ``change`` with compare-and-set, re-reading on a lost race.

        Raises:
            StoreError: the store failed or the race was lost too often.
        """
        current: UserRecord | None = record
        for _ in range(_MAX_RETRIES):
            assert current is not None
            new = self.store.compare_and_set(
                current.username, current.version, change(current.state)
            )
            if new is not None:
                return new
            current = self.store.get(record.username)
            if current is None:
                return None
        raise StoreConflict(f"gave up after {_MAX_RETRIES} concurrent updates")

    # -- memory -----------------------------------------------------------

    def _digest(self, user: str, password: str) -> bytes:
        u = encode_secret(user)
        return self._mac.digest(len(u).to_bytes(4, "big") + u + encode_secret(password))

    def _fingerprint(self, record: UserRecord) -> bytes:
        """Changes when an administrator changes the user's key, PIN or token."""
        parts = (
            record.key,
            encode_secret(record.pin.kind),
            encode_secret(record.pin.value),
            encode_secret(str(record.token_type)),
            encode_secret(record.serial or ""),
        )
        return self._mac.digest(b"fp\0" + b"\0".join(len(p).to_bytes(4, "big") + p for p in parts))

    def _remember(self, user: str, record: UserRecord | None, now: float) -> _Snapshot:
        snap = _Snapshot(record, now, self._fingerprint(record) if record is not None else b"")
        with self._lock:
            self._snapshots[user] = snap
            self._snapshots.move_to_end(user)
            while len(self._snapshots) > max(self.settings.cache_size, 1):
                self._snapshots.popitem(last=False)
        return snap

    def _fresh_snapshot(self, user: str, now: float) -> _Snapshot | None:
        with self._lock:
            snap = self._snapshots.get(user)
        if snap is None or not 0 <= now - snap.fetched < self.settings.state_ttl:
            return None
        return snap

    def _cache(
        self,
        key: bytes,
        user: str,
        ip: str,
        record: UserRecord,
        now: float,
        *,
        first_use: float | None = None,
    ) -> None:
        if not key or not self.settings.lingering or self.settings.cache_size == 0:
            return
        first = now if first_use is None else min(first_use, now)
        entry = _Linger(user, first, now, ip, self._fingerprint(record))
        with self._lock:
            old = self._lingering.get(key)
            if old is not None and old.user == user and old.fingerprint == entry.fingerprint:
                # A re-use keeps its first-use time (the fixed linger window).
                entry.first_use = old.first_use
            self._lingering[key] = entry
            self._lingering.move_to_end(key)
            while len(self._lingering) > self.settings.cache_size:
                self._lingering.popitem(last=False)

    def _linger_hit(self, key: bytes, user: str, ip: str, snap: _Snapshot, now: float) -> bool:
        s = self.settings
        record = snap.record
        with self._lock:
            entry = self._lingering.get(key)
            if entry is None or entry.user != user:
                return False
            if s.max_idle is not None:
                alive = 0 <= now - entry.last_use < s.max_idle
            else:
                alive = 0 <= now - entry.first_use < s.max_linger
            if not alive:
                del self._lingering[key]
                return False
            if record is None or snap.fingerprint != entry.fingerprint:
                del self._lingering[key]
                return False
            if _locked(record.state, now):
                return False
            revoked = record.state.revoked_before
            if revoked is not None and entry.first_use < revoked:
                del self._lingering[key]
                return False
            if s.logout_on_ip_change and ip != entry.ip:
                return False
            entry.last_use = now
            self._lingering.move_to_end(key)
            return True

    def _forget(self, user: str) -> None:
        with self._lock:
            for key in [k for k, e in self._lingering.items() if e.user == user]:
                del self._lingering[key]
            self._snapshots.pop(user, None)

    def _audit(
        self, decision: Decision, user: str, ip: str, record: UserRecord | None, now: float
    ) -> None:
        if self.audit is None:
            return
        if decision.ok and decision.reason is Reason.LINGER and not self.settings.audit_linger:
            return
        self.audit.write(
            now,
            user=user if isinstance(user, str) else repr(type(user)),
            ip=ip if isinstance(ip, str) else None,
            result="accept" if decision.ok else "reject",
            reason=decision.reason,
            fresh=decision.fresh,
            token=str(record.token_type) if record is not None else None,
            serial=record.serial if record is not None else None,
            retry_after=round(decision.retry_after, 3)
            if decision.retry_after is not None
            else None,
        )
