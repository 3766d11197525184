"""Challenge transactions: single use, expiring, bound to a user, shared by every gate.

The first leg of a challenge-response login sends the PIN alone; the gate
does not judge it then.  It keeps the PIN for the second leg, which sends
the code with the transaction id: PIN and code are then decided together by
the one Authenticator, code first, so the PIN is judged once and every wrong
PIN costs a guess of the user's budget like any other login (docs/privacyidea.md).

A transaction lives in the shared state (:meth:`~otpgate.state.base.SharedState.put_single`),
so a second leg may reach another worker or host, and is taken at most once
(``GETDEL`` in Redis).  What is stored there is useless without the
transaction id, which only the client holds: the entry's name is a keyed
digest of the id, and the user and PIN are encrypted (AES-GCM) with a key
derived from the id and the gate's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from ...state.base import SharedState

__all__ = ["Pending", "Transactions", "is_transaction_id"]

# privacyIDEA's transaction ids are 20 decimal digits; the clients pass them on
# as they are (RADIUS State, a hidden form field), so ours look the same.
DIGITS: Final = 20
_NONCE: Final = 12


def is_transaction_id(text: str) -> bool:
    """Whether ``text`` could be a transaction id (20 ASCII digits)."""
    return len(text) == DIGITS and text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class Pending:
    """A challenge waiting for its code: whose, and the PIN sent with the first leg."""

    user: str
    pin: str


class Transactions:
    """Opens and takes challenge transactions.

    Args:
        state: the shared state (single-use entries).
        secret: the gate's secret (every gate sharing the state has the same).
        ttl: seconds a transaction may be answered.
    """

    def __init__(self, state: SharedState, secret: bytes, ttl: float) -> None:
        self._state = state
        self._ttl = ttl
        self._names = hmac.new(secret, b"otpgate privacyidea transaction name", "sha256").digest()
        self._keys = hmac.new(secret, b"otpgate privacyidea transaction key", "sha256").digest()

    def open(self, pending: Pending, now: float) -> str | None:
        """A new transaction's id, or ``None`` if the shared state could not keep it."""
        tid = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
        name = self._name(tid)
        nonce = os.urandom(_NONCE)
        plain = json.dumps({"u": pending.user, "p": pending.pin}).encode()
        sealed = nonce + AESGCM(self._key(tid)).encrypt(nonce, plain, name)
        return tid if self._state.put_single(name, sealed, self._ttl, now) else None

    def take(self, tid: str, now: float) -> Pending | None:
        """The transaction's user and PIN, removed; ``None`` if unknown, expired or taken."""
        if not is_transaction_id(tid):
            return None
        name = self._name(tid)
        sealed = self._state.take_single(name, now)
        if sealed is None or len(sealed) <= _NONCE:
            return None
        try:
            plain = AESGCM(self._key(tid)).decrypt(sealed[:_NONCE], sealed[_NONCE:], name)
            data = json.loads(plain)
        except (InvalidTag, ValueError):
            return None  # another secret, or not ours: no transaction
        return Pending(str(data["u"]), str(data["p"]))

    def _name(self, tid: str) -> bytes:
        return hmac.new(self._names, tid.encode(), hashlib.sha256).digest()

    def _key(self, tid: str) -> bytes:
        return hmac.new(self._keys, tid.encode(), hashlib.sha256).digest()
