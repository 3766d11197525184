"""Passkeys in the memory store (the reference implementation of :class:`PasskeyStore`)."""

from __future__ import annotations

import threading
from dataclasses import replace

from ..errors import LastAuthenticator, StoreError, UnknownUser
from .passkeys import Passkey
from .records import UserRecord

__all__ = ["MemoryPasskeys"]


class MemoryPasskeys:
    """:class:`~.passkeys.PasskeyStore` for :class:`~.memory.MemoryStore` (its lock, its users)."""

    _lock: threading.Lock
    _users: dict[str, UserRecord]
    _passkeys: dict[str, Passkey]

    def add_passkey(self, passkey: Passkey) -> None:
        with self._lock:
            if passkey.user not in self._users:
                raise UnknownUser(passkey.user)
            if passkey.id in self._passkeys:
                raise StoreError("a passkey with this id exists")
            if any(p.credential_id == passkey.credential_id for p in self._passkeys.values()):
                raise StoreError("this passkey is registered already")
            self._passkeys[passkey.id] = passkey

    def passkeys(self, username: str) -> list[Passkey]:
        with self._lock:
            found = [p for p in self._passkeys.values() if p.user == username]
        return sorted(found, key=lambda p: (p.created, p.id))

    def find_passkey(self, credential_id: bytes) -> Passkey | None:
        with self._lock:
            return next(
                (p for p in self._passkeys.values() if p.credential_id == credential_id), None
            )

    def use_passkey(self, passkey_id: str, expected_count: int, new_count: int, now: float) -> bool:
        with self._lock:
            current = self._passkeys.get(passkey_id)
            if current is None or current.sign_count != expected_count:
                return False
            self._passkeys[passkey_id] = replace(current, sign_count=new_count, last_used=now)
            return True

    def rename_passkey(self, username: str, passkey_id: str, name: str) -> bool:
        with self._lock:
            current = self._passkeys.get(passkey_id)
            if current is None or current.user != username:
                return False
            self._passkeys[passkey_id] = replace(current, name=name)
            return True

    def remove_passkey(self, username: str, passkey_id: str) -> bool:
        with self._lock:
            current = self._passkeys.get(passkey_id)
            if current is None or current.user != username:
                return False
            record = self._users.get(username)
            if len(self._passkeys_of(username)) <= 1 and record is not None and not record.tokens():
                raise LastAuthenticator(f"{passkey_id!r} is the last authenticator of {username!r}")
            del self._passkeys[passkey_id]
            return True

    def _passkeys_of(self, username: str) -> list[Passkey]:
        """The user's passkeys (the caller holds the lock)."""
        return [p for p in self._passkeys.values() if p.user == username]

    def _drop_passkeys(self, username: str) -> None:
        """Forget a removed user's passkeys (the caller holds the lock)."""
        for key in [k for k, p in self._passkeys.items() if p.user == username]:
            del self._passkeys[key]
