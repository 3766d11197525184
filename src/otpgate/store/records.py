"""What a store keeps about one user."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from ..otp.tokens import Token, TokenType, parse_token_type
from ..otp.verify import TokenState
from .authenticators import AuthenticatorInfo, OtpToken, TokenMeta, otp_kind

__all__ = [
    "NO_TOKEN_TYPE",
    "TAG_PREFIX",
    "AuthenticatorInfo",
    "OtpToken",
    "Pin",
    "PinKind",
    "TokenMeta",
    "UserRecord",
    "UserState",
    "otp_kind",
    "stored_token_type",
]

PinKind = Literal["none", "delegated", "plain", "hash"]

# Marks a last OTP kept as a keyed digest (the SQL stores' ``otp_tag``); a code
# (digits or hex) never holds a '$'.
TAG_PREFIX: Final = "$t1$"

# What a record with no OTP token (a passkey-only user) says its type is: the
# type a new app gets, so a reset link makes one and nothing shown tells such
# a user from another.
NO_TOKEN_TYPE: Final = TokenType("HOTP", 30, 6)


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
        token: the verification state (counter or drift, last accepted step)
            of the user's first token (:meth:`UserRecord.first`); the others
            keep theirs in :attr:`OtpToken.state`.
        failures: consecutive failed OTPs (the reference module's counter).
        last_otp: the last accepted OTP, from whichever token (the reference
            layout keeps it; used for lingering).
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
    """One user, their PIN and their OTP tokens (none: a passkey-only user).

    ``token_type``, ``key``, ``serial``, ``meta`` and ``state.token`` are the
    user's first token (the one a users file holds, the one the admin
    commands reset); ``more`` are the others.  :meth:`tokens` gives them all
    alike.  A user who signs in with passkeys only holds no OTP token: an
    empty ``key`` says so (a real token's key is never empty;
    :meth:`without_tokens`), and :meth:`tokens` is then empty.  ``version``
    is opaque and belongs to the store that produced the record:
    compare-and-set succeeds only if the stored record still has it; every
    change of any of the user's tokens gives a new one.
    """

    username: str
    token_type: TokenType
    key: bytes = field(repr=False)
    pin: Pin = field(default_factory=lambda: Pin("none"))
    state: UserState = field(default_factory=UserState)
    serial: str | None = None
    version: object = field(default=None, compare=False)
    meta: TokenMeta = field(default_factory=TokenMeta)
    more: tuple[OtpToken, ...] = ()

    @property
    def has_token(self) -> bool:
        """Whether the user holds any OTP token (a passkey-only user does not)."""
        return bool(self.key)

    def token(self) -> Token:
        """The first token, ready to compute codes.

        Raises:
            ValueError: the user holds no OTP token.
        """
        if not self.key:
            raise ValueError(f"{self.username!r} holds no OTP token")
        return Token(self.token_type, self.key)

    def with_state(self, state: UserState) -> UserRecord:
        return replace(self, state=state)

    def first(self) -> OtpToken:
        """The first token, as the others are kept.

        Raises:
            ValueError: the user holds no OTP token.
        """
        if not self.key:
            raise ValueError(f"{self.username!r} holds no OTP token")
        return OtpToken(self.token_type, self.key, self.meta, self.state.token, self.serial)

    def tokens(self) -> tuple[OtpToken, ...]:
        """Every OTP token of the user, the first one first (none: passkeys only)."""
        if not self.key:
            return ()
        return (self.first(), *self.more)

    def authenticators(self) -> list[AuthenticatorInfo]:
        """What a listing shows of each token (never a key)."""
        return [t.info() for t in self.tokens()]

    def find(self, token_id: str) -> OtpToken | None:
        """The token with this id, or ``None``."""
        return next((t for t in self.tokens() if t.meta.id == token_id), None)

    def with_tokens(self, tokens: Sequence[OtpToken]) -> UserRecord:
        """The record holding exactly ``tokens`` (the first one first; none: passkeys only)."""
        if not tokens:
            return self.without_tokens()
        head, *rest = tokens
        if not head.key:
            raise ValueError(f"a token of {self.username!r} has an empty key")
        state = replace(self.state, token=head.state)
        return replace(
            self,
            token_type=head.token_type,
            key=head.key,
            serial=head.serial,
            meta=head.meta,
            state=state,
            more=tuple(rest),
        )

    def without_tokens(self) -> UserRecord:
        """The record holding no OTP token (a user who signs in with passkeys only)."""
        state = replace(self.state, token=TokenState())
        return replace(
            self,
            token_type=NO_TOKEN_TYPE,
            key=b"",
            serial=None,
            meta=TokenMeta(),
            state=state,
            more=(),
        )

    @classmethod
    def passkeys_only(cls, username: str, pin: Pin, state: UserState | None = None) -> UserRecord:
        """A new user with a PIN and no OTP token: they enrolled a passkey instead."""
        return cls(username, NO_TOKEN_TYPE, b"", pin, state or UserState()).without_tokens()

    def with_token(self, token: OtpToken) -> UserRecord:
        """The record with the token of ``token``'s id replaced by it (else unchanged)."""
        return self.with_tokens([token if t.meta.id == token.meta.id else t for t in self.tokens()])


# Every store read parses its tokens' types; the few spellings in use parse once
# (a TokenType is frozen, so one object serves every record).
@functools.lru_cache(maxsize=256)
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
