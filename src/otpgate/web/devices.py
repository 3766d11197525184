"""Device cookies: a signed "this browser logged in as this user before".

OWASP's device cookies (see :mod:`otpgate.regulation.budget`): issued at a successful
login, a device cookie gives its browser a guess budget of its own for that
user, so strangers spending the user's budget from other addresses do not
lock it out.  It proves nothing else: it is not a session and never logs
anyone in.  It carries the user, a random nonce (the device's name in the
budget), when it was issued and the binding of the user record it was issued
for (:meth:`.sessions.SessionCodec.binding`, as a session carries it), signed
with the session secrets (the newest signs, all verify), so every gate
process sharing the secrets accepts it.  The binding is the caller's to
check against the record (:meth:`DeviceCookies.nonce`): a user removed and added again
under the same name, or given a new token, is another record, and the old
browser's cookie gives it no budget of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

from itsdangerous import URLSafeSerializer
from starlette.concurrency import run_in_threadpool

from .sessions import SessionCodec, signed_fields, verified

if TYPE_CHECKING:
    from ..login.authenticator import Authenticator
    from ..store.records import UserRecord
    from .http import CookieScope

__all__ = ["COOKIE", "Claim", "DeviceCodec", "DeviceCookies"]

COOKIE: Final = "otpgate_device"
_MAX_COOKIE: Final = 1024
# A cookie issued in the future: clock skew between gate hosts, a little of it.
_CLOCK_SKEW: Final = 60.0


class Claim(NamedTuple):
    """What a genuine, current device cookie says: its nonce and the record's binding."""

    nonce: str
    binding: str


class DeviceCodec:
    """Issues and checks device cookies.

    Args:
        secrets_: signing secrets, oldest first (the session secrets).
        lifetime: seconds a device cookie is honoured after it was issued;
            each successful login issues a fresh one.
    """

    def __init__(self, secrets_: Sequence[bytes], lifetime: float) -> None:
        # Its own salt: a session cookie is never a device cookie, nor the reverse.
        # v2 added the binding; a v1 cookie is no device cookie (the next login
        # issues a new one).
        self._serializer = URLSafeSerializer(list(secrets_), salt="otpgate.device.v2")
        self.lifetime = lifetime
        self._verified: dict[str, tuple[str, str, int, str]] = {}

    def issue(self, user: str, binding: str, now: float) -> str:
        """A new device cookie value for ``user``, whose record has ``binding``."""
        return self._serializer.dumps([user, secrets.token_urlsafe(12), int(now), binding])

    def claim(self, value: str | None, user: str, now: float) -> Claim | None:
        """The nonce and binding if ``value`` is a genuine, current cookie issued to ``user``."""
        # A Basic client sends its cookie with every request: the signature is
        # checked once, the owner and the times on every call.
        fields = verified(self._verified, value, _MAX_COOKIE, self._verify)
        if fields is None:
            return None
        owner, nonce, issued, binding = fields
        if owner != user or issued > now + _CLOCK_SKEW or now - issued > self.lifetime:
            return None
        return Claim(nonce, binding)

    def _verify(self, value: str) -> tuple[str, str, int, str] | None:
        data = signed_fields(self._serializer, value, 4)
        if data is None or not (
            isinstance(data[0], str)
            and isinstance(data[1], str)
            and isinstance(data[2], int)
            and not isinstance(data[2], bool)
            and isinstance(data[3], str)
            and data[3].isascii()
        ):
            return None
        return data[0], data[1], data[2], data[3]


@dataclass(frozen=True, slots=True)
class DeviceCookies:
    """The device cookie as the front ends use it: read against the user's record, issued.

    Attributes:
        codec: signs and checks the cookie's value.
        authenticator: where the user's record is read.
        sessions: the session codec, whose record binding a device cookie carries.
        scope: the cookie's domain and ``Secure`` flag (the session cookie's).
    """

    codec: DeviceCodec
    authenticator: Authenticator
    sessions: SessionCodec
    scope: CookieScope

    async def record(self, user: str, now: float) -> UserRecord | None:
        """The user's record: the Authenticator's recent read, else the store's (in a thread)."""
        record = self.authenticator.record(user, now=now, read=False)
        if record is None:
            record = await run_in_threadpool(self.authenticator.record, user, now=now)
        return record

    async def nonce(self, cookies: Mapping[str, str], user: str, now: float) -> str | None:
        """The nonce of the request's device cookie, if genuine and issued to ``user``'s
        current record (not to an earlier user of that name, nor for an earlier token)."""
        known, nonce = self.nonce_from_memory(cookies, user, now)
        if known:
            return nonce
        claim = self.codec.claim(cookies.get(COOKIE), user, now)
        record = await run_in_threadpool(self.authenticator.record, user, now=now)
        return self._nonce(claim, record)

    def nonce_from_memory(
        self, cookies: Mapping[str, str], user: str, now: float
    ) -> tuple[bool, str | None]:
        """:meth:`nonce` without I/O: (``False``, ``None``) when the record must be read."""
        claim = self.codec.claim(cookies.get(COOKIE), user, now)
        if claim is None:
            return True, None
        record = self.authenticator.record(user, now=now, read=False)
        if record is None:
            return False, None
        return True, self._nonce(claim, record)

    def _nonce(self, claim: Claim | None, record: UserRecord | None) -> str | None:
        if claim is None or record is None or not self.sessions.matches(claim.binding, record.key):
            return None
        return claim.nonce

    def header(self, user: str, binding: str, now: float) -> tuple[bytes, bytes]:
        """A ``Set-Cookie`` header with a new device cookie for ``user`` (ASGI header pair),
        whose record has ``binding`` (:meth:`SessionCodec.binding`).

        Sent after a fresh login: this browser then keeps a guess budget of its
        own for the user (:mod:`otpgate.regulation.budget`), whatever strangers spend.
        """
        value = self.codec.issue(user, binding, now)
        return self.scope.header(COOKIE, value, int(self.codec.lifetime))

    async def issue(self, user: str, now: float) -> tuple[bytes, bytes] | None:
        """:meth:`header` for the user's current record (just read by the decision)."""
        record = await self.record(user, now)
        if record is None:
            return None
        return self.header(user, self.sessions.binding(record.key), now)
