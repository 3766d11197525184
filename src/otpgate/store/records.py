"""What a store keeps about one user."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from ..otp.tokens import Token, TokenType
from ..otp.verify import TokenState

__all__ = ["Pin", "PinKind", "UserRecord", "UserState"]

PinKind = Literal["none", "delegated", "plain", "hash"]


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
