"""An in-memory store: the reference implementation of the contract, for tests."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from typing import Any, TypeVar

from ..errors import StoreError, UnknownUser
from . import query
from ._passkeys_memory import MemoryPasskeys
from .base import check_serial
from .invitations import LIVE, Invitation
from .query import RecordPages, Role
from .records import UserRecord, UserState

__all__ = ["MemoryStore"]

# What the store keeps under a version of its own.
_Versioned = TypeVar("_Versioned", UserRecord, Invitation)


class MemoryStore(RecordPages, MemoryPasskeys):
    """Thread-safe, process-local; nothing survives the process."""

    def __init__(self, url: str = "memory:") -> None:
        self.url = url
        self._users: dict[str, UserRecord] = {}
        self._codes: dict[str, set[str]] = {}
        self._invitations: dict[str, Invitation] = {}
        self._admins: set[str] = set()
        self._passkeys = {}
        self._lock = threading.Lock()
        self._versions = itertools.count(1)

    def otp_tag(self, username: str, otp: str) -> str:
        """The last OTP as stored: the code itself (nothing outlives the process)."""
        return otp

    def get(self, username: str) -> UserRecord | None:
        with self._lock:
            return self._users.get(username)

    def _all_users(self) -> list[UserRecord]:
        with self._lock:
            return sorted(self._users.values(), key=lambda r: r.username)

    def get_role(self, username: str) -> Role:
        with self._lock:
            return "admin" if username in self._admins else "user"

    def set_role(self, username: str, role: Role) -> None:
        role = query.check_role(role)
        with self._lock:
            if username not in self._users:
                raise UnknownUser(username)
            if role == "admin":
                self._admins.add(username)
            else:
                self._admins.discard(username)

    def add(self, record: UserRecord) -> None:
        check_serial(record)
        with self._lock:
            if record.username in self._users:
                raise StoreError(f"user {record.username!r} already exists")
            self._users[record.username] = replace(record, version=next(self._versions))

    def replace(self, record: UserRecord) -> None:
        check_serial(record)
        with self._lock:
            if record.username not in self._users:
                raise UnknownUser(record.username)
            self._users[record.username] = replace(record, version=next(self._versions))

    def remove(self, username: str) -> bool:
        with self._lock:
            self._codes.pop(username, None)
            self._admins.discard(username)
            self._drop_passkeys(username)
            for digest, inv in self._invitations.items():
                if inv.username == username and inv.status in LIVE:
                    self._invitations[digest] = replace(inv.revoked(), version=next(self._versions))
            return self._users.pop(username, None) is not None

    def compare_and_set(
        self, username: str, expected_version: object, state: UserState
    ) -> UserRecord | None:
        return self._swap(self._users, username, expected_version, state=state)

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        with self._lock:
            if username not in self._users:
                raise UnknownUser(username)
            self._codes[username] = set(digests)

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        with self._lock:
            codes = self._codes.get(username, set())
            if digest in codes:
                codes.remove(digest)
                return True
            return False

    def count_recovery_codes(self, username: str) -> int:
        with self._lock:
            return len(self._codes.get(username, ()))

    def add_invitation(self, invitation: Invitation) -> None:
        with self._lock:
            if invitation.digest in self._invitations:
                raise StoreError("an invitation with this token exists")
            self._invitations[invitation.digest] = replace(invitation, version=next(self._versions))

    def get_invitation(self, digest: str) -> Invitation | None:
        with self._lock:
            return self._invitations.get(digest)

    def list_invitations(self) -> list[Invitation]:
        with self._lock:
            return sorted(self._invitations.values(), key=lambda i: (i.created, i.digest))

    def update_invitation(
        self, digest: str, expected_version: object, invitation: Invitation
    ) -> Invitation | None:
        return self._swap(
            self._invitations,
            digest,
            expected_version,
            status=invitation.status,
            pending_key=invitation.pending_key,
            pending_pin=invitation.pending_pin,
        )

    def _swap(
        self, table: dict[str, _Versioned], key: str, expected: object, **changes: Any
    ) -> _Versioned | None:
        """Compare-and-set on ``table[key]``: the ``changes`` and a new version, if unchanged."""
        with self._lock:
            current = table.get(key)
            # Versions are ints; `True == 1` must not pass for one.
            if current is None or type(expected) is not int or current.version != expected:
                return None
            new = replace(current, version=next(self._versions), **changes)
            table[key] = new
            return new

    def stamp(self) -> object:
        """``None``: only this process changes it, through the Authenticator."""
        return None

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
