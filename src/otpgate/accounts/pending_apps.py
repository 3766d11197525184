"""A new app's key held until a code from the app confirms it: sealed, single use, expiring.

``/account``'s "add an app" no longer stores the token at once: a user who
never scans the QR code (or a thief with a session, the PIN and a code, who
scans it for himself) would leave a live token behind.  The key waits in
the ``[state]``'s single-use entries (:meth:`~otpgate.state.base.SharedState.put_single`,
as WebAuthn challenges do), so the confirmation may reach another worker or
host, and ``GETDEL`` (Redis) or ``DELETE ... RETURNING`` (the one-host file)
hands it to one request only.  Nothing stored there is of use without the
handle, which only the browser holds: the entry's name is a keyed digest of
the handle, and the key, user and session tag are encrypted (AES-GCM) with a
key derived from the handle and the gate's secret.

A pending key is bound to the user and to the session that asked for it
(another user's handle, or the same user's from another browser or after a
PIN change, is refused), expires :data:`TTL` seconds after the app was asked
for (a retry does not extend that), and may be answered with a wrong code
:data:`TRIES` times at most: each wrong code puts the same key back under a
new handle (the old one is used up), counting the try.  Abandoned keys simply
expire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from ..state.base import SharedState

__all__ = ["TRIES", "TTL", "PendingApp", "PendingApps"]

TTL: Final = 600.0
"""Seconds a new app's key waits for its first code."""
TRIES: Final = 5
"""Wrong codes a pending key survives; the next one ends it (and the guess budget counts each)."""

_NONCE: Final = 12
_MAX_HANDLE: Final = 64


@dataclass(frozen=True, slots=True)
class PendingApp:
    """A new app's key waiting for its first code.

    Attributes:
        user: whose it is.
        session: the tag of the session that asked for it (:meth:`PendingApps.session_tag`).
        name: the name the user gave the app.
        key: the new key (20 random bytes).
        expires: when it can no longer be confirmed (Unix time).
        tries: wrong codes given so far.
    """

    user: str
    session: str
    name: str
    key: bytes
    expires: float
    tries: int = 0


class PendingApps:
    """Keeps and takes pending app keys in the ``[state]``.

    Args:
        state: the shared state (single-use entries).
        secret: the gate's secret (every gate sharing the state has the same).
        ttl: seconds a key waits for its code.
        tries: wrong codes a key survives.
    """

    def __init__(
        self, state: SharedState, secret: bytes, ttl: float = TTL, tries: int = TRIES
    ) -> None:
        self._state = state
        self.ttl = ttl
        self.tries = tries
        self._names = hmac.digest(secret, b"otpgate pending app name", hashlib.sha256)
        self._keys = hmac.digest(secret, b"otpgate pending app key", hashlib.sha256)

    @staticmethod
    def session_tag(issued_at: float, binding: str) -> str:
        """What binds a pending key to one session: when it was issued, and its binding."""
        return hashlib.sha256(f"{issued_at!r}|{binding}".encode()).hexdigest()[:32]

    def begin(
        self, user: str, session: str, name: str, now: float
    ) -> tuple[str, PendingApp] | None:
        """A new key for ``user``'s app named ``name``: (handle, pending), or ``None`` if
        the shared state cannot keep it (the caller refuses then)."""
        pending = PendingApp(user, session, name, os.urandom(20), now + self.ttl)
        handle = self._put(pending, now)
        return None if handle is None else (handle, pending)

    def take(self, handle: str, user: str, session: str, now: float) -> PendingApp | None:
        """The pending key of ``handle``, used up; ``None`` if unknown, taken, expired, or
        not ``user``'s from this ``session``."""
        if not isinstance(handle, str) or not 0 < len(handle) <= _MAX_HANDLE:
            return None
        name = self._name(handle)
        sealed = self._state.take_single(name, now)
        if sealed is None or len(sealed) <= _NONCE:
            return None
        try:
            plain = AESGCM(self._key(handle)).decrypt(sealed[:_NONCE], sealed[_NONCE:], name)
            data = json.loads(plain)
            pending = PendingApp(
                str(data["u"]),
                str(data["s"]),
                str(data["n"]),
                bytes.fromhex(data["k"]),
                float(data["e"]),
                int(data["t"]),
            )
        except (InvalidTag, ValueError, KeyError, TypeError):
            return None  # another secret, or not ours
        if now >= pending.expires:
            return None
        mine = hmac.compare_digest(pending.user.encode(), user.encode())
        if not (mine and hmac.compare_digest(pending.session, session)):
            return None
        return pending

    def again(self, pending: PendingApp, now: float) -> str | None:
        """After a wrong code: the same key under a new handle, one more try counted;
        ``None`` when the tries are spent or the key expired (it is gone then)."""
        tried = replace(pending, tries=pending.tries + 1)
        if tried.tries >= self.tries or now >= tried.expires:
            return None
        return self._put(tried, now)

    def kept(self, pending: PendingApp, now: float) -> str | None:
        """The same key under a new handle, no try counted (a throttled answer, unjudged)."""
        return None if now >= pending.expires else self._put(pending, now)

    def _put(self, pending: PendingApp, now: float) -> str | None:
        handle = secrets.token_urlsafe(24)
        name = self._name(handle)
        nonce = os.urandom(_NONCE)
        plain = json.dumps(
            {
                "u": pending.user,
                "s": pending.session,
                "n": pending.name,
                "k": pending.key.hex(),
                "e": pending.expires,
                "t": pending.tries,
            }
        ).encode()
        sealed = nonce + AESGCM(self._key(handle)).encrypt(nonce, plain, name)
        ttl = pending.expires - now
        return handle if self._state.put_single(name, sealed, ttl, now) else None

    def _name(self, handle: str) -> bytes:
        return b"pending-app:" + hmac.digest(self._names, handle.encode(), hashlib.sha256)

    def _key(self, handle: str) -> bytes:
        return hmac.digest(self._keys, handle.encode(), hashlib.sha256)
