"""An in-memory store: the reference implementation of the contract, for tests."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from typing import Any, TypeVar

from ..errors import LastAuthenticator, StoreError, UnknownUser
from . import query
from ._passkeys_memory import MemoryPasskeys
from .authenticators import OtpToken, check_token_name
from .base import check_serial, new_token, stamped
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

    def _taken(self, but: str) -> set[str]:
        """The token ids of every user but ``but`` (under the lock)."""
        return {t.meta.id for r in self._users.values() if r.username != but for t in r.tokens()}

    def _put(self, record: UserRecord) -> UserRecord:
        """Keep ``record`` under a new version, its tokens' ids unique in the store."""
        taken = self._taken(record.username)
        record = stamped(record, taken.__contains__)
        new = replace(record, version=next(self._versions))
        self._users[record.username] = new
        return new

    def add(self, record: UserRecord) -> None:
        check_serial(record)
        with self._lock:
            if record.username in self._users:
                raise StoreError(f"user {record.username!r} already exists")
            self._put(record)

    def replace(self, record: UserRecord) -> None:
        check_serial(record)
        with self._lock:
            if record.username not in self._users:
                raise UnknownUser(record.username)
            self._put(record)

    def add_token(self, username: str, token: OtpToken) -> OtpToken:
        with self._lock:
            current = self._users.get(username)
            if current is None:
                raise UnknownUser(username)
            mine = {t.meta.id for t in current.tokens()}
            taken = self._taken(username) | mine
            if token.meta.id in taken:
                raise StoreError(f"token id {token.meta.id!r} is taken")
            token = new_token(token, taken.__contains__)
            record = current.with_tokens([*current.tokens(), token])
            check_serial(record)
            self._put(record)
            return token

    def rename_token(self, username: str, token_id: str, name: str) -> bool:
        try:
            check_token_name(name)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        with self._lock:
            current = self._users.get(username)
            found = None if current is None else current.find(token_id)
            if current is None or found is None:
                return False
            self._put(current.with_token(replace(found, meta=replace(found.meta, name=name))))
            return True

    def remove_token(self, username: str, token_id: str) -> bool:
        with self._lock:
            current = self._users.get(username)
            if current is None or current.find(token_id) is None:
                return False
            rest = [t for t in current.tokens() if t.meta.id != token_id]
            if not rest and not self._passkeys_of(username):
                raise LastAuthenticator(f"{token_id!r} is the last authenticator of {username!r}")
            state = current.state
            gone = current.find(token_id)
            if (
                gone is not None
                and state.last_otp is not None
                and gone.meta.last_otp == state.last_otp
            ):
                # Its last code must not linger on from the stored last OTP.
                state = replace(state, last_otp=None)
            self._put(replace(current, state=state).with_tokens(rest))
            return True

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
        self,
        username: str,
        expected_version: object,
        state: UserState,
        token: OtpToken | None = None,
    ) -> UserRecord | None:
        if token is None:
            return self._swap(self._users, username, expected_version, state=state)
        with self._lock:
            current = self._users.get(username)
            # Versions are ints; `True == 1` must not pass for one.
            if current is None or type(expected_version) is not int:
                return None
            if current.version != expected_version or current.find(token.meta.id) is None:
                return None
            new = replace(current, state=state)
            # The first token's state is the state's; another's is its own.
            if token.meta.id == new.meta.id:
                token = replace(token, state=state.token)
            new = replace(new.with_token(token), version=next(self._versions))
            self._users[username] = new
            return new

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
