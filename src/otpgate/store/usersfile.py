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
import json
import logging
import os
import stat
from dataclasses import dataclass
from typing import Any, Final

from ..errors import StoreError, UnknownUser
from ..models import UserRecord, UserState
from ..verify import TokenState
from ._file_invitations import SidecarInvitations
from ._file_roles import SidecarRoles
from ._files import NEW_SUFFIX, atomic_write, locked, refuse_open_to_all
from ._usersfile_lines import (
    Line,
    dec_float,
    digest,
    enc_float,
    format_line,
    no_tag,
    parse_line,
    split_lines,
)
from .base import check_serial

__all__ = ["SIDECAR_SUFFIX", "UsersFileStore", "format_line"]

log = logging.getLogger(__name__)

LOCK_SUFFIX: Final = ".lock"
SIDECAR_SUFFIX: Final = ".otpgate.json"


@dataclass(slots=True)
class _Snapshot:
    """The users file and sidecar as read at one moment."""

    lines: list[Line]
    by_name: dict[str, Line]
    dups: dict[str, tuple[int, int]]
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
            StoreError: the file is missing, unreadable, readable by everyone,
                or names a user twice.
        """
        self.path = os.path.abspath(path)
        self.url = url or f"users-file:{path}"
        self.lock_path = self.path + LOCK_SUFFIX
        self.new_path = self.path + NEW_SUFFIX
        self.sidecar_path = self.path + SIDECAR_SUFFIX
        self._cache: _Snapshot | None = None
        self._reported: set[tuple[int, bytes]] = set()
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
            snap = self._snapshot()
        if snap.dups:
            name, (a, b) = next(iter(snap.dups.items()))
            raise StoreError(
                f"users file {self.path}: user {name!r} appears on lines {a} and {b}; "
                "remove one of them"
            )

    # -- reading -----------------------------------------------------------

    def _read_sidecar(self) -> bytes:
        try:
            with open(self.sidecar_path, "rb") as f:
                refuse_open_to_all(os.fstat(f.fileno()), self.sidecar_path)
                return f.read()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise StoreError(f"cannot read {self.sidecar_path}: {exc.strerror}") from None

    def _parse_sidecar(self, data: bytes) -> dict[str, dict[str, Any]]:
        if not data:
            return {}
        try:
            doc = json.loads(data)
            users = doc["users"]
            if doc.get("format") != 1 or not isinstance(users, dict):
                raise ValueError("unknown format")
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{self.sidecar_path} is damaged ({exc}); fix or remove it") from None
        return users

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
        sidecar_data = self._read_sidecar()
        cached = self._cache
        if cached is not None and cached.data == data and cached.sidecar_data == sidecar_data:
            cached.stat = st
            return cached
        sidecar = self._parse_sidecar(sidecar_data)
        lines = [self._parse_cached(n, raw) for n, raw in enumerate(split_lines(data), 1)]
        if len(self._parsed) > 2 * len(lines) + 64:
            self._parsed = {ln.raw: ln for ln in lines}
        by_name: dict[str, Line] = {}
        dups: dict[str, tuple[int, int]] = {}
        for line in lines:
            if (line.problem or line.note) and (line.lineno, line.raw) not in self._reported:
                # Once per line and store: the file is re-read after every change.
                self._reported.add((line.lineno, line.raw))
                if line.problem:
                    log.warning(
                        "users file %s line %d ignored (kept as is): %s",
                        self.path,
                        line.lineno,
                        line.problem,
                    )
                else:
                    log.warning("users file %s line %d: %s", self.path, line.lineno, line.note)
            if line.entry is None:
                continue
            name = line.entry.username
            if name in by_name:
                dups.setdefault(name, (by_name[name].lineno, line.lineno))
            else:
                by_name[name] = line
        snap = _Snapshot(lines, by_name, dups, sidecar, st, data, sidecar_data)
        self._cache = snap
        return snap

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
        out += [(b, f"user {n!r} repeats line {a}") for n, (a, b) in snap.dups.items()]
        return sorted(out)

    def _line_of(self, snap: _Snapshot, username: str) -> Line | None:
        if username in snap.dups:
            a, b = snap.dups[username]
            raise StoreError(
                f"users file {self.path}: user {username!r} appears on lines {a} and {b}; "
                "refusing to guess which one is meant"
            )
        return snap.by_name.get(username)

    def _version(self, line: Line, side: dict[str, Any]) -> str:
        # Recovery codes are left out: consuming one must not fail a login.
        relevant = {k: v for k, v in side.items() if k not in ("recovery_codes", "role")}
        blob = line.raw + b"\x00" + json.dumps(relevant, sort_keys=True).encode()
        return digest(blob)

    def _record(self, line: Line, side: dict[str, Any]) -> UserRecord:
        entry = line.entry
        assert entry is not None
        state = entry.derived_state()
        shadow = side.get("shadow")
        if isinstance(shadow, dict) and shadow.get("line") == digest(line.raw):
            # The line is the one written together with these exact values.
            state = UserState(
                token=TokenState(state.token.counter, shadow.get("last_step")),
                failures=state.failures,
                last_otp=state.last_otp,
                last_auth=dec_float(shadow.get("last_auth")),
                last_ip=shadow.get("last_ip"),
            )
        state = UserState(
            token=state.token,
            failures=state.failures,
            last_otp=state.last_otp,
            last_auth=state.last_auth,
            last_ip=state.last_ip,
            locked_until=dec_float(side.get("locked_until")),
            revoked_before=dec_float(side.get("revoked_before")),
        )
        return UserRecord(
            username=entry.username,
            token_type=entry.token_type,
            key=entry.key,
            pin=entry.pin,
            state=state,
            serial=side.get("serial"),
            version=self._version(line, side),
        )

    def otp_tag(self, username: str, otp: str) -> str:
        """The last OTP as stored: the code itself, as the reference module keeps it."""
        return otp

    def get(self, username: str) -> UserRecord | None:
        with locked(self.lock_path, False):
            snap = self._snapshot()
        line = self._line_of(snap, username)
        if line is None:
            return None
        return self._record(line, snap.sidecar.get(username, {}))

    def _all_users(self) -> list[UserRecord]:
        """Every record, in name order (``list_users`` pages through them)."""
        with locked(self.lock_path, False):
            snap = self._snapshot()
        if snap.dups:
            name, (a, b) = next(iter(snap.dups.items()))
            raise StoreError(f"users file {self.path}: user {name!r} appears on lines {a} and {b}")
        records = [self._record(ln, snap.sidecar.get(n, {})) for n, ln in snap.by_name.items()]
        return sorted(records, key=lambda r: r.username)

    # -- writing -----------------------------------------------------------

    def _sidecar_entry(
        self, old: dict[str, Any], line: bytes, rec_state: UserState, serial: str | None
    ) -> dict[str, Any]:
        """The sidecar entry to keep next to ``line``: only what the line cannot say."""
        entry = {k: v for k, v in old.items() if k in ("recovery_codes", "role")}
        if serial is not None:
            entry["serial"] = serial
        if rec_state.locked_until is not None:
            entry["locked_until"] = enc_float(rec_state.locked_until)
        if rec_state.revoked_before is not None:
            entry["revoked_before"] = enc_float(rec_state.revoked_before)
        parsed = parse_line(0, line).entry
        assert parsed is not None
        derived = parsed.derived_state()
        wanted = (rec_state.token.last_step, rec_state.last_auth, rec_state.last_ip)
        if (derived.token.last_step, derived.last_auth, derived.last_ip) != wanted:
            entry["shadow"] = {
                "line": digest(line),
                "last_step": rec_state.token.last_step,
                "last_auth": enc_float(rec_state.last_auth),
                "last_ip": rec_state.last_ip,
            }
        return entry

    def _write_sidecar(
        self, users: dict[str, dict[str, Any]], snap: _Snapshot, invitations: Any = None
    ) -> None:
        doc = self._sidecar_doc(users, snap, invitations)  # with the invitations, if any
        if doc is None:
            return
        data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
        try:
            like: os.stat_result | None = os.stat(self.sidecar_path)
        except FileNotFoundError:
            like = None
        if like is None:
            # A new sidecar: the users file's owner, but never more than 0600.
            like = os.stat_result((stat.S_IFREG | 0o600, *snap.stat[1:]))
        atomic_write(self.sidecar_path, data, like)

    def _commit(
        self,
        snap: _Snapshot,
        lines: list[bytes],
        sidecar: dict[str, dict[str, Any]],
    ) -> None:
        # The sidecar goes first: its exact values only apply to the line
        # written with them, so a crash between the two renames leaves the old
        # line with its own derived state, never a mix.
        if sidecar != snap.sidecar:
            self._write_sidecar(sidecar, snap)
        atomic_write(self.path, b"".join(lines), snap.stat)
        self._cache = None

    def _replace_line(self, snap: _Snapshot, username: str, new_line: bytes | None) -> list[bytes]:
        out: list[bytes] = []
        for line in snap.lines:
            if line.entry is not None and line.entry.username == username:
                if new_line is not None:
                    out.append(new_line)
            else:
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
            entry = self._sidecar_entry({}, new_line, record.state, record.serial)
            if entry:
                sidecar[record.username] = entry
            else:
                sidecar.pop(record.username, None)
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
            entry = self._sidecar_entry(old, new_line, record.state, record.serial)
            if entry:
                sidecar[record.username] = entry
            else:
                sidecar.pop(record.username, None)
            self._commit(snap, self._replace_line(snap, record.username, new_line), sidecar)

    def remove(self, username: str) -> bool:
        with locked(self.lock_path, True):
            snap = self._snapshot()
            if self._line_of(snap, username) is None:
                return False
            sidecar = dict(snap.sidecar)
            sidecar.pop(username, None)
            self._commit(snap, self._replace_line(snap, username, None), sidecar)
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
            if expected_version != self._version(line, old_side):
                return None
            current = self._record(line, old_side)
            entry = line.entry
            new_line = format_line(username, entry.token_type, entry.key, entry.pin, state)
            sidecar = dict(snap.sidecar)
            side = self._sidecar_entry(old_side, new_line, state, current.serial)
            if side:
                sidecar[username] = side
            else:
                sidecar.pop(username, None)
            self._commit(snap, self._replace_line(snap, username, new_line), sidecar)
            new_parsed = parse_line(line.lineno, new_line)
            return self._record(new_parsed, side)

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

    def ping(self) -> None:
        with locked(self.lock_path, False):
            self._snapshot()

    def close(self) -> None:
        self._cache = None
