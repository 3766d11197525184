"""Recovery codes in a users file's sidecar: the digests, in the user's entry.

They go with the user when the line is removed, and are left out of the
record's compare-and-set version: consuming one must not fail a login.
"""

from __future__ import annotations

from typing import Any

from ...errors import UnknownUser
from ._file import UsersFile

__all__ = ["FileRecoveryCodes"]


class FileRecoveryCodes(UsersFile):
    """The RecoveryCodeStore protocol for :class:`~._store.UsersFileStore`."""

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        def change(entry: dict[str, Any]) -> bool:
            entry["recovery_codes"] = list(dict.fromkeys(digests))
            return True

        if self._edit_entry(username, change) is None:
            raise UnknownUser(username)

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        def change(entry: dict[str, Any]) -> bool:
            codes = list(entry.get("recovery_codes", []))
            if digest not in codes:
                return False
            codes.remove(digest)
            entry["recovery_codes"] = codes
            return True

        return bool(self._edit_entry(username, change))

    def count_recovery_codes(self, username: str) -> int:
        snap = self._read_snapshot()
        if self._line_of(snap, username) is None:
            return 0
        return len(snap.sidecar.get(username, {}).get("recovery_codes", []))
