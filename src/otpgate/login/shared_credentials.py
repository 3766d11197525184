"""Known credentials between one process's linger memory and the shared state.

The sealed form lives in :mod:`otpgate.state.credentials` (the shared backends
know it); this module is the login side: what to share after an accepted
login, what to adopt from another gate, and which revocations to hear.
"""

from __future__ import annotations

from ..state.base import SharedState
from ..state.credentials import seal, unseal
from .linger import LingerMemory

__all__ = ["SharedCredentials"]


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
