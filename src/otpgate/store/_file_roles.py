"""Pages of users, roles and counts for a users file (roles in the sidecar).

The reference layout has no place for a role.  It is kept in the user's
sidecar entry (same lock, atomic writes, mode 0600), goes with the user when
the line is removed, and is not part of the record's compare-and-set
version, as the SQL stores keep roles in a table of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import UnknownUser
from . import query
from ._files import locked
from .query import Role, UserFilter
from .records import UserRecord

__all__ = ["SidecarRoles"]


class SidecarRoles:
    """The Store protocol's user pages, roles and counts for :class:`~.usersfile.UsersFileStore`."""

    if TYPE_CHECKING:
        lock_path: str
        _cache: Any

        def _snapshot(self) -> Any: ...

        def _line_of(self, snap: Any, username: str) -> Any: ...

        def _write_sidecar(self, users: dict[str, dict[str, Any]], snap: Any) -> None: ...

        def _all_users(self) -> list[UserRecord]: ...

    def list_users(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int | None = None,
        filters: UserFilter | None = None,
    ) -> Iterator[UserRecord]:
        return iter(query.page_of(self._all_users(), prefix, after, limit, filters))

    def count_users(self, now: float) -> dict[str, int]:
        return query.count(self._all_users(), now)

    def get_role(self, username: str) -> Role:
        with locked(self.lock_path, False):
            snap = self._snapshot()
        if self._line_of(snap, username) is None:
            return "user"
        return "admin" if snap.sidecar.get(username, {}).get("role") == "admin" else "user"

    def set_role(self, username: str, role: Role) -> None:
        role = query.check_role(role)
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, username) is None:
                raise UnknownUser(username)
            sidecar = dict(snap.sidecar)
            entry = dict(sidecar.get(username, {}))
            if role == "admin":
                entry["role"] = "admin"
            else:
                entry.pop("role", None)
            if entry:
                sidecar[username] = entry
            else:
                sidecar.pop(username, None)
            self._write_sidecar(sidecar, snap)
            self._cache = None
