"""Deciding on a stored record: the login rules bound to a store, and the one write loop.

:func:`settle` is the one compare-and-set loop: it asks a ``decide``
function (record -> :class:`~otpgate.login.rules.Outcome`) and writes the new state;
a lost race re-reads and decides again, so the same code can never be
accepted twice.  The ``decide`` functions come from here too: the login rules
for one attempt (:class:`LoginRules`), failures counted after the answer
(:func:`count_failures`, :func:`write_behind`) and a logout (:func:`log_out`).  :func:`decoy_work`
does for an unknown user what a known user's attempt costs.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Final

from ..config.auth import AuthSettings
from ..errors import StoreConflict, StoreError
from ..otp.tokens import TokenType
from ..regulation.regulator import Regulator
from ..store.base import LoginStore, UserStore
from ..store.records import Pin, UserRecord
from . import recovery, rules, user_state
from .attempt import Attempt
from .reasons import Reason
from .rules import Outcome

__all__ = [
    "MAX_RETRIES",
    "CheckPin",
    "Decide",
    "LoginRules",
    "count_failures",
    "decoy_record",
    "decoy_work",
    "log_out",
    "settle",
    "write_behind",
    "write_use",
]

log = logging.getLogger(__name__)

# A compare-and-set lost this many times in a row means something is wrong.
MAX_RETRIES: Final = 8

Decide = Callable[[UserRecord | None], Outcome]
"""The rules for one change: the user's record as read (``None``: no such user) -> outcome."""

CheckPin = Callable[[Pin, str, str], bool]
"""Whether a given PIN is right: (stored PIN, user name, PIN given) -> bool."""


def settle(
    store: UserStore,
    user: str,
    record: UserRecord | None,
    decide: Decide,
    defer: Callable[[Outcome], bool] | None = None,
) -> tuple[Outcome, UserRecord | None]:
    """Decide on the record and write the new state: the one compare-and-set loop.

    Returns the outcome and the record as written (or as read, when
    nothing was written, or when ``defer`` took the write to do it after
    the answer).  A lost race re-reads and decides again.

    Raises:
        StoreError: the store failed or the race was lost too often.
    """
    for _ in range(MAX_RETRIES):
        outcome = decide(record)
        if outcome.state is None or record is None:
            return outcome, record
        if defer is not None and defer(outcome):
            return outcome, record
        new = store.compare_and_set(user, record.version, outcome.state)
        if new is not None:
            return outcome, new
        # Lost a race: re-read and decide again (a code is now a replay).
        record = store.get(user)
    raise StoreConflict(f"gave up after {MAX_RETRIES} concurrent updates of {user!r}")


def write_behind(regulator: Regulator, user: str, now: float) -> Callable[[Outcome], bool]:
    """For :func:`settle`'s ``defer``: hand a wrong code's failure count to the regulator.

    Only a ``no_match``: its new state is one more failure (and maybe a
    lock), which :func:`count_failures` applies as well later.  A right
    OTP with a wrong PIN is written before the answer, since it uses the
    code up: a second PIN guess with it must find it used.
    """

    def defer(outcome: Outcome) -> bool:
        return outcome.reason is Reason.NO_MATCH and regulator.write_behind(user, now)

    return defer


def _motp_without_pin(record: UserRecord) -> bool:
    # Mobile-OTP hashes the PIN into the code: it must be stored in the clear.
    return record.token_type.kind == "MOTP" and record.pin.kind not in ("plain", "none")


class LoginRules:
    """A ``decide``: :func:`rules.transition` for one attempt, round after round of :func:`settle`.

    Across rounds each PIN is checked and each recovery code consumed at
    most once, and a PIN found wrong stays wrong.  ``on_logout`` hears the
    user name when the attempt is a logout (an empty password).
    ``no_step_back`` raises a record's last time step to one read before
    (:meth:`otpgate.login.linger.LingerMemory.no_step_back`), in every round.
    """

    def __init__(
        self,
        store: LoginStore,
        attempt: Attempt,
        now: float,
        settings: AuthSettings,
        check_pin: CheckPin,
        on_logout: Callable[[str], None],
        no_step_back: Callable[[UserRecord], UserRecord],
    ) -> None:
        self.store, self.attempt, self.now, self.settings = store, attempt, now, settings
        self.check_pin, self.on_logout, self.no_step_back = check_pin, on_logout, no_step_back
        self.pins: dict[tuple[Pin, str], bool] = {}
        self.consumed: dict[str, bool] = {}
        self.seen: set[Reason] = set()

    def __call__(self, record: UserRecord | None) -> Outcome:
        attempt, user = self.attempt, self.attempt.user
        if record is not None and _motp_without_pin(record):
            log.error("Mobile-OTP user %r needs a plain PIN to verify codes", user)
        if record is not None:
            record = self.no_step_back(record)
        pin_ok = self._pin_ok(record)
        out = rules.transition(
            record,
            attempt.password,
            attempt.ip,
            self.now,
            self.settings,
            pin_ok,
            pin_failed=Reason.BAD_PIN in self.seen,
            otp_tag=lambda otp: self.store.otp_tag(user, otp),  # a keyed digest in SQL stores
            linger=attempt.linger,
            next_provider=attempt.next_provider,
        )
        if isinstance(out, rules.Recover):
            assert record is not None
            if out.code not in self.consumed:
                digest = recovery.digest(user, out.code)
                self.consumed[out.code] = self.store.consume_recovery_code(user, digest)
            consumed = self.consumed[out.code]
            out = rules.recovered(
                record, consumed, out.pin, attempt.ip, self.now, self.settings, pin_ok
            )
        if out.reason is Reason.LOGOUT:
            self.on_logout(user)
        self.seen.add(out.reason)
        return out

    def _pin_ok(self, record: UserRecord | None) -> Callable[[str], bool]:
        """Whether a PIN is the record's, each (stored PIN, PIN given) checked once."""

        def pin_ok(pin: str) -> bool:
            assert record is not None
            if (record.pin, pin) not in self.pins:
                self.pins[record.pin, pin] = self.check_pin(record.pin, record.username, pin)
            return self.pins[record.pin, pin]

        return pin_ok


def decoy_record() -> UserRecord:
    """A record no user has, of the default token type of ``user add``, with a random key."""
    return UserRecord("\0decoy", TokenType("HOTP", 30, 6), secrets.token_bytes(20), Pin("none"))


def decoy_work(
    store: LoginStore, decoy: UserRecord, attempt: Attempt, now: float, settings: AuthSettings
) -> None:
    """Do for an unknown user what a known user's attempt does before the answer.

    The same split and OTP verification (against ``decoy``, a
    :func:`decoy_record`), and for a recovery-code-shaped password the same store
    call (it finds nothing), so that the time taken does not tell whether
    the name exists.  The outcome is thrown away.
    """
    out = rules.transition(
        decoy,
        attempt.password,
        attempt.ip,
        now,
        settings,
        lambda _: False,
        # The store's tag of the code, as for a known user (an HMAC in SQL stores).
        otp_tag=lambda otp: store.otp_tag(attempt.user, otp),
        linger=attempt.linger,
    )
    if isinstance(out, rules.Recover):
        store.consume_recovery_code(attempt.user, recovery.digest(attempt.user, out.code))


def count_failures(count: int, now: float, settings: AuthSettings) -> Decide:
    """Add ``count`` failures at ``now`` to the stored state (written behind an answer)."""

    def fail(current: UserRecord | None) -> Outcome:
        if current is None:
            return Outcome(Reason.UNKNOWN_USER)  # removed meanwhile: nothing to count
        state = current.state
        if state.last_auth is not None and state.last_auth >= now:
            # A login succeeded since: the failures are no longer consecutive
            # (no state: nothing to write).
            return Outcome(Reason.NO_MATCH)
        for _ in range(count):
            state = user_state.failed_state(state, now, settings)
        return Outcome(Reason.NO_MATCH, state)

    return fail


def write_use(
    store: UserStore,
    record: UserRecord,
    now: float,
    settings: AuthSettings,
    same: Callable[[UserRecord], bool],
) -> UserRecord | None:
    """Write a lingering use answered from memory, when one is due (:func:`user_state.idle_use`).

    ``same`` says whether a record (re-read after a lost race) still holds the
    credential that lingers.  Returns the record as written, or ``None`` when
    nothing was written; a store error is logged and writes nothing: the use
    was accepted from a recent read, and the next one is written again.
    """
    if user_state.idle_use(record.state, now, settings) is None:
        return None

    def use(current: UserRecord | None) -> Outcome:
        if current is None or not same(current) or user_state.locked(current.state, now):
            return Outcome(Reason.LINGER)
        return Outcome(Reason.LINGER, user_state.idle_use(current.state, now, settings))

    try:
        outcome, new = settle(store, record.username, record, use)
    except StoreError as exc:
        log.error("store error writing a lingering use: %s", exc)
        return None
    return new if outcome.state is not None else None


def log_out(now: float) -> Decide:
    """Revoke the sessions issued before ``now`` and end the lingering credentials."""

    def revoke(current: UserRecord | None) -> Outcome:
        if current is None:
            return Outcome(Reason.UNKNOWN_USER)
        return Outcome(Reason.LOGOUT, user_state.logged_out(current.state, now))

    return revoke
