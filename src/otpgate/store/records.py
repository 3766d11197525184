"""What a store keeps about one user."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from ..otp.tokens import Token, TokenType, parse_token_type
from ..otp.verify import TokenState

__all__ = ["TAG_PREFIX", "Pin", "PinKind", "UserRecord", "UserState", "stored_token_type"]

PinKind = Literal["none", "delegated", "plain", "hash"]

# Marks a last OTP kept as a keyed digest (the SQL stores' ``otp_tag``); a code
# (digits or hex) never holds a '$'.
TAG_PREFIX: Final = "$t1$"


@dataclass(frozen=True, slots=True)
class Pin:
    """How a user's PIN is checked.

    ``none`` (users file ``-``): the password is the OTP alone.
    ``delegated`` (users file ``+``): another checker (htpasswd, ...) verifies it.
    ``plain``: the literal PIN, as the reference users file keeps it.
    ``hash``: an argon2id hash (SQLite and PostgreSQL stores).
    """

    kind: PinKind
    value: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("none", "delegated", "plain", "hash"):
            raise ValueError(f"unknown PIN kind {self.kind!r}")
        if self.kind in ("none", "delegated") and self.value:
            raise ValueError(f"a {self.kind} PIN has no value")


@dataclass(frozen=True, slots=True)
class UserState:
    """The part of a record that logins change; written with compare-and-set.

    Attributes:
        token: the verification state (counter or drift, last accepted step).
        failures: consecutive failed OTPs (the reference module's counter).
        last_otp: the last accepted OTP (the reference layout keeps it; used
            for lingering).
        last_auth: Unix time of the last successful login.
        last_ip: client address of the last successful login.
        locked_until: Unix time until which logins are refused
            (``float('inf')`` for an administrator's lock), or ``None``.
        revoked_before: sessions and lingering credentials issued before this
            Unix time are no longer valid (logout, lock), or ``None``.
    """

    token: TokenState = field(default_factory=TokenState)
    failures: int = 0
    last_otp: str | None = None
    last_auth: float | None = None
    last_ip: str | None = None
    locked_until: float | None = None
    revoked_before: float | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One user and their token.

    ``version`` is opaque and belongs to the store that produced the record:
    compare-and-set succeeds only if the stored record still has it.
    """

    username: str
    token_type: TokenType
    key: bytes = field(repr=False)
    pin: Pin = field(default_factory=lambda: Pin("none"))
    state: UserState = field(default_factory=UserState)
    serial: str | None = None
    version: object = field(default=None, compare=False)

    def token(self) -> Token:
        return Token(self.token_type, self.key)

    def with_state(self, state: UserState) -> UserRecord:
        return replace(self, state=state)


def stored_token_type(text: str, t0: int = 0) -> TokenType:
    """A token type as a store keeps it: its spelling and (SQL stores) its T0.

    Short codes are read without a warning: they were warned about when the
    user was imported or added.

    Raises:
        ValueError: the text is no token type, or T0 is no whole number.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token_type = parse_token_type(text, allow_short=True)
    return replace(token_type, t0=int(t0)) if t0 else token_type
