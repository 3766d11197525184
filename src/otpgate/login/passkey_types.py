"""The value types and errors of the passkey ceremonies, without the WebAuthn library.

:mod:`.passkeys` (which imports py_webauthn) re-exports them; the web pages
import them from here, so a gate with passkeys off never loads the library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import OTPGateError
from ..store.passkeys import Passkey

__all__ = ["LOGIN", "STEP_UP", "Assertion", "ClonedPasskey", "PasskeyRefused", "RelyingParty"]

LOGIN: Final = "login"
"""The purpose of a sign-in's challenge."""
STEP_UP: Final = "step-up"
"""The purpose of a challenge that confirms a change (PIN + passkey instead of PIN + code)."""


class PasskeyRefused(OTPGateError):
    """The answer does not sign in or register (why: for the audit log, never the client)."""


class ClonedPasskey(PasskeyRefused):
    """A genuine signature whose counter did not grow: the key is on two authenticators."""

    def __init__(self, passkey: Passkey, count: int) -> None:
        super().__init__(f"sign count {count} after {passkey.sign_count}")
        self.passkey = passkey
        self.count = count


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the passkeys are for (``web.webauthn_rp_id``, ``web.webauthn_origins``).

    Attributes:
        rp_id: the domain passkeys are bound to (the portal's host or a parent).
        origins: the exact origins (``https://auth.example.com``) pages are served from.
        name: shown by the browser when a passkey is made.
        secret: keys the user handles and the decoy credential ids.
    """

    rp_id: str
    origins: tuple[str, ...]
    name: str
    secret: bytes


@dataclass(frozen=True, slots=True)
class Assertion:
    """A verified sign-in: the passkey (as read before it), its new count, and whether
    the authenticator verified the user."""

    passkey: Passkey
    count: int
    user_verified: bool
