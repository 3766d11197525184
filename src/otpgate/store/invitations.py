"""Invitations: single-use, expiring, revocable links to enrol a token.

An administrator (``otpgate user invite``) or the lost-token page makes an
invitation for one user name.  Its link carries a random token of 256 bits;
the store keeps only a digest of it, so a copy of the database cannot be
turned into working links.  The user opens the link, chooses a PIN, and the
server makes the new secret (kept *pending*, encrypted like every other key,
on the invitation); a current code from the new token confirms it, and only
then the user record is created or, for a ``reset``, its token replaced: until
that moment an existing token keeps working.

A link belongs to what it was made for.  A ``reset`` carries the
:func:`record_binding` of the user record it replaces: a user removed and
added again, or given another token meanwhile (by a sibling link, say), is
another record, and the link is dead.  A new user's link needs the name to be
free when it is used.

Life of an invitation (:attr:`Invitation.status`)::

    open --PIN chosen--> pending --code confirmed--> used
      \\________________________\\__revoked / expired: refused

Pure: no I/O, time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from ..otp.tokens import TokenType
from .records import Pin

__all__ = [
    "DEFAULT_EXPIRY",
    "LIVE",
    "STATUSES",
    "TOKEN_BYTES",
    "Invitation",
    "digest",
    "new_token",
    "parse_duration",
    "record_binding",
    "token_shape_ok",
]

Status = Literal["open", "pending", "used", "revoked"]
STATUSES: Final = ("open", "pending", "used", "revoked")
# The statuses of a link that may still be used (if not expired).
LIVE: Final = ("open", "pending")
# 256 random bits: far beyond guessing, online or against a stolen digest.
TOKEN_BYTES: Final = 32
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
_DURATION_RE: Final = re.compile(r"([0-9]{1,6})([smhdw]?)", re.ASCII)
_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_EXPIRY: Final = 90 * 86400
# How long a link works unless the administrator says otherwise, in the browser
# and at the terminal alike: a day is enough to pass it on and use it, and a
# link forgotten in a mailbox stops working soon.
DEFAULT_EXPIRY: Final = 24 * 3600.0
# 128 bits: two keys of one user colliding is out of reach.
_BINDING_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class Invitation:
    """One invitation as a store keeps it.

    Attributes:
        digest: hex SHA-256 of the link's token (the key it is found by).
        username: who may enrol.
        token_type: the kind of token the user will get.
        created: Unix time it was made.
        expires: Unix time after which it is refused.
        reset: replace an existing user's token (the old one works until then).
        status: ``open``, ``pending``, ``used`` or ``revoked``.
        pending_key: the secret made for the user, once a PIN was chosen.
        pending_pin: the PIN chosen, in the form the store keeps PINs.
        record: for a reset, :func:`record_binding` of the record it was made
            for; empty for a new user.
        version: store-owned, for compare-and-set.
    """

    digest: str
    username: str
    token_type: TokenType
    created: float
    expires: float
    reset: bool = False
    status: Status = "open"
    pending_key: bytes | None = field(default=None, repr=False)
    pending_pin: Pin | None = field(default=None, repr=False)
    record: str = field(default="", repr=False)
    version: object = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown invitation status {self.status!r}")
        if (self.pending_key is None) != (self.pending_pin is None):
            raise ValueError("a pending key and PIN come together")

    def usable(self, now: float) -> bool:
        """Not used, not revoked and not expired."""
        return self.status in LIVE and now < self.expires

    def with_status(self, status: Status) -> Invitation:
        return replace(self, status=status)

    def revoked(self) -> Invitation:
        """Revoked, without the secret and PIN made for it (nobody will need them)."""
        return replace(self, status="revoked", pending_key=None, pending_pin=None)


def new_token() -> str:
    """A fresh link token: 43 URL-safe characters (256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_shape_ok(token: str) -> bool:
    """Whether ``token`` looks like one :func:`new_token` makes (checked before any lookup)."""
    return _TOKEN_RE.fullmatch(token) is not None


def digest(token: str) -> str:
    """The stored form of a link token.

    A fast hash is enough: 256 random bits cannot be searched offline.
    """
    h = hashlib.sha256(b"otpgate-invitation-v1\0")
    h.update(token.encode("ascii", "replace"))
    return h.hexdigest()


def record_binding(key: bytes, digest: str) -> str:
    """What ties the invitation with ``digest`` to the user record with OTP key ``key``.

    An HMAC keyed with the OTP key, as the session's binding is: a record
    removed and added again, or given a new token, has another key (160
    random bits when otpgate makes it), so it does not match.  Over the
    invitation's digest, so two links for one record carry unrelated values;
    finding the key from the stored value is a search of the key's own bits.
    """
    message = b"otpgate.invitation.record\0" + digest.encode("ascii", "replace")
    mac = hmac.digest(key, message, hashlib.sha256)[:_BINDING_BYTES]
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def parse_duration(text: str) -> float:
    """``"30m"``, ``"12h"``, ``"7d"``, ``"2w"`` or seconds, as seconds.

    Raises:
        ValueError: malformed, zero, or longer than 90 days.
    """
    m = _DURATION_RE.fullmatch(text.strip().lower())
    if m is None:
        raise ValueError(f"{text!r} is not a duration such as 30m, 12h, 7d or 2w")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not 0 < seconds <= MAX_EXPIRY:
        raise ValueError("an invitation must expire after 1 second to 90 days")
    return float(seconds)
