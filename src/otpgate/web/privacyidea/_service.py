"""Service tokens: what ``POST /auth`` hands a plugin's service account, as a JWT (HS256).

Clients treat the token as opaque text and send it back in ``Authorization``
or ``PI-Authorization`` (with or without ``Bearer``).  It is a JWT so that
clients that read its expiry can; it is made and checked here (a header, a
payload and an HMAC-SHA256) rather than with a JWT library, because the gate
only ever verifies its own tokens: one algorithm, fixed, no key lookup, no
``alg`` taken from the token, nothing for a library's options to get wrong.

The only right a token carries is ``validate`` (``/validate/triggerchallenge``);
the key is derived from the gate's secrets, so every gate sharing them accepts
the tokens of the others, and rotating the secrets ends all tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["MAX_TOKEN", "ServiceTokens", "bearer"]

MAX_TOKEN: Final = 2048
_HEADER: Final = {"alg": "HS256", "typ": "JWT"}
_RIGHT: Final = "validate"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ServiceTokens:
    """Issues and checks service tokens.

    Args:
        secrets: the gate's secrets, newest last (the newest signs, all verify).
        lifetime: seconds a token is valid.
    """

    def __init__(self, secrets: Sequence[bytes], lifetime: float) -> None:
        label = b"otpgate privacyidea service token"
        self._keys = [hmac.new(s, label, hashlib.sha256).digest() for s in secrets]
        self.lifetime = lifetime

    def issue(self, username: str, now: float) -> str:
        """A token for ``username``, valid for :attr:`lifetime` seconds from ``now``."""
        claims = {
            "username": username,
            "role": "admin",
            "rights": [_RIGHT],
            "nbf": int(now),
            "exp": int(now + self.lifetime),
        }
        signed = _b64(json.dumps(_HEADER).encode()) + "." + _b64(json.dumps(claims).encode())
        tag = hmac.new(self._keys[-1], signed.encode("ascii"), hashlib.sha256).digest()
        return signed + "." + _b64(tag)

    def check(self, token: str, now: float) -> str | None:
        """The token's user name if it is ours, unexpired and has the right; else ``None``."""
        if len(token) > MAX_TOKEN or not token.isascii() or token.count(".") != 2:
            return None
        head, body, tag_text = token.split(".")
        try:
            tag = _unb64(tag_text)
            header: Any = json.loads(_unb64(head))
            claims: Any = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            return None
        signed = f"{head}.{body}".encode("ascii")
        good = False
        for key in self._keys:
            # No early exit: the time does not say which key signed.
            good |= hmac.compare_digest(hmac.new(key, signed, hashlib.sha256).digest(), tag)
        if not good or header != _HEADER or not isinstance(claims, dict):
            return None
        exp, nbf, user = claims.get("exp"), claims.get("nbf"), claims.get("username")
        if not isinstance(exp, int) or not isinstance(nbf, int) or not isinstance(user, str):
            return None
        rights = claims.get("rights")
        if not nbf - 60 <= now < exp or not isinstance(rights, list) or _RIGHT not in rights:
            return None
        return user


def bearer(value: str | None) -> str | None:
    """The token in an ``Authorization`` value (``Bearer`` optional, as clients differ)."""
    if not value:
        return None
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None
