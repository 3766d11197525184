"""A user's several OTP tokens, changed by themselves or by an administrator.

The pages and commands call these; each change is audited.  A new app's key
is made here (160 random bits, TOTP, 30 s, 6 digits: what every authenticator
app reads from a QR code); ``/account`` holds it pending
(:mod:`.pending_apps`) until a code from the app confirms it
(:meth:`TokenChanges.confirm_app`).  A user's last authenticator (OTP tokens
and passkeys counted together) is never removed
(:class:`~otpgate.errors.LastAuthenticator`).  :func:`listing` is the one
place that lists all of a user's authenticators, whatever their kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, cast

from ..errors import VerificationError
from ..otp.keys import new_key
from ..otp.tokens import TokenType, build_uri
from ..otp.verify import Policy, TokenState, verify
from ..store.authenticators import (
    AuthenticatorInfo,
    AuthenticatorKind,
    OtpToken,
    TokenMeta,
    check_token_name,
)
from ..store.passkeys import check_passkey_name, passkey_store

if TYPE_CHECKING:
    from ..store.base import SelfServiceStore, UserStore
    from ..store.records import UserRecord
    from .pending_apps import PendingApp

__all__ = [
    "APP_TYPE",
    "NewApp",
    "TokenChanges",
    "Write",
    "kind_of",
    "listing",
    "listing_of",
    "remove_authenticator",
    "rename_authenticator",
]

Write = Callable[[float, str, str, str, "str | None"], None]
"""Writes an audit line: (time, user, event, detail, client address)."""

APP_TYPE: Final = TokenType("HOTP", 30, 6)
"""What an app added on ``/account`` is: TOTP, 30-second steps, 6 digits, SHA-1."""


def listing(store: UserStore, user: str) -> list[AuthenticatorInfo] | None:
    """Every authenticator of ``user``, OTP tokens and passkeys alike, oldest first.

    What ``otpgate token list``, ``/account`` and the admin user page show
    (never a key).  ``None``: no such user.

    Raises:
        StoreError: the store failed.
    """
    record = store.get(user)
    return None if record is None else listing_of(store, record)


def listing_of(store: UserStore, record: UserRecord) -> list[AuthenticatorInfo]:
    """:func:`listing` for a record the caller has read already."""
    infos = record.authenticators()
    passkeys = passkey_store(store)
    if passkeys is not None:
        infos += [p.info() for p in passkeys.passkeys(record.username)]
    return sorted(infos, key=lambda i: (i.created, i.id))


def kind_of(store: UserStore, user: str, authenticator_id: str) -> AuthenticatorKind | None:
    """The kind of ``user``'s authenticator with this id, or ``None`` if they have none.

    Token ids and passkey ids differ in length, but both kinds are looked up:
    an id is the user's only if their store lists it.
    """
    found = listing(store, user) or []
    return next(
        (cast("AuthenticatorKind", i.kind) for i in found if i.id == authenticator_id), None
    )


def rename_authenticator(
    store: SelfServiceStore, user: str, authenticator_id: str, name: str
) -> AuthenticatorKind | None:
    """Rename ``user``'s token or passkey; its kind, or ``None`` if they have no such one.

    Raises:
        ValueError: the name is not allowed.
        StoreError: the store failed.
    """
    kind = kind_of(store, user, authenticator_id)
    if kind is None:
        return None
    if kind == "WEBAUTHN":
        keys = passkey_store(store)
        name = check_passkey_name(name)
        done = keys is not None and keys.rename_passkey(user, authenticator_id, name)
    else:
        done = store.rename_token(user, authenticator_id, check_token_name(name))
    return kind if done else None


def remove_authenticator(
    store: SelfServiceStore, user: str, authenticator_id: str
) -> AuthenticatorKind | None:
    """Remove ``user``'s token or passkey; its kind, or ``None`` if they have no such one.

    Raises:
        LastAuthenticator: it is their last authenticator, of any kind (the
            store checks and removes in one transaction).
        StoreError: the store failed.
    """
    kind = kind_of(store, user, authenticator_id)
    if kind == "WEBAUTHN":
        keys = passkey_store(store)
        done = keys is not None and keys.remove_passkey(user, authenticator_id)
    else:
        done = kind is not None and store.remove_token(user, authenticator_id)
    return kind if done else None


@dataclass(frozen=True, slots=True)
class NewApp:
    """A token just added: as kept, and its otpauth URI (shown once)."""

    token: OtpToken
    uri: str


class TokenChanges:
    """Add, rename and remove one user's tokens, with an audit line for each.

    Args:
        store: where the tokens live.
        write: writes the audit line of each change (events ``token_added``,
            ``token_renamed``, ``token_removed``).
        issuer: what authenticator apps show above the code.
    """

    def __init__(self, store: SelfServiceStore, write: Write, issuer: str) -> None:
        self.store = store
        self._write = write
        self.issuer = issuer

    def add_app(self, user: str, name: str, now: float, ip: str | None) -> NewApp:
        """A new TOTP token for ``user``'s app; its URI is for the one page that shows it.

        Raises:
            ValueError: the name is not allowed.
            StoreError: the store cannot hold another token (a users file).
        """
        check_token_name(name)
        key = new_key(20)
        kept = self.store.add_token(user, OtpToken(APP_TYPE, key, TokenMeta(name=name)))
        self._write(now, user, "token_added", f"{kept.meta.id} {kept.kind} {name}", ip)
        return NewApp(kept, build_uri(APP_TYPE, key, user, self.issuer))

    def uri(self, user: str, key: bytes) -> str:
        """The otpauth URI of a new app's ``key`` (for the QR code)."""
        return build_uri(APP_TYPE, key, user, self.issuer)

    def confirm_app(
        self, pending: PendingApp, code: str, now: float, ip: str | None, policy: Policy
    ) -> OtpToken | None:
        """Keep ``pending``'s app if ``code`` is one of its codes (within ``policy``'s window);
        the token kept, or ``None`` for a wrong code (nothing kept).

        The token is kept with the state that code leaves, so that code (and any
        older one) cannot sign in afterwards.

        Raises:
            StoreError: the store cannot hold another token (a users file), or failed.
        """
        token = OtpToken(APP_TYPE, pending.key, TokenMeta(name=pending.name))
        try:
            match = verify(token.token(), TokenState(), code, now=now, policy=policy)
        except VerificationError:
            return None
        kept = self.store.add_token(pending.user, replace(token, state=match.state))
        detail = f"{kept.meta.id} {kept.kind} {pending.name}"
        self._write(now, pending.user, "token_added", detail, ip)
        return kept

    def rename(self, user: str, token_id: str, name: str, now: float, ip: str | None) -> bool:
        """Rename a token or passkey; ``False`` if ``user`` has no such one.

        Raises:
            ValueError: the name is not allowed.
            StoreError: the store failed.
        """
        kind = rename_authenticator(self.store, user, token_id, name)
        if kind is not None:
            self._write(now, user, "token_renamed", f"{token_id} {kind} {name}", ip)
        return kind is not None

    def remove(self, user: str, token_id: str, now: float, ip: str | None) -> bool:
        """Remove a token or passkey; ``False`` if ``user`` has no such one.

        Raises:
            LastAuthenticator: it is the user's last authenticator, of any kind.
        """
        kind = remove_authenticator(self.store, user, token_id)
        if kind is not None:
            self._write(now, user, "token_removed", f"{token_id} {kind}", ip)
        return kind is not None
