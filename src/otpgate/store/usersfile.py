"""``users-file:/PATH``: mod_authn_otp's users file, as a drop-in.

The file format is the reference module's (docs/stores.md, "The users file"):
one user per line, ``TYPE USER PIN HEXKEY [COUNTER [STATE...]]``, ``#``
comments in column 1, blank lines.  This store reads every form the reference
module reads and writes the way it writes:

* Only the line of the user being changed is rewritten, in the reference's
  own layout (its ``print_user``); every other byte -- comments, blank lines,
  lines it cannot parse -- is copied unchanged.
* The same locking protocol: an exclusive ``flock`` on ``<file>.lock``, the new
  content in ``<file>.new``, ``fsync``, ``rename``; here also an ``fsync`` of
  the directory, and the owner and mode of the original are kept.
* Unlike the reference, the state a decision is based on is re-read *under
  the lock*: :meth:`UsersFileStore.compare_and_set` succeeds only if the
  user's line (and sidecar entry) are still what the caller read, so two
  concurrent logins can never both use one code.  A failed write raises
  :class:`~otpgate.errors.StoreError` so the login is denied (the reference
  grants it and loses the state).

Time tokens: the reference keeps the drift offset and the time of the last
login, not the last accepted time step; that step is derived on read as
``floor(last_auth / step) + offset`` (how the reference computes the step it
accepted), so replay protection survives restarts.

What the reference layout cannot hold -- lock expiry, ``revoked_before``, the
serial, recovery codes, and the exact last step, login time and address when
they differ from what the line implies -- lives in a sidecar JSON file,
``<file>.otpgate.json`` (same lock, atomic writes, mode 0600).  Its exact
values apply only while the user's line is byte-identical to the one written
with them; if another tool rewrites the line, the line wins.  Hashed PINs
cannot be kept: the reference module compares PINs literally.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import Any, Final

from ..errors import StoreError, UnknownUser
from . import _usersfile_sidecar as sidecar_file
from ._file_invitations import SidecarInvitations
from ._file_roles import SidecarRoles
from ._files import NEW_SUFFIX, atomic_write, locked, refuse_open_to_all
from ._usersfile_lines import Line, format_line, no_tag, parse_line, split_lines
from .base import check_serial
from .records import UserRecord, UserState

__all__ = ["SIDECAR_SUFFIX", "UsersFileStore", "format_line"]

log = logging.getLogger(__name__)

LOCK_SUFFIX: Final = ".lock"
SIDECAR_SUFFIX: Final = ".otpgate.json"


@dataclass(slots=True)
class _Snapshot:
    """The users file and sidecar as read at one moment."""

    lines: list[Line]
    by_name: dict[str, Line]  # the first line of each user, the one that counts
    dups: list[tuple[int, str]]  # (line, why): a user's repeated lines, ignored
    sidecar: dict[str, dict[str, Any]]
    stat: os.stat_result
    data: bytes
    sidecar_data: bytes


class UsersFileStore(SidecarInvitations, SidecarRoles):
    """A mod_authn_otp users file, shared safely with the reference module's tools."""

    def __init__(self, path: str, *, url: str | None = None, create: bool = False) -> None:
        """Open a users file.

        Args:
            path: the users file.
            url: the URL it was opened by.
            create: create an empty file (mode 0600) if there is none.

        Raises:
            StoreError: the file is missing or unreadable, or readable by everyone.
        """
        self.path = os.path.abspath(path)
        self.url = url or f"users-file:{path}"
        self.lock_path = self.path + LOCK_SUFFIX
        self.new_path = self.path + NEW_SUFFIX
        self.sidecar_path = self.path + SIDECAR_SUFFIX
        self._cache: _Snapshot | None = None
        self._reported: set[tuple[int, bytes, str]] = set()
        # Parse results by line bytes: every write re-reads the whole file
        # under the lock, but only the changed line needs parsing again.
        self._parsed: dict[bytes, Line] = {}
        if create:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError(f"cannot create users file {self.path}: {exc.strerror}") from None
        with locked(self.lock_path, False):
            self._snapshot()

    # -- reading -----------------------------------------------------------

    def _snapshot(self) -> _Snapshot:
        """Read and parse the file and sidecar; call with the lock held.

        Both are read every time (cheap), and compared by content with the
        last read rather than by mtime or inode, which a quick rewrite can
        leave unchanged; only the parsing is reused.
        """
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                refuse_open_to_all(st, self.path)
                data = f.read()
        except FileNotFoundError:
            raise StoreError(f"users file {self.path} does not exist") from None
        except OSError as exc:
            raise StoreError(f"cannot read users file {self.path}: {exc.strerror}") from None
        if data.startswith(b"SQLite format 3\0"):
            # A bare path names a users file; say so instead of warning about every "line".
            raise StoreError(
                f"{self.path} is an SQLite database, not a users file; use sqlite:///PATH"
            )
        sidecar_data = sidecar_file.read(self.sidecar_path)
        cached = self._cache
        if cached is not None and cached.data == data and cached.sidecar_data == sidecar_data:
            cached.stat = st
            return cached
        sidecar = sidecar_file.parse(self.sidecar_path, sidecar_data)
        lines = [self._parse_cached(n, raw) for n, raw in enumerate(split_lines(data), 1)]
        if len(self._parsed) > 2 * len(lines) + 64:
            self._parsed = {ln.raw: ln for ln in lines}
        by_name: dict[str, Line] = {}
        dups: list[tuple[int, str]] = []
        for line in lines:
            self._report(line, line.problem, line.note)
            if line.entry is None:
                continue
            name = line.entry.username
            first = by_name.setdefault(name, line)
            if first is not line:
                # As mod_authn_otp: the first line of a user counts, a repeat is ignored.
                repeat = f"user {name!r} repeats line {first.lineno}; the first line counts"
                dups.append((line.lineno, repeat))
                self._report(line, repeat, None)
        snap = _Snapshot(lines, by_name, dups, sidecar, st, data, sidecar_data)
        self._cache = snap
        return snap

    def _report(self, line: Line, problem: str | None, note: str | None) -> None:
        """Log a line's problem or note once per line and store (the file is re-read often)."""
        said = (line.lineno, line.raw, problem or note or "")
        if not said[2] or said in self._reported:
            return
        self._reported.add(said)
        if problem:
            log.warning(
                "users file %s line %d ignored (kept as is): %s", self.path, line.lineno, problem
            )
        else:
            log.warning("users file %s line %d: %s", self.path, line.lineno, note)

    def _parse_cached(self, lineno: int, raw: bytes) -> Line:
        known = self._parsed.get(raw)
        if known is None:
            known = self._parsed[raw] = parse_line(lineno, raw)
        if known.lineno == lineno:
            return known
        return Line(lineno, raw, known.entry, known.problem, known.note)

    def problems(self) -> list[tuple[int, str]]:
        """Lines the store ignores, as (line number, reason); duplicates included.

        Raises:
            StoreError: the file cannot be read.
        """
        with locked(self.lock_path, False):
            snap = self._snapshot()
        out = [(ln.lineno, ln.problem) for ln in snap.lines if ln.problem is not None]
        out += snap.dups
        return sorted(out)

    def _line_of(self, snap: _Snapshot, username: str) -> Line | None:
        """The user's line: the first one, as for mod_authn_otp."""
        return snap.by_name.get(username)

    def otp_tag(self, username: str, otp: str) -> str:
        """The last OTP as stored: the code itself, as the reference module keeps it."""
        return otp

    def get(self, username: str) -> UserRecord | None:
        with locked(self.lock_path, False):
            snap = self._snapshot()
        line = self._line_of(snap, username)
        if line is None:
            return None
        return sidecar_file.record_of(line, snap.sidecar.get(username, {}))

    def _all_users(self) -> list[UserRecord]:
        """Every record, in name order (``list_users`` pages through them)."""
        with locked(self.lock_path, False):
            snap = self._snapshot()
        records = [
            sidecar_file.record_of(ln, snap.sidecar.get(n, {})) for n, ln in snap.by_name.items()
        ]
        return sorted(records, key=lambda r: r.username)

    # -- writing -----------------------------------------------------------

    def _write_sidecar(
        self, users: dict[str, dict[str, Any]], snap: _Snapshot, invitations: Any = None
    ) -> None:
        doc = self._sidecar_doc(users, snap, invitations)  # with the invitations, if any
        if doc is not None:
            sidecar_file.write(self.sidecar_path, doc, snap.stat)

    def _commit(
        self,
        snap: _Snapshot,
        lines: list[bytes],
        sidecar: dict[str, dict[str, Any]],
        invitations: dict[str, Any] | None = None,
    ) -> None:
        # The sidecar goes first: its exact values only apply to the line
        # written with them, so a crash between the two renames leaves the old
        # line with its own derived state, never a mix.
        if sidecar != snap.sidecar or invitations is not None:
            self._write_sidecar(sidecar, snap, invitations)
        atomic_write(self.path, b"".join(lines), snap.stat)
        self._cache = None

    def _replace_line(self, snap: _Snapshot, username: str, new_line: bytes | None) -> list[bytes]:
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

    def add(self, record: UserRecord) -> None:
        check_serial(record)
        record = dataclasses.replace(record, state=no_tag(record.state))
        new_line = format_line(
            record.username, record.token_type, record.key, record.pin, record.state
        )
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
        check_serial(record)
        record = dataclasses.replace(record, state=no_tag(record.state))
        new_line = format_line(
            record.username, record.token_type, record.key, record.pin, record.state
        )
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, record.username) is None:
                raise UnknownUser(record.username)
            sidecar = dict(snap.sidecar)
            old = sidecar.get(record.username, {})
            entry = sidecar_file.entry_for(old, new_line, record.state, record.serial)
            sidecar_file.put(sidecar, record.username, entry)
            self._commit(snap, self._replace_line(snap, record.username, new_line), sidecar)

    def remove(self, username: str) -> bool:
        with locked(self.lock_path, True):
            snap = self._snapshot()
            # The user's links are revoked first: a crash in between leaves
            # the user without links, never links without their user.
            invitations = self._revoked_for(snap, username)
            if self._line_of(snap, username) is None:
                if invitations is not None:
                    self._write_sidecar(snap.sidecar, snap, invitations)
                    self._cache = None
                return False
            sidecar = dict(snap.sidecar)
            sidecar.pop(username, None)
            self._commit(snap, self._replace_line(snap, username, None), sidecar, invitations)
            return True

    def compare_and_set(
        self, username: str, expected_version: object, state: UserState
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
            entry = line.entry
            new_line = format_line(username, entry.token_type, entry.key, entry.pin, state)
            sidecar = dict(snap.sidecar)
            side = sidecar_file.entry_for(old_side, new_line, state, current.serial)
            sidecar_file.put(sidecar, username, side)
            self._commit(snap, self._replace_line(snap, username, new_line), sidecar)
            new_parsed = parse_line(line.lineno, new_line)
            return sidecar_file.record_of(new_parsed, side)

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, username) is None:
                raise UnknownUser(username)
            sidecar = dict(snap.sidecar)
            entry = dict(sidecar.get(username, {}))
            entry["recovery_codes"] = list(dict.fromkeys(digests))
            sidecar[username] = entry
            self._write_sidecar(sidecar, snap)
            self._cache = None

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, username) is None:
                return False
            entry = dict(snap.sidecar.get(username, {}))
            codes = list(entry.get("recovery_codes", []))
            if digest not in codes:
                return False
            codes.remove(digest)
            entry["recovery_codes"] = codes
            sidecar = dict(snap.sidecar)
            sidecar[username] = entry
            self._write_sidecar(sidecar, snap)
            self._cache = None
            return True

    def count_recovery_codes(self, username: str) -> int:
        with locked(self.lock_path, False):
            snap = self._snapshot()
            if self._line_of(snap, username) is None:
                return 0
            return len(snap.sidecar.get(username, {}).get("recovery_codes", []))

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

    def ping(self) -> None:
        with locked(self.lock_path, False):
            self._snapshot()

    def close(self) -> None:
        self._cache = None
