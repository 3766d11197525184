"""The login rules: one attempt against one user record, as a pure function.

:func:`transition` takes what the store holds about a user, the password, the
client address, the time and the settings, and returns an :class:`Outcome`:
the :class:`~otpgate.login.reasons.Reason`, the state to write (or none), and
whether the throttle counts a failure.  No store, clock, memory or thread is
touched here, so the rules are tested as a table (tests/login/test_rules.py).  The
:class:`~otpgate.login.authenticator.Authenticator` does the work around them: the linger
cache and the throttle before, the store read, one compare-and-set loop
(a lost race re-reads and decides again, when the code is a replay), and the
recovery-code consumption, which is a store call.

Two checks are passed in, because they are slow or call out:

* ``pin_ok(pin)``: plain PINs compare in constant time, hashed ones cost an
  argon2id hash, delegated ones ask another service.  It is called only after
  the OTP matched, so a wrong guess costs a few HMACs, not a hash.
* a recovery code is not consumed here: :func:`transition` returns a
  :class:`Recover`, the Authenticator consumes the code, and
  :func:`recovered` finishes the decision.

The rules, in order: no such user; an empty password (logout from the last
address); a lock; a recovery code; a PIN+OTP still lingering from its use in
another process (the stored last OTP); the last OTP re-sent (a replay, not
counted); the OTP verified; only then the PIN.  A right OTP with a wrong PIN
is written as used, so it cannot serve a second PIN guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from .._limits import MAX_USER
from ..config.auth import AuthSettings
from ..errors import MalformedCode, NoMatch, ReplayedCode
from ..otp.verify import verify
from ..store.records import UserRecord, UserState
from . import recovery
from .pins import pins_equal
from .reasons import Reason
from .user_state import failed_state, idle_use, lock_retry, locked, logged_out

__all__ = [
    "Outcome",
    "PinCheck",
    "Recover",
    "passed_on",
    "recovered",
    "screen",
    "transition",
]

PinCheck = Callable[[str], bool]
"""Checks a PIN against the user's record (slow: argon2id, or another service)."""

OtpTag = Callable[[str], str]
"""How the store keeps a code as the user's ``last_otp`` (``Store.otp_tag``):
a keyed digest in the SQL stores, the code itself in the users file."""


def _same(otp: str) -> str:
    return otp


# What mod_authn_otp answers AUTH_USER_NOT_FOUND for with OTPAuthFallThrough On
# (its authn_otp_check_password): a wrong PIN, a password of the wrong length,
# the failure limit reached, a logout.  otpgate checks the code before the PIN
# and never tells which was wrong, so a wrong or used code goes the same way;
# and a throttled attempt, in which it checked nothing.
_PASSED_ON: Final = frozenset(
    {
        Reason.UNKNOWN_USER,
        Reason.BAD_PIN,
        Reason.MALFORMED,
        Reason.LOCKED,
        Reason.LOGOUT,
        Reason.NO_MATCH,
        Reason.REPLAYED,
        Reason.THROTTLED,
    }
)


def passed_on(reason: Reason, fall_through: bool) -> bool:
    """Whether a refusal is left to the next provider (``OTPAuthFallThrough``).

    An unknown user always is, as the module answers for a name its file does
    not hold whatever the setting says; with ``fall_through`` every refusal
    of the password is, but never a store error.  The attempt was counted all
    the same (:class:`Outcome`): passing it on gives a guesser nothing here.
    """
    return reason is Reason.UNKNOWN_USER or (fall_through and reason in _PASSED_ON)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt comes to.

    Attributes:
        reason: why it was accepted or refused.
        state: the user's new state, to be written with compare-and-set;
            ``None``: nothing to write.
        counted: a failure the throttle counts (a guess at the PIN or code).
        retry_after: seconds, when locked for a limited time.
        linger_from: accepted by the rules: the credential may linger from
            this time (``None`` for a refusal).
    """

    reason: Reason
    state: UserState | None = None
    counted: bool = False
    retry_after: float | None = None
    linger_from: float | None = None


@dataclass(frozen=True, slots=True)
class Recover:
    """The password ends with a recovery code: consume it, then call :func:`recovered`."""

    pin: str = field(repr=False)
    code: str = field(repr=False)


def screen(
    user: str, password: str, settings: AuthSettings, throttled: float | None
) -> Outcome | None:
    """The rules before the store is read; ``None`` means read it.

    Args:
        throttled: the throttle's wait for this user and address, if any.
    """
    if throttled is not None:
        return Outcome(Reason.THROTTLED, retry_after=throttled)
    if not user or len(user) > MAX_USER or len(password) > settings.max_password:
        return Outcome(Reason.MALFORMED, counted=True)
    return None


def transition(
    record: UserRecord | None,
    password: str,
    ip: str,
    now: float,
    settings: AuthSettings,
    pin_ok: PinCheck,
    *,
    pin_failed: bool = False,
    otp_tag: OtpTag = _same,
    linger: bool = True,
    next_provider: bool = False,
) -> Outcome | Recover:
    """Decide one attempt against the user's record as the store holds it.

    Args:
        record: the user; ``None`` when the store has no such user.
        password: the PIN followed by the code (Mobile-OTP: the code alone).
        ip: the client address.
        now: Unix time.
        settings: the rules' settings.
        pin_ok: checks a PIN; called only after the OTP matched.
        pin_failed: an earlier round of this attempt found the PIN wrong and
            lost the race to write that; it is not asked again.
        otp_tag: the code as the store keeps it (``Store.otp_tag``); the
            stored last OTP is compared, and written, in that form, so a
            database that keeps a digest never holds the code itself.
        linger: whether a code still lingering from its last use may be
            accepted again; ``False`` (a code typed into a form is single
            use) makes it a replay.
        next_provider: the front end hands unknown users to another
            provider (Apache's next ``AuthBasicProvider``).
    """
    early = _without_code(record, password, ip, now, settings, next_provider)
    if early is not None or record is None:
        return early if early is not None else Outcome(Reason.UNKNOWN_USER)
    split = _split(record, password)
    if not isinstance(split, tuple):
        return split
    pin, otp = split
    check: PinCheck = (lambda _: False) if pin_failed else pin_ok
    tag = otp_tag(otp)
    used = _used_code(record, tag, ip, now, settings, linger, lambda: check(pin))
    if used is not None:
        return used
    return _verify(record, password, pin, (otp, tag), ip, now, settings, pin_ok, pin_failed)


def _without_code(
    record: UserRecord | None,
    password: str,
    ip: str,
    now: float,
    settings: AuthSettings,
    next_provider: bool,
) -> Outcome | None:
    """The outcomes decided before any code is looked at: no user, a logout, a lock."""
    if record is None:
        # Another provider's user (fall_through, or Apache's next provider):
        # not a guess at anyone here, so not counted.
        return Outcome(Reason.UNKNOWN_USER, counted=not (settings.fall_through or next_provider))
    state = record.state
    if password == "":
        # As the reference module: an empty password from the last address logs
        # out; from elsewhere it is not a guess at anything, so not counted.
        if state.last_ip is not None and state.last_ip == ip:
            return Outcome(Reason.LOGOUT, logged_out(state, now))
        return Outcome(Reason.MALFORMED)
    if locked(state, now):
        return Outcome(Reason.LOCKED, retry_after=lock_retry(state, now))
    return None


def _used_code(
    record: UserRecord,
    tag: str,
    ip: str,
    now: float,
    settings: AuthSettings,
    linger: bool,
    pin_right: Callable[[], bool],
) -> Outcome | None:
    """The outcome for the code last used (still lingering, or replayed), else ``None``."""
    state = record.state
    if linger and _stored_linger(state, tag, ip, now, settings):
        # Another process accepted this code moments ago: the reference module's
        # linger, from the stored last OTP (no write).
        motp = record.token_type.kind == "MOTP"
        return _lingering(state, motp or pin_right(), now, settings)
    if state.last_otp is not None and pins_equal(state.last_otp, tag):
        # The last accepted code, re-sent after its linger ran out (a browser
        # repeating Basic credentials).  The PIN is not looked at, so this
        # answers nothing about it: not counted.
        return Outcome(Reason.REPLAYED)
    return None


def recovered(
    record: UserRecord,
    consumed: bool,
    pin: str,
    ip: str,
    now: float,
    settings: AuthSettings,
    pin_ok: PinCheck,
) -> Outcome:
    """Finish a :class:`Recover`: ``consumed`` says whether the code existed and is now gone."""
    state = record.state
    if not consumed:
        return Outcome(Reason.NO_MATCH, failed_state(state, now, settings), counted=True)
    # The code is used up even if the PIN is wrong, like an OTP.
    if not pin_ok(pin):
        return Outcome(Reason.BAD_PIN, failed_state(state, now, settings), counted=True)
    new = replace(state, failures=0, last_otp=None, last_auth=now, last_ip=ip, locked_until=None)
    return Outcome(Reason.RECOVERY, new, linger_from=now)


def _split(record: UserRecord, password: str) -> tuple[str, str] | Recover | Outcome:
    """``(pin, otp)``, or a recovery code to try, or a malformed password."""
    ttype = record.token_type
    motp = ttype.kind == "MOTP"
    rec = recovery.split_password(password)
    # A long PIN followed by an OTP can also end like a compact recovery code;
    # such a password is tried as an OTP first (see _verify).
    tail = password[-ttype.digits :]
    otp_shaped = len(password) == ttype.digits if motp else tail.isascii() and tail.isdigit()
    if rec is not None and not otp_shaped:
        return Recover(*rec)
    if motp:
        return "", password
    if len(password) < ttype.digits:
        return Outcome(Reason.MALFORMED, counted=True)
    return password[: -ttype.digits], password[-ttype.digits :]


def _lingering(state: UserState, pin_right: bool, now: float, s: AuthSettings) -> Outcome:
    """A code still lingering in the store, sent with a right PIN or not.

    ``pin_right``: the PIN was right (Mobile-OTP: it is part of the code).
    """
    if pin_right:
        # The window runs from the first use (max_idle: the last one written),
        # in whichever process.
        first = state.last_auth if state.last_auth is not None else now
        return Outcome(Reason.LINGER, idle_use(state, now, s), linger_from=first)
    # Someone holds the lingering code but not the PIN: end the
    # cross-process linger so the code cannot serve many PIN guesses.
    new = replace(failed_state(state, now, s), last_otp=None)
    return Outcome(Reason.BAD_PIN, new, counted=True)


def _stored_linger(state: UserState, tag: str, ip: str, now: float, s: AuthSettings) -> bool:
    if not s.lingering or state.last_otp is None or state.last_auth is None:
        return False
    if not pins_equal(state.last_otp, tag):  # constant time
        return False
    # Under max_idle last_auth is the last use any process wrote (idle_use).
    span = s.max_idle if s.max_idle is not None else s.max_linger
    if not 0 <= now - state.last_auth < span:
        return False
    if state.revoked_before is not None and state.last_auth < state.revoked_before:
        return False
    return not (s.logout_on_ip_change and state.last_ip != ip)


def _verify(
    record: UserRecord,
    password: str,
    pin: str,
    code: tuple[str, str],
    ip: str,
    now: float,
    settings: AuthSettings,
    pin_ok: PinCheck,
    pin_failed: bool,
) -> Outcome | Recover:
    """Verify the OTP (``code``: it and its tag); only if it matched, check the PIN."""
    otp, tag = code
    state = record.state
    motp = record.token_type.kind == "MOTP"
    # Mobile-OTP hashes the PIN into the code; it needs the PIN in the clear.
    motp_pin = record.pin.value if motp and record.pin.kind == "plain" else ""
    try:
        match = verify(
            record.token(), state.token, otp, now=now, policy=settings.policy, pin=motp_pin
        )
    except MalformedCode:
        return Outcome(Reason.MALFORMED, counted=True)
    except NoMatch:
        rec = recovery.split_password(password)
        if rec is not None:
            return Recover(*rec)
        return Outcome(Reason.NO_MATCH, failed_state(state, now, settings), counted=True)
    except ReplayedCode:
        if pin_failed:
            return Outcome(Reason.BAD_PIN, failed_state(state, now, settings), counted=True)
        # A concurrent double submit (the Authenticator looks for the winner's
        # linger entry) or an old code: the PIN was not looked at, so nothing
        # was guessed: not counted.
        return Outcome(Reason.REPLAYED)
    if not pin_failed and (motp or pin_ok(pin)):
        new = replace(
            state,
            token=match.state,
            failures=0,
            last_otp=tag,
            last_auth=now,
            last_ip=ip,
            locked_until=None,
        )
        return Outcome(Reason.OTP, new, linger_from=now)
    # Right OTP, wrong PIN: consume the OTP with the failure.
    new = failed_state(replace(state, token=match.state), now, settings)
    return Outcome(Reason.BAD_PIN, new, counted=True)
