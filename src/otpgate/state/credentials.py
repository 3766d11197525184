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
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..otp.algorithms import HmacKey

if TYPE_CHECKING:
    from ..login.linger import LingerMemory
    from .base import SharedState

__all__ = ["KnownCredential", "SharedCredentials", "seal", "unseal"]

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


class SharedCredentials:
    """Known credentials between one process's linger memory and the shared state.

    Also hears revocations for that memory: a user named by another process
    is forgotten, and everything when revocations may have been missed.

    Args:
        state: the shared state; with one that shares no credentials every
            method does nothing.
        memory: the process's lingering credentials (its key seals entries).
    """

    def __init__(self, state: SharedState, memory: LingerMemory) -> None:
        self.state = state
        self.memory = memory
        self.on = state.shares_credentials
        if self.on:
            # Looked up per call, so that a wrapper set on the memory is called.
            state.listen(lambda user: memory.forget(user), lambda: memory.clear())

    def share(self, digest: bytes, now: float) -> None:
        """Tell the other processes about a credential just accepted here, for its window."""
        known = self.memory.known(digest) if self.on else None
        if known is None:
            return
        s = self.memory.settings
        ttl = known.first_use + (s.max_idle if s.max_idle is not None else s.max_linger) - now
        if ttl > 0:
            self.state.put_credential(digest, seal(self.memory.mac, digest, known), ttl)

    def adopt(self, digest: bytes, user: str, value: bytes | None) -> bool:
        """Take over a credential another process accepted; whether there was one.

        ``value`` is its entry as read from the shared state
        (:meth:`~otpgate.state.base.SharedState.ask` reads it along with the
        attempt's other reads).  The caller still decides with a store read
        whether it lingers.
        """
        if not self.on or not digest or value is None:
            return False
        known = unseal(self.memory.mac, digest, value)
        if known is None or known.user != user:
            return False
        self.memory.adopt(digest, known)
        return True
