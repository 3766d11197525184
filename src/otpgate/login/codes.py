"""Which of a user's tokens a password's code comes from.

A user may hold several OTP tokens (docs/accounts.md).  A password is the PIN
followed by a code, and where the PIN ends depends on the token: its number
of digits, and Mobile-OTP, whose code is the whole password (the PIN is
hashed into it).  :func:`readings` splits the password once for each shape
among the user's tokens; :func:`find` verifies each reading's code against
the tokens of its shape, each with its own state, so a code used on one
token is a replay there and nothing to the others.  The PIN is not looked at
here (:mod:`otpgate.login.rules` checks it only after a code matched).

A user who signs in with passkeys only holds no OTP token.  A code sent for
them is checked against a decoy (a token of a new app's type with a key made
at start-up, never stored) and refused whatever it computes: the same
readings, the same HMACs and the same answer as a wrong code, so neither the
reply nor its timing tells that the user has no code to guess.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from typing import Final

from ..errors import MalformedCode, NoMatch, ReplayedCode
from ..otp.verify import Match, Policy, verify
from ..store.authenticators import OtpToken
from ..store.records import NO_TOKEN_TYPE, UserRecord, UserState
from . import recovery
from .outcome import Outcome, Recover
from .reasons import Reason

__all__ = ["DECOY", "Found", "Reading", "find", "readings", "used"]

DECOY: Final = OtpToken(NO_TOKEN_TYPE, secrets.token_bytes(20))
"""What a code sent for a user with no OTP token is checked against; never accepted."""


@dataclass(frozen=True, slots=True)
class Reading:
    """The password read for the tokens of one shape: the PIN, the code, which tokens."""

    pin: str = field(repr=False)
    otp: str = field(repr=False)
    motp: bool
    tokens: tuple[OtpToken, ...]


@dataclass(frozen=True, slots=True)
class Found:
    """A code matched: how the password was read, the token, and the match."""

    reading: Reading
    token: OtpToken
    match: Match


def _otp_shaped(password: str, motp: bool, digits: int) -> bool:
    if motp:
        return len(password) == digits
    tail = password[-digits:]
    return tail.isascii() and tail.isdigit()


def readings(record: UserRecord, password: str) -> list[Reading] | Recover | Outcome:
    """Every reading of ``password`` for ``record``'s tokens, or a recovery code, or malformed.

    A long PIN followed by a code can also end like a compact recovery code;
    such a password is tried as a code first (the rules try the recovery
    code when no token matched).
    """
    shapes: dict[tuple[bool, int], list[OtpToken]] = {}
    for token in record.tokens() or (DECOY,):
        ttype = token.token_type
        shapes.setdefault((ttype.kind == "MOTP", ttype.digits), []).append(token)
    rec = recovery.split_password(password)
    if rec is not None and not any(_otp_shaped(password, *shape) for shape in shapes):
        return Recover(*rec)
    out: list[Reading] = []
    for (motp, digits), tokens in shapes.items():
        if motp:
            out.append(Reading("", password, True, tuple(tokens)))
        elif len(password) >= digits:
            out.append(Reading(password[:-digits], password[-digits:], False, tuple(tokens)))
    if not out:
        return Outcome(Reason.MALFORMED, counted=True)
    return out


def find(record: UserRecord, found_in: list[Reading], now: float, policy: Policy) -> Found | Reason:
    """The token the code matched, else why none did.

    ``MALFORMED``: no reading is a code at all; ``REPLAYED``: the code was one
    already used on a token (not a guess: it is not counted); else ``NO_MATCH``.
    """
    # Mobile-OTP hashes the PIN into the code; it needs the PIN in the clear.
    motp_pin = record.pin.value if record.pin.kind == "plain" else ""
    why = Reason.MALFORMED
    for reading in found_in:
        for token in reading.tokens:
            pin = motp_pin if reading.motp else ""
            code = reading.otp
            try:
                match = verify(token.token(), token.state, code, now=now, policy=policy, pin=pin)
            except MalformedCode:
                continue
            except NoMatch:
                why = Reason.NO_MATCH if why is Reason.MALFORMED else why
                continue
            except ReplayedCode:
                why = Reason.REPLAYED
                continue
            if token is DECOY:
                why = Reason.NO_MATCH  # whatever it computed: the user holds no token
                continue
            return Found(reading, token, match)
    return why


def used(
    record: UserRecord, found: Found, tag: str, now: float, accepted: bool
) -> tuple[UserState, OtpToken]:
    """The user's state and the token once ``found``'s code is used up.

    The token keeps its new state and the code's ``tag``; ``last_used`` moves
    only when the login is ``accepted``.  The first token's state is also the
    user's state's (:class:`~otpgate.store.records.UserState`).
    """
    token = found.token
    meta = replace(token.meta, last_otp=tag, last_used=now if accepted else token.meta.last_used)
    token = replace(token, state=found.match.state, meta=meta)
    state = record.state
    if token.meta.id == record.meta.id:
        state = replace(state, token=found.match.state)
    return state, token
