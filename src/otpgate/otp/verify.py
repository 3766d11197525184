"""Verification rules: windows, drift, replay, resynchronisation.

This module owns every rule that decides whether a code is accepted and what
the token's state becomes.  It is pure: the caller passes the current state
and the time, and stores the new state it gets back (with compare-and-set, so
two concurrent logins can never both win).

Rules:

* Event tokens accept a counter ``c`` in ``[next, next + look_ahead]``; the new
  ``next`` is ``c + 1``.
* Time tokens accept a step ``s`` in ``[now + drift - window, now + drift +
  window]`` that is strictly greater than the last accepted step, so no code
  is accepted twice and no older code after a newer one.  The drift learned
  from an accepted code is bounded by ``max_drift`` steps (a drift set
  larger by an administrator's resync may only shrink).
* Codes are exactly ``digits`` ASCII digits (or the hex form, where enabled);
  every candidate is compared in constant time.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Final

from ..errors import MalformedCode, NoMatch, ReplayedCode
from .tokens import Token, TokenType

# Token (defined in tokens) is re-exported: verify() takes one, and callers import it from here.

__all__ = [
    "Match",
    "Policy",
    "Token",
    "TokenState",
    "generate",
    "resync",
    "verify",
]

_DIGITS_RE: Final = re.compile(r"[0-9]+", re.ASCII)
_HEX_RE: Final = re.compile(r"[0-9a-fA-F]+", re.ASCII)


# TokenState and Match are frozen; dataclass's generated __init__ fills each slot through
# object.__setattr__, which is most of the cost of making one (a login makes two).  Their
# own __init__ sets the slots through the slot descriptors: the same result, in 0.6 of
# the time.  The descriptors are bound below each class.


@dataclass(frozen=True, slots=True, init=False)
class TokenState:
    """What verification must remember between logins.

    Attributes:
        counter: event tokens, the next expected counter; time tokens, the
            drift in steps (the reference module's "offset" field).
        last_step: time tokens, the last accepted absolute step, or ``None``.
    """

    counter: int = 0
    last_step: int | None = None

    def __init__(self, counter: int = 0, last_step: int | None = None) -> None:
        _set_counter(self, counter)
        _set_last_step(self, last_step)


_set_counter = TokenState.__dict__["counter"].__set__
_set_last_step = TokenState.__dict__["last_step"].__set__


@dataclass(frozen=True, slots=True)
class Policy:
    """Verification settings.

    Attributes:
        look_ahead: event tokens, how many counters past the expected one are
            searched (mod_authn_otp's ``OTPAuthMaxOffset``).
        window: time tokens, steps searched on either side of now + drift.
        max_drift: time tokens, the largest drift (in steps) learned from logins.
        accept_hex: also accept the hexadecimal form of HOTP codes.
        sync_event: event tokens, how far ahead a resync searches.
        sync_time: time tokens, steps searched on either side by a resync.
    """

    look_ahead: int = 10
    window: int = 1
    max_drift: int = 10
    accept_hex: bool = False
    sync_event: int = 1000
    sync_time: int = 240

    def __post_init__(self) -> None:
        for name in ("look_ahead", "window", "max_drift", "sync_event", "sync_time"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative whole number, not {value!r}")


@dataclass(frozen=True, slots=True, init=False)
class Match:
    """An accepted code.

    Attributes:
        matched: the counter (event) or absolute time step (time) that matched.
        state: the token state to store.
        offset: how far the match was from where it was expected.
    """

    matched: int
    state: TokenState
    offset: int

    def __init__(self, matched: int, state: TokenState, offset: int) -> None:
        _set_matched(self, matched)
        _set_state(self, state)
        _set_offset(self, offset)


_set_matched = Match.__dict__["matched"].__set__
_set_state = Match.__dict__["state"].__set__
_set_offset = Match.__dict__["offset"].__set__
_POLICY: Final = Policy()


def _normalise(token_type: TokenType, code: object, accept_hex: bool) -> int | str:
    """Check the code's form: a decimal code's value, or the text of a hex or Mobile-OTP code.

    Raises:
        MalformedCode: the code has the wrong form.
    """
    digits = token_type.digits
    # The common case first: exactly `digits` ASCII digits.  (For ASCII text isdigit()
    # means 0-9 only; the isascii() keeps out Arabic-Indic, full-width and other digits.)
    # int() reads every digit, so the conversion takes the same time whatever the code.
    if (
        isinstance(code, str)
        and token_type.kind == "HOTP"
        and len(code) == digits
        and code.isascii()
        and code.isdigit()
    ):
        return int(code)
    if not isinstance(code, str):
        raise MalformedCode("the code must be a string")
    if token_type.kind == "MOTP":
        if len(code) == digits and _HEX_RE.fullmatch(code):
            return code.lower()
        raise MalformedCode(f"expected {digits} hex digits")
    if token_type.kind == "HOTP" and len(code) == digits and _DIGITS_RE.fullmatch(code):
        return int(code)  # a subclass of str
    hex_len = digits if digits < 8 else 8
    if accept_hex and len(code) == hex_len and _HEX_RE.fullmatch(code):
        return code.lower()
    raise MalformedCode(f"expected {digits} digits")


def _matches(token: Token, counter: int, code: int | str, pin: str) -> bool:
    if isinstance(code, int):
        return bool(token._hotp_find((counter,), code))
    if token.type.kind == "MOTP":
        return hmac.compare_digest(token.code(counter, pin), code)
    # A hex code: compared with the counter's decimal and hex forms.
    hit = hmac.compare_digest(token.code(counter), code)
    hit |= hmac.compare_digest(token.hex_code(counter), code)
    return hit


def _find(token: Token, candidates: range, code: int | str, pin: str) -> list[int]:
    # No early exit: every candidate is computed and compared.
    if isinstance(code, int):
        return token._hotp_find(candidates, code)
    return [c for c in candidates if _matches(token, c, code, pin)]


def verify(
    token: Token,
    state: TokenState,
    code: str,
    *,
    now: float,
    policy: Policy = _POLICY,
    pin: str = "",
) -> Match:
    """Check one code and compute the new state.

    Args:
        token: the token.
        state: its stored state.
        code: the one-time password as typed (no PIN prefix).
        now: Unix time.
        policy: windows and limits.
        pin: Mobile-OTP only, the PIN that is part of the hash.

    Raises:
        MalformedCode: the code has the wrong form.
        ReplayedCode: the code matched a counter or step already used.
        NoMatch: nothing in the window matched.
    """
    value = _normalise(token.type, code, policy.accept_hex)
    if token.type.step:
        return _verify_time(token, state, value, now, policy, pin)
    return _verify_event(token, state, value, policy, pin)


def _verify_event(
    token: Token, state: TokenState, code: int | str, policy: Policy, pin: str
) -> Match:
    """:func:`verify` for an event token: the look-ahead window from the next counter."""
    start = max(state.counter, 0)
    hits = _find(token, range(start, start + policy.look_ahead + 1), code, pin)
    if not hits:
        # Only a recently used counter is worth telling apart from a wrong code.
        back = range(max(start - policy.look_ahead - 1, 0), start)
        old = _find(token, back, code, pin)
        if old:
            raise ReplayedCode("the code was already used", old[-1])
        raise NoMatch("no counter in the look-ahead window matched")
    c = hits[0]
    return Match(c, TokenState(c + 1, None), c - start)


def _verify_time(
    token: Token, state: TokenState, code: int | str, now: float, policy: Policy, pin: str
) -> Match:
    """:func:`verify` for a time token: the window around now + drift, newer than the last."""
    # Written out for speed (the hot path of every fresh login); the same rules as before:
    # time_step(now, step, t0), max(lo, 0), max(policy.max_drift, abs(drift)).
    ttype = token.type
    if now < ttype.t0:
        raise ValueError("time is before T0")
    now_step = int((now - ttype.t0) // ttype.step)
    drift = state.counter
    center = now_step + drift
    window = policy.window
    lo = center - window
    candidates = range(lo if lo > 0 else 0, center + window + 1)
    if isinstance(code, int):  # _find, a call fewer
        hits = token._hotp_find(candidates, code)
    else:
        hits = _find(token, candidates, code, pin)
    last = state.last_step
    if len(hits) == 1 and (last is None or hits[0] > last):
        s = hits[0]
    else:
        s = _pick(hits, last, center)
    # The window decides acceptance; max_drift only bounds what is learned, so a
    # code near the window's edge is never refused for drift (a larger drift
    # set by an administrator's resync is kept, never grown).
    bound = policy.max_drift
    if drift > bound or -drift > bound:
        bound = drift if drift > 0 else -drift
    learned = s - now_step
    if learned > bound:
        learned = bound
    elif learned < -bound:
        learned = -bound
    return Match(s, TokenState(learned, s), s - center)


def _pick(hits: list[int], last: int | None, center: int) -> int:
    """The step of several matches (or none) to accept: newer than ``last``, nearest ``center``.

    Raises:
        ReplayedCode: only steps at or before ``last`` matched.
        NoMatch: nothing matched.
    """
    fresh = hits if last is None else [s for s in hits if s > last]
    if not fresh:
        if hits:
            raise ReplayedCode("the code or a newer one was already used", hits[-1])
        raise NoMatch("no time step in the window matched")
    # Prefer the step closest to the expected one.
    return min(fresh, key=lambda x: (abs(x - center), x))


def resync(
    token: Token,
    state: TokenState,
    code1: str,
    code2: str,
    *,
    now: float,
    policy: Policy = Policy(),
    pin: str = "",
) -> Match:
    """Find two consecutive codes in the wide sync window and re-anchor the token.

    Event tokens search ``sync_event`` counters ahead of the expected one;
    time tokens ``sync_time`` steps on either side of now.  The match must be
    newer than anything already accepted.

    Raises:
        MalformedCode, ReplayedCode, NoMatch: as :func:`verify`.
    """
    value1 = _normalise(token.type, code1, policy.accept_hex)
    value2 = _normalise(token.type, code2, policy.accept_hex)
    if token.type.is_event:
        start = max(state.counter, 0)
        candidates = range(start, start + policy.sync_event + 1)
        base = start
    else:
        base = token.step_at(now)
        floor = 0 if state.last_step is None else state.last_step
        candidates = range(max(base - policy.sync_time, 0, floor), base + policy.sync_time + 1)
    prev_hit = False
    for c in candidates:
        # Each counter's code is computed once and compared against both inputs.
        hit2 = _matches(token, c, value2, pin)
        if prev_hit and hit2:
            if token.type.is_event:
                return Match(c, TokenState(c + 1, None), c - base)
            return Match(c, TokenState(c - base, c), c - base)
        prev_hit = _matches(token, c, value1, pin)
    raise NoMatch("the two codes were not found next to each other in the sync window")


def generate(
    token: Token, *, counter: int | None = None, now: float | None = None, pin: str = ""
) -> str:
    """The code at an event counter or at a time (for tools and tests)."""
    if (counter is None) == (now is None):
        raise ValueError("give exactly one of counter and now")
    if counter is None:
        assert now is not None
        counter = token.step_at(now)
    return token.code(counter, pin)
