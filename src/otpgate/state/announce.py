"""A store whose changes to a user are announced to every gate (the admin commands).

``otpgate user lock``, ``set-pin``, ``remove`` and the like write the store;
a gate that read the user a moment ago would go on answering from that read
for up to ``auth.state_ttl``.  With Redis, the command also tells every gate
to drop what it cached about the user, so the change takes effect at once
everywhere.  Written first, then told: whoever re-reads sees the change.
"""

from __future__ import annotations

from typing import Any

from ..store.authenticators import OtpToken
from ..store.base import Store
from ..store.records import UserRecord, UserState
from .base import SharedState

__all__ = ["AnnouncingStore"]


class AnnouncingStore:
    """Wraps a store; each successful change of a user is followed by ``state.revoke(user)``.

    :meth:`close` closes both.
    """

    def __init__(self, inner: Store, state: SharedState) -> None:
        self.inner = inner
        self.state = state
        self.url = inner.url

    def __getattr__(self, name: str) -> Any:
        # Everything that does not change a user (invitations, backend extras) passes through.
        return getattr(self.inner, name)

    def get(self, username: str) -> UserRecord | None:
        return self.inner.get(username)

    def add(self, record: UserRecord) -> None:
        self.inner.add(record)

    def replace(self, record: UserRecord) -> None:
        self.inner.replace(record)
        self.state.revoke(record.username)

    def remove(self, username: str) -> bool:
        removed = self.inner.remove(username)
        if removed:
            self.state.revoke(username)
        return removed

    def compare_and_set(
        self,
        username: str,
        expected_version: object,
        state: UserState,
        token: OtpToken | None = None,
    ) -> UserRecord | None:
        new = self.inner.compare_and_set(username, expected_version, state, token)
        if new is not None:
            self.state.revoke(username)
        return new

    def add_token(self, username: str, token: OtpToken) -> OtpToken:
        kept = self.inner.add_token(username, token)
        self.state.revoke(username)
        return kept

    def rename_token(self, username: str, token_id: str, name: str) -> bool:
        return self.inner.rename_token(username, token_id, name)

    def remove_token(self, username: str, token_id: str) -> bool:
        removed = self.inner.remove_token(username, token_id)
        if removed:
            self.state.revoke(username)  # its codes stop lingering on every gate at once
        return removed

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        self.inner.set_recovery_codes(username, digests)

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        return self.inner.consume_recovery_code(username, digest)

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.state.close()
