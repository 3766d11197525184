"""The directory of a users file: pages of users, counts, and roles (in the sidecar).

The reference layout has no place for a role.  It is kept in the user's
sidecar entry (same lock, atomic writes, mode 0600), goes with the user when
the line is removed, and is not part of the record's compare-and-set
version, as the SQL stores keep roles in a table of their own.
"""

from __future__ import annotations

from typing import Any

from ...errors import UnknownUser
from .. import query
from ..query import RecordPages, Role
from ._file import UsersFile

__all__ = ["FileDirectory"]


class FileDirectory(UsersFile, RecordPages):
    """The DirectoryStore protocol for :class:`~._store.UsersFileStore`."""

    def get_role(self, username: str) -> Role:
        snap = self._read_snapshot()
        if self._line_of(snap, username) is None:
            return "user"
        return "admin" if snap.sidecar.get(username, {}).get("role") == "admin" else "user"

    def set_role(self, username: str, role: Role) -> None:
        role = query.check_role(role)

        def change(entry: dict[str, Any]) -> bool:
            if role == "admin":
                entry["role"] = "admin"
            else:
                entry.pop("role", None)
            return True

        if self._edit_entry(username, change) is None:
            raise UnknownUser(username)
