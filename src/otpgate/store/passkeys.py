"""Passkeys (WebAuthn credentials): the record and the store protocol.

A passkey is a public key an authenticator made for this gate's RP ID; the
private key never leaves the authenticator.  Nothing here is secret: the
public key and the credential id are stored in the clear.  What must be exact
is the signature counter: :meth:`PasskeyStore.use_passkey` writes a new count
only if the stored one is still the one the caller read (compare-and-set), so
of two sign-ins with one assertion only one goes through.

The memory store (:mod:`._passkeys_memory`) and the SQL stores
(:mod:`._sql.passkeys`) keep passkeys; the mod_authn_otp users file cannot
(:class:`NoPasskeys` refuses to add one with a clear error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from .._limits import has_control
from ..errors import StoreError
from .authenticators import AuthenticatorInfo, cli_safe_id

__all__ = [
    "MAX_NAME",
    "NoPasskeys",
    "Passkey",
    "PasskeyStore",
    "PasskeysUnsupported",
    "check_passkey_name",
    "keeps_passkeys",
    "new_passkey_id",
    "passkey_store",
]

MAX_NAME: Final = 64
KIND: Final = "WEBAUTHN"


class PasskeysUnsupported(StoreError):
    """The store cannot keep passkeys (the mod_authn_otp users file)."""


def new_passkey_id() -> str:
    """A short random id a user or an administrator can name a passkey by (never
    starting with ``-``, which a command line would take for an option)."""
    return cli_safe_id(6)


def check_passkey_name(name: str) -> str:
    """``name`` stripped, checked: 1 to :data:`MAX_NAME` characters, no control characters.

    Raises:
        ValueError: it is empty, too long or holds a control character.
    """
    name = name.strip()
    if not name or len(name) > MAX_NAME or has_control(name):
        raise ValueError(f"a passkey's name must be 1 to {MAX_NAME} printable characters")
    return name


@dataclass(frozen=True, slots=True)
class Passkey:
    """One registered WebAuthn credential.

    Attributes:
        id: short random id (:func:`new_passkey_id`), unique in the store.
        user: the user it signs in.
        credential_id: the authenticator's credential id (unique in the store).
        public_key: the COSE public key.
        sign_count: the authenticator's signature counter as last seen (0: it
            keeps none).
        transports: how the browser reached the authenticator (hints only).
        aaguid: the authenticator model's id, as text (zeros when not told).
        name: what the user called it.
        created: Unix time of registration.
        last_used: Unix time of the last sign-in with it, or ``None``.
    """

    id: str
    user: str
    credential_id: bytes = field(repr=False)
    public_key: bytes = field(repr=False)
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    name: str
    created: float
    last_used: float | None = None

    def info(self) -> AuthenticatorInfo:
        """The listing shape shared with the other kinds of authenticator (kind ``WEBAUTHN``)."""
        return AuthenticatorInfo(self.id, KIND, self.name, self.created, self.last_used)


@runtime_checkable
class PasskeyStore(Protocol):
    """Users' passkeys.  Every method raises StoreError if the store fails."""

    def add_passkey(self, passkey: Passkey) -> None:
        """Keep a new passkey.

        Raises:
            UnknownUser: no such user.
            StoreError: its id or credential id is taken; the store keeps no passkeys
                (:class:`PasskeysUnsupported`).
        """

    def passkeys(self, username: str) -> list[Passkey]:
        """The user's passkeys, oldest first (none for an unknown user)."""

    def find_passkey(self, credential_id: bytes) -> Passkey | None:
        """The passkey with this credential id (a sign-in without a user name), or ``None``."""

    def use_passkey(self, passkey_id: str, expected_count: int, new_count: int, now: float) -> bool:
        """Set the sign count and last use, only if the count is still ``expected_count``."""

    def rename_passkey(self, username: str, passkey_id: str, name: str) -> bool:
        """Rename the user's passkey; ``False`` if the user has none with this id."""

    def remove_passkey(self, username: str, passkey_id: str) -> bool:
        """Remove the user's passkey; ``False`` if the user has none with this id.

        Raises:
            LastAuthenticator: it is the user's last authenticator (OTP tokens count too).
        """


class NoPasskeys:
    """:class:`PasskeyStore` for a store that cannot keep any: it has none, and refuses one."""

    def add_passkey(self, passkey: Passkey) -> None:
        raise PasskeysUnsupported(
            "the users file (mod_authn_otp's format) cannot keep passkeys: "
            "use an SQLite or PostgreSQL store (otpgate transfer) for passkeys"
        )

    def passkeys(self, username: str) -> list[Passkey]:
        return []

    def find_passkey(self, credential_id: bytes) -> Passkey | None:
        return None

    def use_passkey(self, passkey_id: str, expected_count: int, new_count: int, now: float) -> bool:
        return False

    def rename_passkey(self, username: str, passkey_id: str, name: str) -> bool:
        return False

    def remove_passkey(self, username: str, passkey_id: str) -> bool:
        return False


def keeps_passkeys(store: object) -> bool:
    """Whether ``store`` (or the store a :class:`~.timed.TimedStore` wraps) keeps passkeys."""
    return passkey_store(store) is not None


def passkey_store(store: object) -> PasskeyStore | None:
    """``store`` (or the store a :class:`~.timed.TimedStore` wraps) if it keeps passkeys."""
    inner = getattr(store, "inner", store)
    if isinstance(inner, PasskeyStore) and not isinstance(inner, NoPasskeys):
        return inner
    return None
