"""Signed session cookies and CSRF tokens.

A session cookie carries the user, when it was issued, when it was last seen
(for the sliding idle timeout), the client address and a binding to the user
record and gate instance, signed with the shared secret; so any gate process
or host with the same secret accepts it without a store read.  Revocation
(logout, lock) is the Authenticator's ``session_record``, which compares
``issued_at`` with the user's ``revoked_before``.

The binding (:meth:`SessionCodec.binding`) is an HMAC keyed with the user's
OTP key over the instance's name: a user removed and added again (a new
random key), or a user of another gate instance that shares the secret, does
not match.  Keyed with the OTP key, it tells someone holding the cookie no
more about that key than one observed OTP does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from itsdangerous import BadSignature, Signer, URLSafeSerializer

__all__ = ["CsrfGuard", "Session", "SessionCodec", "signed_fields", "verified"]

_T = TypeVar("_T")

MAX_COOKIE: Final = 4096
# A cookie issued in the future means a clock skew between gate hosts; a little
# is tolerated, more is an attack or a broken clock.
CLOCK_SKEW: Final = 60.0
VERIFIED_CACHE: Final = 4096
# v2 added the binding; cookies of v1 (no binding) no longer verify.
SALT: Final = "otpgate.session.v2"
# 128 bits: a collision between two keys of one user name is out of reach.
BINDING_BYTES: Final = 16


def _floor_ms(t: float) -> float:
    return math.floor(t * 1000) / 1000


def verified(
    cache: dict[str, _T], value: str | None, max_len: int, verify: Callable[[str], _T | None]
) -> _T | None:
    """What ``verify`` makes of a signed cookie ``value``, remembered in ``cache``.

    Checking the signature is the costly part of every request that carries the
    cookie, so a genuine value is verified once; the cache is bounded (the oldest
    entry goes first) and only ever holds values whose signature checked out.
    Empty or over-long values are refused before any work.
    """
    if not value or len(value) > max_len:
        return None
    result = cache.get(value)
    if result is None:
        result = verify(value)
        if result is None:
            return None
        if len(cache) >= VERIFIED_CACHE:
            del cache[next(iter(cache))]
        cache[value] = result
    return result


def signed_fields(serializer: URLSafeSerializer, value: str, count: int) -> list[Any] | None:
    """The list of ``count`` fields signed in ``value``, or ``None`` if the signature
    or the shape is wrong (the types of the fields are the caller's to check)."""
    try:
        data = serializer.loads(value)
    except (BadSignature, ValueError, TypeError):
        return None
    return data if isinstance(data, list) and len(data) == count else None


@dataclass(frozen=True, slots=True)
class Session:
    """A verified session cookie.

    Attributes:
        user: the authenticated name.
        issued_at: Unix time of the login.
        seen: Unix time the cookie was last refreshed.
        ip: the client address at login.
        binding: :meth:`SessionCodec.binding` of the user's record at login.
    """

    user: str
    issued_at: float
    seen: float
    ip: str
    binding: str = ""


class SessionCodec:
    """Signs and checks session cookies; knows nothing about users.

    Args:
        secrets_: signing secrets, oldest first; the newest signs, all verify.
        lifetime: seconds a session lasts from login.
        max_idle: seconds without a request after which it ends (sliding), or ``None``.
        instance: the gate instance's name; sessions of another instance do
            not match (:meth:`binding`).
    """

    def __init__(
        self,
        secrets_: Sequence[bytes],
        lifetime: float,
        max_idle: float | None,
        instance: str = "",
    ) -> None:
        self._serializer = URLSafeSerializer(list(secrets_), salt=SALT)
        self._instance = b"otpgate.session.binding\0" + instance.encode("utf-8", "surrogatepass")
        self.lifetime = lifetime
        self.max_idle = max_idle
        # Cookies whose signature was already checked: a signature check costs
        # more than the rest of a request, and a browser sends the same cookie
        # again and again.  Expiry and revocation are still checked every time.
        self._verified: dict[str, Session] = {}
        self._bindings: dict[bytes, str] = {}

    def binding(self, key: bytes) -> str:
        """The binding of a session to the user record with OTP key ``key``, here."""
        found = self._bindings.get(key)
        if found is None:
            mac = hmac.digest(key, self._instance, hashlib.sha256)[:BINDING_BYTES]
            found = base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")
            if len(self._bindings) >= VERIFIED_CACHE:
                self._bindings.clear()
            # Kept per key: every request of a session compares it (an HMAC each
            # time cost as much as the rest of the cookie check).
            self._bindings[key] = found
        return found

    def bound(self, session: Session, key: bytes) -> bool:
        """Whether ``session`` was issued for the record with OTP key ``key``, here."""
        return self.matches(session.binding, key)

    def matches(self, binding: str, key: bytes) -> bool:
        """Whether ``binding`` (from a signed cookie) is :meth:`binding` of ``key``."""
        return hmac.compare_digest(binding.encode(), self.binding(key).encode())

    def encode(self, session: Session) -> str:
        # Rounded down: a cookie must never look newer than it is, or a logout
        # in the same millisecond would not revoke it.
        return self._serializer.dumps(
            [
                session.user,
                _floor_ms(session.issued_at),
                _floor_ms(session.seen),
                session.ip,
                session.binding,
            ]
        )

    def decode(self, value: str | None, now: float) -> Session | None:
        """The session if the cookie is genuine and not expired, else ``None``."""
        session = verified(self._verified, value, MAX_COOKIE, self._verify)
        if session is None:
            return None
        if session.issued_at > now + CLOCK_SKEW or session.seen < session.issued_at:
            return None
        if now - session.issued_at > self.lifetime:
            return None
        if self.max_idle is not None and now - session.seen > self.max_idle:
            return None
        return session

    def _verify(self, value: str) -> Session | None:
        data = signed_fields(self._serializer, value, 5)
        if data is None or not (
            isinstance(data[0], str)
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in data[1:3])
            and isinstance(data[3], str)
            and isinstance(data[4], str)
            and data[4].isascii()
        ):
            return None
        return Session(data[0], float(data[1]), float(data[2]), data[3], data[4])

    def needs_refresh(self, session: Session, now: float) -> bool:
        """Whether to re-issue the cookie to slide the idle timeout.

        Not on every request: a cookie per request would make every response
        uncacheable and churn the proxies' headers for no gain.
        """
        if self.max_idle is None:
            return False
        return now - session.seen >= min(60.0, self.max_idle / 10)

    def max_age(self, session: Session, now: float) -> int:
        """Seconds the browser should keep the cookie."""
        left = self.lifetime - (now - session.issued_at)
        if self.max_idle is not None:
            left = min(left, self.max_idle)
        return max(int(left), 0)


class CsrfGuard:
    """Double-submit tokens bound to a signing secret and to the browser's session.

    The browser gets a random nonce in a cookie and, in each form, a token:
    an HMAC under the secret over the nonce and the session the page was
    shown with (its user, login time and record binding; none before a
    login).  A POST must bring both and come with the same session.  So a
    cookie planted by a sibling subdomain is useless without the secret, and
    even a nonce planted with its genuine token (the attacker's own, from the
    login page or their own session) was made for another session and fails
    in a signed-in browser.  Sliding the session changes nothing here: its
    last-seen time is not part of it.
    """

    def __init__(self, secrets_: Sequence[bytes]) -> None:
        self._signer = Signer(list(secrets_), salt="otpgate.csrf.v2")

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(18)

    @staticmethod
    def _message(nonce: str, session: Session | None) -> bytes:
        who = "" if session is None else f"{session.user}\0{session.issued_at!r}\0{session.binding}"
        return f"{nonce}\0{who}".encode("utf-8", "surrogatepass")

    def token(self, nonce: str, session: Session | None) -> str:
        """The form token for the nonce cookie's ``nonce``, in ``session`` (``None``: none)."""
        return self._signer.get_signature(self._message(nonce, session)).decode("ascii")

    def check(self, nonce: str | None, token: str | None, session: Session | None) -> bool:
        """Whether ``token`` was made for ``nonce`` and the same ``session`` (constant time)."""
        if not nonce or not token or len(nonce) > 64 or len(token) > 256:
            return False
        return self._signer.verify_signature(self._message(nonce, session), token)
