"""How a user's stored state moves outside a code check: locks, failures, idle uses, logouts.

Pure functions of a :class:`~otpgate.store.records.UserState` and the time; the
login rules (:mod:`otpgate.login.rules`) use them too.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

from ..config.auth import AuthSettings
from ..store.records import UserRecord, UserState

__all__ = [
    "IDLE_WRITES",
    "admin_locked",
    "failed_state",
    "idle_use",
    "lock_retry",
    "locked",
    "logged_out",
    "session_stands",
]

IDLE_WRITES: Final = 16
"""Under ``max_idle`` a lingering use is written at most every ``max_idle / 16`` s:
mod_authn_otp's ``IDLE_UPDATE_DIVISOR``, so the idle clock is shared by every
process (and by the module, on a shared file) at 1/16 of its length."""


def locked(state: UserState, now: float) -> bool:
    """Whether the user is locked at ``now``."""
    return state.locked_until is not None and now < state.locked_until


def admin_locked(state: UserState, now: float) -> UserState:
    """Locked until an administrator unlocks (``otpgate user unlock``), sessions revoked:
    ``user lock``, and users imported with the failures that had locked them."""
    return replace(state, locked_until=math.inf, revoked_before=now)


def lock_retry(state: UserState, now: float) -> float | None:
    """Seconds until a lock lifts itself; ``None`` for a lock that does not."""
    if state.locked_until is None or math.isinf(state.locked_until):
        return None
    return max(state.locked_until - now, 0.0)


def failed_state(state: UserState, now: float, settings: AuthSettings) -> UserState:
    """One more consecutive failure; at ``max_otp_failures`` the user is locked."""
    failures = state.failures + 1
    locked_until = state.locked_until
    if locked_until is not None and locked_until <= now:
        locked_until = None  # an expired automatic lock
    if settings.max_otp_failures and failures >= settings.max_otp_failures:
        unlock = settings.failure_unlock_after
        locked_until = now + unlock if unlock > 0 else math.inf
    return replace(state, failures=failures, locked_until=locked_until)


def idle_use(state: UserState, now: float, settings: AuthSettings) -> UserState | None:
    """The state that records a lingering use at ``now``, when one is due; else ``None``.

    Only under ``max_idle``, for a stored last OTP (a logout cleared it), and
    only when the stored use is more than ``max_idle / IDLE_WRITES`` old, as
    the module does: every process slides one clock, and a Basic client
    re-sending its password costs no write per request.  The time alone is
    written; the address stays the login's (an address is trusted by the
    guess budget for a login from it, not for a re-sent password).
    """
    idle = settings.max_idle
    if idle is None or state.last_otp is None or state.last_auth is None:
        return None
    if not now - state.last_auth > idle / IDLE_WRITES:
        return None
    return replace(state, last_auth=now)


def logged_out(state: UserState, now: float) -> UserState:
    """Sessions and lingering credentials from before ``now`` end."""
    return replace(state, revoked_before=now, last_otp=None)


def session_stands(record: UserRecord | None, issued_at: float, now: float) -> bool:
    """Whether a session issued at ``issued_at`` still stands for this record.

    The user must exist, not be locked, and not have been logged out or
    locked after the session was issued.
    """
    if record is None or locked(record.state, now):
        return False
    revoked = record.state.revoked_before
    return revoked is None or issued_at >= revoked
