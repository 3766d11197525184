"""The users file and its sidecar, read at one moment and written back atomically.

Every operation takes ``flock`` on ``<file>.lock`` (shared to read,
exclusive to write), reads both files (:meth:`UsersFile._snapshot`) and, to
write, replaces them whole (:mod:`._io`): the sidecar first, then the file.
The parts of :class:`~._store.UsersFileStore` (users, recovery codes,
invitations, the directory) build on this class.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ...errors import StoreError
from ..records import UserRecord
from . import _sidecar as sidecar_file
from ._io import NEW_SUFFIX, atomic_write, locked, refuse_open_to_all
from ._lines import Line, parse_line, split_lines

__all__ = ["LOCK_SUFFIX", "SIDECAR_SUFFIX", "Snapshot", "UsersFile"]

log = logging.getLogger("otpgate.store.usersfile")

LOCK_SUFFIX: Final = ".lock"
SIDECAR_SUFFIX: Final = ".otpgate.json"


@dataclass(slots=True)
class Snapshot:
    """The users file and sidecar as read at one moment."""

    lines: list[Line]
    by_name: dict[str, Line]  # the first line of each user, the one that counts
    dups: list[tuple[int, str]]  # (line, why): a user's repeated lines, ignored
    sidecar: dict[str, dict[str, Any]]
    stat: os.stat_result
    data: bytes
    sidecar_data: bytes


class UsersFile:
    """A users file with its sidecar: locked reads, parsed lines, atomic writes."""

    def __init__(self, path: str, *, url: str | None = None) -> None:
        self.path = os.path.abspath(path)
        self.url = url or f"users-file:{path}"
        self.lock_path = self.path + LOCK_SUFFIX
        self.new_path = self.path + NEW_SUFFIX
        self.sidecar_path = self.path + SIDECAR_SUFFIX
        self._cache: Snapshot | None = None
        self._reported: set[tuple[int, bytes, str]] = set()
        # Parse results by line bytes: every write re-reads the whole file
        # under the lock, but only the changed line needs parsing again.
        self._parsed: dict[bytes, Line] = {}

    # -- reading -----------------------------------------------------------

    def _read(self) -> tuple[os.stat_result, bytes]:
        """The users file's status and bytes (call with the lock held)."""
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
        return st, data

    def _snapshot(self) -> Snapshot:
        """Read and parse the file and sidecar; call with the lock held.

        Both are read every time (cheap), and compared by content with the
        last read rather than by mtime or inode, which a quick rewrite can
        leave unchanged; only the parsing is reused.
        """
        st, data = self._read()
        sidecar_data = sidecar_file.read(self.sidecar_path)
        cached = self._cache
        if cached is not None and cached.data == data and cached.sidecar_data == sidecar_data:
            cached.stat = st
            return cached
        sidecar = sidecar_file.parse(self.sidecar_path, sidecar_data)
        lines = [self._parse_cached(n, raw) for n, raw in enumerate(split_lines(data), 1)]
        if len(self._parsed) > 2 * len(lines) + 64:
            self._parsed = {ln.raw: ln for ln in lines}
        by_name, dups = self._first_lines(lines)
        snap = Snapshot(lines, by_name, dups, sidecar, st, data, sidecar_data)
        self._cache = snap
        return snap

    def _first_lines(self, lines: list[Line]) -> tuple[dict[str, Line], list[tuple[int, str]]]:
        """Each user's first line, and the repeats (reported, as every line's problem)."""
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
        return by_name, dups

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

    def _read_snapshot(self) -> Snapshot:
        """A snapshot taken under the shared lock."""
        with locked(self.lock_path, False):
            return self._snapshot()

    def _line_of(self, snap: Snapshot, username: str) -> Line | None:
        """The user's line: the first one, as for mod_authn_otp."""
        return snap.by_name.get(username)

    def _all_users(self) -> list[UserRecord]:
        """Every record, in name order (``list_users`` pages through them)."""
        snap = self._read_snapshot()
        records = [
            sidecar_file.record_of(ln, snap.sidecar.get(n, {})) for n, ln in snap.by_name.items()
        ]
        return sorted(records, key=lambda r: r.username)

    # -- writing -----------------------------------------------------------

    def _write_sidecar(
        self,
        users: dict[str, dict[str, Any]],
        snap: Snapshot,
        invitations: dict[str, Any] | None = None,
    ) -> None:
        """Write the sidecar: ``users``, and ``invitations`` (``None``: as read with ``snap``)."""
        if invitations is None:
            invitations = sidecar_file.invitations_of(self.sidecar_path, snap.sidecar_data)
        doc = sidecar_file.document(self.sidecar_path, users, invitations)
        if doc is not None:
            sidecar_file.write(self.sidecar_path, doc, snap.stat)

    def _commit(
        self,
        snap: Snapshot,
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

    def _edit_entry(self, username: str, change: Callable[[dict[str, Any]], bool]) -> bool | None:
        """Let ``change`` edit the user's sidecar entry (a copy) under the lock.

        The entry is written when ``change`` returns ``True``.  Returns what
        ``change`` returned, or ``None`` (nothing called) for an unknown user.
        """
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, username) is None:
                return None
            entry = dict(snap.sidecar.get(username, {}))
            if not change(entry):
                return False
            sidecar = dict(snap.sidecar)
            sidecar_file.put(sidecar, username, entry)
            self._write_sidecar(sidecar, snap)
            self._cache = None
            return True
