"""Users in a users file: one line each, in the reference module's own layout.

Only the line of the user being changed is rewritten (its ``print_user``);
every other byte -- comments, blank lines, lines it cannot parse -- is copied
unchanged.  The state a decision is based on is re-read *under the lock*:
:meth:`FileUsers.compare_and_set` succeeds only if the user's line (and
sidecar entry) are still what the caller read, so two concurrent logins can
never both use one code.
"""

from __future__ import annotations

import dataclasses
import os

from ...errors import LastAuthenticator, StoreError, TokenLimit, UnknownUser
from ..authenticators import OtpToken
from ..base import check_serial
from ..records import UserRecord, UserState
from . import _sidecar as sidecar_file
from ._file import Snapshot, UsersFile
from ._invitations import revoked_for
from ._io import locked
from ._lines import format_line, no_tag, parse_line

__all__ = ["ONE_PER_USER", "FileUsers"]

ONE_PER_USER = (
    "a users file holds one token per user (mod_authn_otp's format has room for no more); "
    "copy the users into an SQLite or PostgreSQL store (otpgate import) for several"
)


def _line_for(record: UserRecord) -> tuple[UserRecord, bytes]:
    """The record as a users file keeps it (no OTP tag), and its line.

    Raises:
        StoreError: a serial with control characters, or a record the format cannot hold.
    """
    check_serial(record)
    if not record.has_token:
        raise StoreError(
            f"{record.username!r} holds no OTP token (passkeys only): a users file "
            "(mod_authn_otp's format) keeps exactly one token per user"
        )
    if record.more:
        raise TokenLimit(f"{record.username!r}: {ONE_PER_USER}")
    record = dataclasses.replace(record, state=no_tag(record.state))
    line = format_line(record.username, record.token_type, record.key, record.pin, record.state)
    return record, line


def _replace_line(snap: Snapshot, username: str, new_line: bytes | None) -> list[bytes]:
    """The file with the user's line replaced by ``new_line``, or, for ``None``, removed.

    A replacement changes the first line only (a repeat stays as it is,
    ignored); a removal drops every line of the user, so nothing of it
    remains to log in with.
    """
    first = snap.by_name.get(username)
    out: list[bytes] = []
    for line in snap.lines:
        if line is first and new_line is not None:
            out.append(new_line)
        elif new_line is not None or line.entry is None or line.entry.username != username:
            out.append(line.raw)
    return out


class FileUsers(UsersFile):
    """The UserStore protocol for :class:`~._store.UsersFileStore`."""

    def otp_tag(self, username: str, otp: str) -> str:
        """The last OTP as stored: the code itself, as the reference module keeps it."""
        return otp

    def get(self, username: str) -> UserRecord | None:
        snap = self._read_snapshot()
        line = self._line_of(snap, username)
        if line is None:
            return None
        return sidecar_file.record_of(line, snap.sidecar.get(username, {}))

    def stamp(self) -> object:
        """The file's device, inode, size and modification time: one ``stat``, no read.

        Every writer replaces the file (a new inode: the module, this store,
        editors) or at least its modification time, so the stamp changes with
        any change a login could care about.  The sidecar is left out: what
        only it holds (recovery codes, roles, invitations) does not decide a
        lingering credential, and every change of a user's state rewrites the
        file too.  An unreadable file gives a stamp equal to nothing, so the
        next request reads it (and reports why it cannot).
        """
        try:
            st = os.stat(self.path)
        except OSError:
            return object()
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def add(self, record: UserRecord) -> None:
        record, new_line = _line_for(record)
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, record.username) is not None:
                raise StoreError(f"user {record.username!r} already exists")
            lines = [ln.raw for ln in snap.lines]
            if lines and not lines[-1].endswith(b"\n"):
                lines[-1] += b"\n"
            lines.append(new_line)
            sidecar = dict(snap.sidecar)
            # A stale entry from a user removed by other tools must not apply.
            entry = sidecar_file.entry_for({}, new_line, record.state, record.serial)
            sidecar_file.put(sidecar, record.username, entry)
            self._commit(snap, lines, sidecar)

    def replace(self, record: UserRecord) -> None:
        record, new_line = _line_for(record)
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, record.username) is None:
                raise UnknownUser(record.username)
            sidecar = dict(snap.sidecar)
            old = sidecar.get(record.username, {})
            entry = sidecar_file.entry_for(old, new_line, record.state, record.serial)
            sidecar_file.put(sidecar, record.username, entry)
            self._commit(snap, _replace_line(snap, record.username, new_line), sidecar)

    def remove(self, username: str) -> bool:
        with locked(self.lock_path, True):
            snap = self._snapshot()
            # The user's links are revoked first: a crash in between leaves
            # the user without links, never links without their user.
            invitations = sidecar_file.invitations_of(self.sidecar_path, snap.sidecar_data)
            revoked = invitations if revoked_for(invitations, username) else None
            if self._line_of(snap, username) is None:
                if revoked is not None:
                    self._write_sidecar(snap.sidecar, snap, revoked)
                    self._cache = None
                return False
            sidecar = dict(snap.sidecar)
            sidecar.pop(username, None)
            self._commit(snap, _replace_line(snap, username, None), sidecar, revoked)
            return True

    def add_token(self, username: str, token: OtpToken) -> OtpToken:
        if self.get(username) is None:
            raise UnknownUser(username)
        raise TokenLimit(ONE_PER_USER)

    def rename_token(self, username: str, token_id: str, name: str) -> bool:
        record = self.get(username)
        if record is None or record.find(token_id) is None:
            return False
        raise StoreError("a users file keeps no token names (its token is named after its serial)")

    def remove_token(self, username: str, token_id: str) -> bool:
        record = self.get(username)
        if record is None or record.find(token_id) is None:
            return False
        raise LastAuthenticator(f"{token_id!r} is the only token of {username!r} ({ONE_PER_USER})")

    def compare_and_set(
        self,
        username: str,
        expected_version: object,
        state: UserState,
        token: OtpToken | None = None,
    ) -> UserRecord | None:
        state = no_tag(state)
        with locked(self.lock_path, True):
            # The decision is checked against the file as it is now, under the lock.
            snap = self._snapshot()
            line = self._line_of(snap, username)
            if line is None or line.entry is None:
                return None
            old_side = snap.sidecar.get(username, {})
            if expected_version != sidecar_file.version_of(line, old_side):
                return None
            current = sidecar_file.record_of(line, old_side)
            if token is not None and token.meta.id != current.meta.id:
                return None
            entry = line.entry
            new_line = format_line(username, entry.token_type, entry.key, entry.pin, state)
            sidecar = dict(snap.sidecar)
            side = sidecar_file.entry_for(old_side, new_line, state, current.serial)
            sidecar_file.put(sidecar, username, side)
            self._commit(snap, _replace_line(snap, username, new_line), sidecar)
            return sidecar_file.record_of(parse_line(line.lineno, new_line), side)
