"""Single-use values that expire (WebAuthn challenges), shared through the ``[state]``.

A challenge is made by one request and answered by the next, which may reach
another worker or host.  With Redis (``[state] url = "redis://..."``) every
process finds it there, and ``GETDEL`` hands it to one taker only; with the
one-host file (``sqlite:///``, what ``serve --workers N`` uses by default)
every worker of the host finds it, ``DELETE ... RETURNING`` handing it to one;
otherwise it lives in this process's memory (one process).  Either way a value is taken once, and
not after its ``expires`` time; a value that cannot be kept (Redis away) is
reported, so the caller refuses instead of issuing a challenge nobody can
check.
"""

from __future__ import annotations

import secrets

from .base import SharedState

__all__ = ["Challenges"]

# Challenges share the state's single-use entries with other kinds (privacyIDEA's
# transactions): their keys are apart.
_NAMESPACE = b"webauthn-challenge:"


class Challenges:
    """Single-use values by random handle, for ``ttl`` seconds.

    Kept with the state's single-use entries
    (:meth:`~otpgate.state.base.SharedState.put_single`, ``take_single``): in this
    process, in the one-host file or in Redis, as ``[state]`` says.  The expiry is
    also stamped into the value, so that it holds at its exact edge on the clock the
    caller passes, whatever the backend's own clock.

    Args:
        state: the ``[state]``.
        ttl: seconds a value can be taken after it was put.
    """

    def __init__(self, state: SharedState, ttl: float = 120.0) -> None:
        self.ttl = ttl
        self._state = state

    @property
    def shared(self) -> bool:
        """Whether other processes find the values (Redis, the one-host file)."""
        return bool(self._state.shared)

    def put(self, value: bytes, now: float) -> str | None:
        """Keep ``value`` until ``now + ttl``; its new handle, or ``None`` if it cannot be kept."""
        handle = secrets.token_urlsafe(18)
        stamped = repr(now + self.ttl).encode() + b"|" + value
        kept = self._state.put_single(_NAMESPACE + handle.encode(), stamped, self.ttl, now)
        return handle if kept else None

    def take(self, handle: str, now: float) -> bytes | None:
        """The value of ``handle`` if it is still there and not expired; gone either way."""
        if not isinstance(handle, str) or not 0 < len(handle) <= 64:
            return None
        stamped = self._state.take_single(_NAMESPACE + handle.encode(), now)
        if stamped is None:
            return None
        expires, _, value = stamped.partition(b"|")
        try:
            alive = now < float(expires)
        except ValueError:
            return None
        return value if alive else None
