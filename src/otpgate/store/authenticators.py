"""A user's authenticators: the listing shape every kind shares, and the OTP token.

A user holds one or more authenticators (docs/accounts.md, "Several
authenticators").  :class:`AuthenticatorInfo` is what a listing shows of any
of them (the CLI's ``token list``, the account and admin pages), whatever its
kind; passkeys produce it too.  :class:`OtpToken` is one code-based token with
its key and the state verification keeps for it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Final, Literal

from .._limits import has_control
from ..otp.tokens import Token, TokenType
from ..otp.verify import TokenState

__all__ = [
    "KINDS",
    "MAX_NAME",
    "AuthenticatorInfo",
    "AuthenticatorKind",
    "OtpToken",
    "TokenMeta",
    "check_token_name",
    "cli_safe_id",
    "new_token_id",
    "otp_kind",
]

AuthenticatorKind = Literal["HOTP", "TOTP", "MOTP", "WEBAUTHN"]
KINDS: Final = ("HOTP", "TOTP", "MOTP", "WEBAUTHN")
MAX_NAME: Final = 64
"""The longest name a user may give an authenticator (characters)."""


def new_token_id() -> str:
    """A fresh authenticator id: 11 URL-safe characters (64 random bits).

    Wide enough that a store of millions of tokens does not repeat one; a store
    still checks, and refuses a taken id.  Never starts with ``-``, which a
    command line would take for an option (``otpgate token remove USER ID``).
    """
    return cli_safe_id(8)


def cli_safe_id(nbytes: int) -> str:
    """``secrets.token_urlsafe(nbytes)`` that does not start with ``-``."""
    while True:
        found = secrets.token_urlsafe(nbytes)
        if not found.startswith("-"):
            return found


def otp_kind(token_type: TokenType) -> AuthenticatorKind:
    """``TOTP`` (time steps), ``HOTP`` (a counter) or ``MOTP`` (Mobile-OTP)."""
    if token_type.kind == "MOTP":
        return "MOTP"
    return "TOTP" if token_type.is_time else "HOTP"


def check_token_name(name: object) -> str:
    """``name`` if an authenticator may have it: 1 to 64 characters, no control character.

    A name is shown on pages and in terminals and written to the audit log.

    Raises:
        ValueError: what is wrong with it.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("an authenticator needs a name")
    if len(name) > MAX_NAME:
        raise ValueError(f"an authenticator's name has at most {MAX_NAME} characters")
    if has_control(name):
        raise ValueError(f"an authenticator's name must not hold control characters: {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class AuthenticatorInfo:
    """One authenticator as a listing shows it; never a secret.

    Attributes:
        id: unique in the store; names it in ``token remove`` and on the pages.
        kind: ``HOTP``, ``TOTP``, ``MOTP`` or ``WEBAUTHN``.
        name: what the user or administrator called it.
        created: Unix time it was added (0 when not known: a users file).
        last_used: Unix time of its last accepted code, or ``None``.
    """

    id: str
    kind: str
    name: str
    created: float
    last_used: float | None


@dataclass(frozen=True, slots=True)
class TokenMeta:
    """What tells one OTP token from the user's others.

    Attributes:
        id: unique in the store; ``""`` until a store gives it one.
        name: what the user or administrator called it.
        created: Unix time it was added; ``0.0`` until a store stamps it.
        last_used: Unix time of the last code accepted from it.
        last_otp: the last code accepted from it, as the store keeps it
            (``Store.otp_tag``).
    """

    id: str = ""
    name: str = "token"
    created: float = 0.0
    last_used: float | None = None
    last_otp: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class OtpToken:
    """One code-based token: how it computes codes, its key, and what verification keeps."""

    token_type: TokenType
    key: bytes = field(repr=False)
    meta: TokenMeta = field(default_factory=TokenMeta)
    state: TokenState = field(default_factory=TokenState)
    serial: str | None = None

    @property
    def kind(self) -> AuthenticatorKind:
        return otp_kind(self.token_type)

    def token(self) -> Token:
        return Token(self.token_type, self.key)

    def info(self) -> AuthenticatorInfo:
        m = self.meta
        return AuthenticatorInfo(m.id, self.kind, m.name, m.created, m.last_used)
