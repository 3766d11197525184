"""A sign-in with a passkey: the same throttle, guess budget, PIN and audit as a code.

Two ways in (docs/passkeys.md):

* user name + PIN + passkey: the PIN is checked as for a code (plain, hashed
  or delegated), user verification is asked for but not required (the PIN
  is the second factor);
* passkey alone (a discoverable credential, no user name): the user is the
  one the credential belongs to, and the authenticator must have verified
  the user (a fingerprint or device PIN): the passkey is both factors.

A *step-up* (:meth:`PasskeyLogin.step_up`: a signed-in user confirming a
change on ``/account`` or ``/admin`` with the PIN and a passkey instead of
a code) is the first way with a challenge of its own purpose and user
verification required.

Either way the attempt is asked of the Authenticator's limits first (a
throttled pair or a spent guess budget is refused without looking), every
refusal is counted there like a wrong code, and the audit log gets one line;
a cloned authenticator (the counter went back) is refused and audited as
``passkey_cloned``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from ..errors import StoreError
from . import compare_and_set as settle
from .attempt import Decision
from .passkey_types import LOGIN, STEP_UP, ClonedPasskey, PasskeyRefused
from .reasons import Reason
from .rules import Outcome
from .user_state import lock_retry, locked

if TYPE_CHECKING:
    from ..store.passkeys import Passkey
    from ..store.records import UserRecord
    from .authenticator import Authenticator
    from .passkeys import Ceremonies

__all__ = ["PasskeyLogin"]

log = logging.getLogger(__name__)

# The name failures are counted under when an answer names no passkey at all.
NOBODY: Final = "\0passkey"


@dataclass(frozen=True, slots=True)
class _Try:
    """One passkey sign-in's input."""

    user: str | None
    pin: str
    handle: str
    response: str
    ip: str
    purpose: str = LOGIN


class PasskeyLogin:
    """Passkey sign-ins through one Authenticator's limits, PIN check and audit log.

    Args:
        auth: the Authenticator (its store, limits, PIN checker, audit log).
        ceremonies: the WebAuthn checks.
    """

    def __init__(self, auth: Authenticator, ceremonies: Ceremonies) -> None:
        self.auth = auth
        self.ceremonies = ceremonies

    def sign_in(
        self,
        user: str | None,
        pin: str,
        handle: str,
        response: str,
        ip: str,
        now: float,
        *,
        device: str | None = None,
    ) -> Decision:
        """Decide one sign-in (blocking: store I/O, maybe a PIN hash); never raises.

        ``user`` ``None``: the passkey alone (no user name, no PIN).
        """
        attempt = _Try(user, pin if user is not None else "", handle, response, ip)
        return self._guarded(attempt, now, device, "sign-in")

    def step_up(
        self,
        user: str,
        pin: str,
        handle: str,
        response: str,
        ip: str,
        now: float,
        *,
        device: str | None = None,
    ) -> Decision:
        """Decide a step-up: ``user``'s PIN and a passkey answer to a step-up challenge
        (user verification required); never raises.  Counted, limited and audited
        like a sign-in; an answer to a sign-in's challenge is refused."""
        attempt = _Try(user, pin, handle, response, ip, STEP_UP)
        return self._guarded(attempt, now, device, "step-up")

    def _guarded(self, t: _Try, now: float, device: str | None, what: str) -> Decision:
        """:meth:`_sign_in`, with a store failure or a bug refused and audited, never raised."""
        try:
            return self._sign_in(t, now, device)
        except StoreError as exc:
            log.error("store error during a passkey %s: %s", what, exc)
        except Exception:
            log.exception("unexpected error during a passkey %s", what)
        decision = Decision(False, None, Reason.STORE_ERROR)
        self._audit(decision, t.user or "", t.ip, now)
        return decision

    def _sign_in(self, t: _Try, now: float, device: str | None) -> Decision:
        passkey: Passkey | None = None
        if t.user is None:
            try:
                passkey = self.ceremonies.passkey_of(t.response)
            except PasskeyRefused:
                passkey = None
        name = t.user if t.user is not None else (passkey.user if passkey else NOBODY)
        auth = self.auth
        auth.state.sync()
        attempt = auth.attempt(name, t.pin, t.ip, linger=False, device=device)
        before = auth.regulator.before(attempt, now, credential=False)
        if before.wait is not None:
            auth.regulator.refused(attempt, before, now, counted=False, known=True)
            return self._end(Decision(False, None, Reason.THROTTLED, before.wait), name, t, now)
        record = auth.store.get(name) if name != NOBODY else None
        if record is not None and locked(record.state, now):
            retry = lock_retry(record.state, now)
            auth.regulator.refused(attempt, before, now, counted=False, known=True)
            return self._end(Decision(False, None, Reason.LOCKED, retry), name, t, now)
        reason = self._check(t, passkey, record, now)
        if reason is Reason.PASSKEY and record is not None:
            reason = self._write(record, _signed_in(t.ip, now))
            if reason is Reason.PASSKEY:
                auth.regulator.accepted(attempt, now)
                return self._end(Decision(True, record.username, reason, fresh=True), name, t, now)
        elif record is not None:
            # A failure like a wrong code: the store's count (and its lock) too.
            self._write(record, settle.count_failures(1, now, auth.settings))
        told = auth.regulator.refused(attempt, before, now, counted=True, known=record is not None)
        return self._end(Decision(False, None, reason, told), name, t, now)

    def _write(self, record: UserRecord, decide: settle.Decide) -> Reason:
        """Write the user's new state with compare-and-set; the outcome's reason."""
        outcome, _ = settle.settle(self.auth.store, record.username, record, decide)
        return outcome.reason

    def _check(
        self, t: _Try, passkey: Passkey | None, record: UserRecord | None, now: float
    ) -> Reason:
        """The passkey's and the PIN's verdict (the challenge is used up either way)."""
        try:
            if t.user is not None:
                passkey = self.ceremonies.passkey_of(t.response)
            self.ceremonies.verify(passkey, t.handle, t.response, t.user, now, t.purpose)
        except ClonedPasskey as exc:
            self._cloned(exc, t.ip, now)
            return Reason.PASSKEY_CLONED
        except PasskeyRefused as exc:
            log.info("passkey refused: %s", exc)
            return Reason.PASSKEY_REFUSED
        if record is None:
            return Reason.UNKNOWN_USER
        if t.user is None:
            return Reason.PASSKEY  # the authenticator verified the user
        if self.auth.pin_ok(record, t.pin):
            return Reason.PASSKEY
        return Reason.BAD_PIN

    def _cloned(self, exc: ClonedPasskey, ip: str, now: float) -> None:
        passkey = exc.passkey
        log.warning(
            "passkey %s of %r: sign count %d after %d: a cloned authenticator?",
            passkey.id,
            passkey.user,
            exc.count,
            passkey.sign_count,
        )
        audit = self.auth.audit
        if audit is not None:
            detail = f"passkey {passkey.id}: sign count {exc.count} after {passkey.sign_count}"
            audit.write(
                now,
                user=passkey.user,
                ip=ip,
                result="alert",
                reason="passkey_cloned",
                detail=detail,
            )

    def _end(self, decision: Decision, name: str, t: _Try, now: float) -> Decision:
        self._audit(decision, name if name != NOBODY else "", t.ip, now)
        return decision

    def _audit(self, decision: Decision, user: str, ip: str, now: float) -> None:
        # No token in the line: the reason says it was a passkey.
        if self.auth.audit is not None:
            self.auth.audit.login(now, decision, user, ip, None)


def _signed_in(ip: str, now: float) -> settle.Decide:
    """The state after a passkey sign-in: failures cleared, the time and address noted
    (unless the user was locked meanwhile: nothing written, refused)."""

    def decide(current: UserRecord | None) -> Outcome:
        if current is None:
            return Outcome(Reason.UNKNOWN_USER)
        state = current.state
        if locked(state, now):
            return Outcome(Reason.LOCKED)
        new = replace(state, failures=0, last_auth=now, last_ip=ip, locked_until=None)
        return Outcome(Reason.PASSKEY, new)

    return decide
