"""After a login: whether a session still stands, the record a cookie is bound to, logout."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..errors import StoreError
from ..state.base import SharedState
from ..store.base import Store
from ..store.records import UserRecord
from . import compare_and_set as settle
from . import user_state
from .linger import LingerMemory, Snapshot

__all__ = ["Sessions"]

log = logging.getLogger(__name__)


class Sessions:
    """Sessions and logout for one Authenticator; thread-safe.

    Args:
        store: where users live.
        state: shared with other gates (revocations).
        memory: the process's lingering credentials and recent reads.
        read: a recent read of a user, else a store read (``Decider.read``).
    """

    def __init__(
        self,
        store: Store,
        state: SharedState,
        memory: LingerMemory,
        read: Callable[[str, float], Snapshot],
    ) -> None:
        self.store = store
        self.state = state
        self._memory = memory
        self._read = read

    def logout(self, user: str, now: float) -> None:
        """Forget lingering credentials and revoke sessions issued before now.

        Raises:
            StoreError: the store could not be read or written.
        """
        self._memory.forget(user)
        stamp = self.store.stamp()
        record = self.store.get(user)
        if record is None:
            return
        _, new = settle.settle(self.store, user, record, settle.log_out(now))
        self._memory.remember(user, new, now, stamp)
        self.state.revoke(user)  # written first: whoever hears it and re-reads sees it

    def session_record(self, user: str, issued_at: float, now: float) -> UserRecord | None:
        """The user's record if a session issued at ``issued_at`` still stands, else ``None``.

        The user must exist, not be locked, and not have been logged out or
        locked after the session was issued (:func:`user_state.session_stands`).
        """
        record = self.record(user, now)
        return record if user_state.session_stands(record, issued_at, now) else None

    def record(self, user: str, now: float, *, read: bool = True) -> UserRecord | None:
        """The user's record from a recent read, else from the store (never a write).

        ``read=False``: memory only, no I/O (``None`` then also means "not
        known without a read").  An unreadable store gives ``None``.
        """
        self.state.sync()
        if not read:
            snap = self._memory.snapshot(user, now)
            return None if snap is None else snap.record
        try:
            return self._read(user, now).record
        except StoreError as exc:
            if not exc.logged:
                log.error("store error reading a user: %s", exc)
            return None
