"""Known credentials in the shared state: sealed entries, so Redis cannot forge one.

A process that accepted a PIN+OTP stores, under the keyed digest of user +
password (never the password), who it was, when it was first used, from
where, and the fingerprint of the user's key, PIN and token.  Another
process that meets the same credential reads the entry instead of checking
the PIN again (a PIN hash); the store read that follows still decides
whether it lingers (window, lock, logout, fingerprint).

The entry is sealed with an HMAC under the same key as the digest (shared by
every gate, derived from the session secret or the store's key file): a
process accepts only entries another gate wrote for this very digest, so
whoever can write to Redis can neither make up a credential nor move one to
another digest or stretch its first use.

:class:`otpgate.login.shared_credentials.SharedCredentials` moves entries between
a process's linger memory and the shared state.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Final

from ..otp.algorithms import HmacKey

__all__ = ["KnownCredential", "seal", "unseal"]

_TAG: Final = 32  # HMAC-SHA256


@dataclass(frozen=True, slots=True)
class KnownCredential:
    """An accepted credential as another process saw it."""

    user: str
    first_use: float
    ip: str
    fingerprint: bytes


def _tag(mac: HmacKey, digest: bytes, payload: bytes) -> bytes:
    return mac.digest(b"known\0" + digest + payload)


def seal(mac: HmacKey, digest: bytes, entry: KnownCredential) -> bytes:
    """The stored form: tag followed by a small JSON object."""
    payload = json.dumps(
        {"u": entry.user, "f": entry.first_use, "i": entry.ip, "p": entry.fingerprint.hex()},
        separators=(",", ":"),
    ).encode()
    return _tag(mac, digest, payload) + payload


def unseal(mac: HmacKey, digest: bytes, value: bytes) -> KnownCredential | None:
    """The entry, or ``None`` if it was not sealed by a gate for this digest."""
    tag, payload = value[:_TAG], value[_TAG:]
    if len(tag) != _TAG or not hmac.compare_digest(tag, _tag(mac, digest, payload)):
        return None
    try:
        data = json.loads(payload)
        return KnownCredential(
            str(data["u"]), float(data["f"]), str(data["i"]), bytes.fromhex(data["p"])
        )
    except (ValueError, KeyError, TypeError):
        return None
