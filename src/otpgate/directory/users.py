"""The store as logins see it when users come from a directory.

:class:`DirectoryUserStore` wraps the store that keeps the tokens.  Outside,
users have their login names; inside, the token is kept under the
directory's stable id (``entryUUID``/``objectGUID``), so a rename in the
directory keeps the token, and a name the directory does not know has none.

:meth:`DirectoryUserStore.get_fresh` is a fresh login's read: it asks the
directory every time (never the cache).  :meth:`DirectoryUserStore.get`, the
read of session checks and lingering credentials, may take a lookup younger
than ``session_recheck``.  A user the directory no longer has, or has
disabled, or who left the user group, is unknown: refused at the next fresh
login, their sessions ended within ``session_recheck`` (plus the
Authenticator's ``state_ttl``).  A directory that does not answer raises
:class:`DirectoryUnavailable` (a :class:`StoreError`): the login is refused,
never accepted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ..errors import StoreError
from ..store.base import Store
from ..store.invitations import Invitation
from ..store.query import Role, UserFilter
from ..store.records import Pin, UserRecord, UserState
from .client import Directory
from .entries import DirectoryUser, NotInDirectory

__all__ = ["DirectoryUserStore"]


class DirectoryUserStore:
    """A :class:`~otpgate.store.base.Store` whose users are the directory's.

    Args:
        inner: keeps the tokens, under the directory's stable ids.
        directory: who the users are.

    ``pin`` (``[directory] pin``): ``"own"`` keeps the store's PIN;
    ``"directory"`` makes every PIN delegated (the directory password, checked
    by :class:`~otpgate.directory.password.DirectoryPassword`); ``"none"``: no PIN.
    """

    def __init__(self, inner: Store, directory: Directory) -> None:
        self.inner = inner
        self.directory = directory
        self.pin = directory.settings.pin
        self.url = inner.url

    def __getattr__(self, name: str) -> Any:
        # Invitations, counts, key rotation: keyed by other things than the user.
        return getattr(self.inner, name)

    # -- the login's read and write ---------------------------------------------------

    def get(self, username: str) -> UserRecord | None:
        """The record, with a lookup younger than ``session_recheck`` (session checks)."""
        recheck = self.directory.settings.session_recheck
        return self._record(self.directory.find(username, fresh=False, max_age=recheck))

    def get_fresh(self, username: str) -> UserRecord | None:
        """The record, the directory asked now (a fresh login)."""
        return self._record(self.directory.find(username, fresh=True))

    def _record(self, user: DirectoryUser | None) -> UserRecord | None:
        if user is None or not user.may_log_in:
            return None
        return self._outward(self.inner.get(user.id), user)

    def compare_and_set(
        self, username: str, expected_version: object, state: UserState
    ) -> UserRecord | None:
        user = self._known(username)
        if user is None:
            return None
        return self._outward(self.inner.compare_and_set(user.id, expected_version, state), user)

    def otp_tag(self, username: str, otp: str) -> str:
        return self.inner.otp_tag(self._key(username), otp)

    def stamp(self) -> object:
        return self.inner.stamp()

    # -- administration -------------------------------------------------------------------

    def add(self, record: UserRecord) -> None:
        """Keep a token for a directory user.

        Raises:
            UnknownUser: the directory has no such user (the name is refused).
            DirectoryUnavailable: the directory did not answer.
        """
        user = self.directory.find(record.username, fresh=True)
        if user is None:
            raise NotInDirectory(record.username)
        pin = record.pin if self.pin == "own" else Pin("none")
        self.inner.add(dataclasses.replace(record, username=user.id, pin=pin))

    def replace(self, record: UserRecord) -> None:
        user = self._known(record.username)
        if user is None:
            raise NotInDirectory(record.username)
        pin = record.pin if self.pin == "own" else Pin("none")
        self.inner.replace(dataclasses.replace(record, username=user.id, pin=pin))

    def add_invitation(self, invitation: Invitation) -> None:
        """Keep an invitation for a directory user, under the directory's spelling of the name.

        Raises:
            UnknownUser: the directory has no such user.
        """
        user = self.directory.find(invitation.username, fresh=True)
        if user is None:
            raise NotInDirectory(invitation.username)
        self.inner.add_invitation(dataclasses.replace(invitation, username=user.login))

    def remove(self, username: str) -> bool:
        """Remove the token kept for the user, and revoke the name's open invitations
        (kept under the login name, :meth:`add_invitation`)."""
        user = self._known(username)
        if user is None:
            return self.inner.remove(username)  # a stable id, for a user the directory lost
        removed = self.inner.remove(user.id)
        self.inner.remove(user.login)  # no record has this key: only its invitations go
        return removed

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        self.inner.set_recovery_codes(self._key(username), digests)

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        return self.inner.consume_recovery_code(self._key(username), digest)

    def count_recovery_codes(self, username: str) -> int:
        return self.inner.count_recovery_codes(self._key(username))

    def get_role(self, username: str) -> Role:
        """With ``admin_group`` the directory decides alone: members are administrators."""
        if self.directory.settings.admin_group:
            user = self.directory.find(username, fresh=False)
            return "admin" if user is not None and user.may_log_in and user.admin else "user"
        return self.inner.get_role(self._key(username))

    def set_role(self, username: str, role: Role) -> None:
        if self.directory.settings.admin_group:
            raise StoreError(
                "administrators are the members of the directory's admin_group: "
                "change the group there"
            )
        user = self._known(username)
        if user is None:
            raise NotInDirectory(username)
        self.inner.set_role(user.id, role)

    def list_users(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int | None = None,
        filters: UserFilter | None = None,
    ) -> Iterator[UserRecord]:
        """The store's users under their directory names, in name order.

        A token whose user the directory no longer has is listed under its
        stable id, so an administrator can remove it.
        """
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        by_id = {u.id: u for u in self.directory.everyone_cached()}
        records = []
        for record in self.inner.list_users(filters=filters):
            user = by_id.get(record.username)
            outward = self._outward(record, user) if user is not None else record
            if outward is None or not outward.username.startswith(prefix):
                continue
            if after is None or outward.username > after:
                records.append(outward)
        records.sort(key=lambda r: r.username)
        return iter(records[:limit] if limit is not None else records)

    def without_token(self, prefix: str = "", limit: int = 200) -> list[DirectoryUser]:
        """Enabled directory users in the user group (name starting with ``prefix``)
        the store keeps no token for: whom an administrator may invite.

        Raises:
            DirectoryUnavailable: the directory did not answer.
        """
        found = [u for u in self.directory.search(prefix, limit=limit) if u.enabled]
        group = self.directory.settings.user_group
        if group:
            members = {u.id for u in self.directory.members(group)}
            found = [u for u in found if u.id in members]
        return [u for u in found if self.inner.get(u.id) is None]

    def ping(self) -> None:
        self.inner.ping()
        self.directory.ping()

    def close(self) -> None:
        try:
            self.directory.close()
        finally:
            self.inner.close()

    # -- names and ids --------------------------------------------------------------------

    def _known(self, username: str) -> DirectoryUser | None:
        return self.directory.find(username, fresh=False)

    def _key(self, username: str) -> str:
        """The stable id the store keeps the user under (the name itself if unknown)."""
        user = self._known(username)
        return user.id if user is not None else username

    def _outward(self, record: UserRecord | None, user: DirectoryUser) -> UserRecord | None:
        if record is None:
            return None
        pin = {"own": record.pin, "directory": Pin("delegated"), "none": Pin("none")}[self.pin]
        return dataclasses.replace(record, username=user.login, pin=pin)
