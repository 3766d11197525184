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

import calendar
import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import re
import stat
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from ..errors import InvalidTokenType, StoreError, UnknownUser
from ..models import Pin, UserRecord, UserState
from ..tokens import ShortCodeWarning, TokenType, parse_token_type
from ..verify import TokenState
from .base import check_serial

__all__ = ["SIDECAR_SUFFIX", "UsersFileStore", "format_line"]

log = logging.getLogger(__name__)

LOCK_SUFFIX: Final = ".lock"
NEW_SUFFIX: Final = ".new"
SIDECAR_SUFFIX: Final = ".otpgate.json"

# The reference module splits on these (not on form feed).
_SPLIT: Final = re.compile(rb"[ \t\r\n\v]+")
_SIGNED: Final = re.compile(r"[-+]?[0-9]{1,19}", re.ASCII)
_UNSIGNED: Final = re.compile(r"[0-9]{1,10}", re.ASCII)
_HEX: Final = re.compile(r"(?:[0-9a-fA-F]{2})+", re.ASCII)
_TIME_LOCAL: Final = "%Y-%m-%dT%H:%M:%SL"
_TIME_UTC: Final = "%Y-%m-%dT%H:%M:%SZ"
_TIME_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[LZ]", re.ASCII)
_LONG: Final = 1 << 63
_UINT: Final = 1 << 32
# The reference module's buffer sizes (MAX_USERNAME, MAX_PIN, MAX_KEY, ...).
_MAX_FIELD: Final = 127
_MAX_KEY_BYTES: Final = 256
_NO_IP: Final = "-"


@dataclass(slots=True)
class _Entry:
    """One parsed user line, before the sidecar is applied."""

    username: str
    token_type: TokenType
    pin: Pin
    key: bytes = field(repr=False)
    counter: int
    failures: int
    last_otp: str | None
    last_auth: int | None
    last_ip: str | None

    def derived_state(self) -> UserState:
        last_step = None
        if self.token_type.is_time and self.last_otp is not None and self.last_auth is not None:
            # The step the reference module accepted: time / interval + offset.
            last_step = (self.last_auth - self.token_type.t0) // self.token_type.step + self.counter
        return UserState(
            token=TokenState(self.counter, last_step),
            failures=self.failures,
            last_otp=self.last_otp,
            last_auth=None if self.last_auth is None else float(self.last_auth),
            last_ip=self.last_ip,
        )


@dataclass(slots=True)
class _Line:
    lineno: int
    raw: bytes
    entry: _Entry | None = None
    problem: str | None = None
    note: str | None = None


def _parse_time(text: str) -> int:
    if not _TIME_RE.fullmatch(text):
        raise ValueError("not YYYY-MM-DDTHH:MM:SS followed by L or Z")
    if text.endswith("Z"):
        # Early versions of the module wrote UTC (see its users.sample).
        return calendar.timegm(time.strptime(text, _TIME_UTC))
    tm = time.strptime(text, _TIME_LOCAL)
    # tm_isdst=-1: let mktime decide, as the reference does.
    return int(time.mktime((*tm[:8], -1)))


def _parse_line(lineno: int, raw: bytes) -> _Line:
    """Parse one line; ``entry`` is None for comments, blanks and invalid lines."""
    line = _Line(lineno, raw)
    if raw.startswith(b"#"):
        return line
    fields_b = [f for f in _SPLIT.split(raw) if f]
    if not fields_b:
        return line

    def bad(reason: str) -> _Line:
        line.problem = reason
        return line

    if b"\x00" in raw:
        return bad("contains a NUL byte")
    try:
        fields = [f.decode("utf-8") for f in fields_b]
    except UnicodeDecodeError:
        return bad("is not valid UTF-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ShortCodeWarning)
        try:
            token_type = parse_token_type(fields[0], allow_short=True)
        except InvalidTokenType:
            return bad(f"invalid token type {fields[0][:20]!r}")
    if caught:
        line.note = str(caught[0].message)
    if len(fields) < 2:
        return bad("missing username field")
    username = fields[1]
    if len(fields) < 3:
        return bad("missing PIN field")
    pin_text = fields[2]
    pin = Pin("none") if pin_text == "-" else Pin("delegated") if pin_text == "+" else None
    if len(fields) < 4:
        return bad("missing token key field")
    # Reasons never quote the PIN or the key.
    if not _HEX.fullmatch(fields[3]):
        return bad("the key is not an even number of hex digits")
    key = bytes.fromhex(fields[3])
    if len(key) > _MAX_KEY_BYTES:
        return bad(f"the key is longer than {_MAX_KEY_BYTES} bytes")
    counter = 0
    if len(fields) >= 5:
        if not _SIGNED.fullmatch(fields[4]) or not -_LONG <= int(fields[4]) < _LONG:
            return bad("the counter/offset is not a whole number")
        counter = int(fields[4])
    extra = fields[5:]
    if len(extra) > 4:
        return bad(f"{len(fields)} fields; at most 9 are allowed")
    # The reference module tells its layouts apart by the number of fields.
    failures_s = extra[0] if len(extra) in (1, 4) else None
    rest = extra[1:] if len(extra) == 4 else extra if len(extra) in (2, 3) else []
    if len(extra) == 3 and not _TIME_RE.fullmatch(extra[1]) and _TIME_RE.fullmatch(extra[2]):
        # "failures, last OTP, time" and an empty address: what the reference
        # module writes when it has no client address (it then misreads its
        # own line).  Read it as meant; the next write completes the layout.
        failures_s, rest = extra[0], extra[1:]
    failures = 0
    if failures_s is not None:
        if not _UNSIGNED.fullmatch(failures_s) or int(failures_s) >= _UINT:
            return bad("the failure count is not a whole number")
        failures = int(failures_s)
    last_otp = last_ip = None
    last_auth = None
    if rest:
        last_otp = rest[0]
        try:
            last_auth = _parse_time(rest[1])
        except (ValueError, OverflowError):
            # Not quoted: when fields are shifted it may be a (lingering) OTP.
            return bad("invalid auth timestamp (expected YYYY-MM-DDTHH:MM:SSL)")
        if len(rest) == 3 and rest[2] != _NO_IP:
            last_ip = rest[2]
    if pin is None:
        pin = Pin("plain", pin_text)
    line.entry = _Entry(
        username, token_type, pin, key, counter, failures, last_otp, last_auth, last_ip
    )
    return line


def _split_lines(data: bytes) -> list[bytes]:
    """Lines with their endings, so joining them gives back ``data``.

    Only ``\n`` ends a line, as for the reference module (``bytes.splitlines``
    would also split on a lone ``\r``).
    """
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _check_token(what: str, value: str, username: str) -> None:
    raw = value.encode("utf-8")
    if not raw or len(raw) > _MAX_FIELD or _SPLIT.search(raw) or b"\x00" in raw or b"\x0c" in raw:
        raise StoreError(
            f"cannot write {username!r} to a users file: the {what} must be 1..{_MAX_FIELD} "
            "bytes without spaces"
        )


def format_line(
    username: str, token_type: TokenType, key: bytes, pin: Pin, state: UserState
) -> bytes:
    """A user's line exactly as mod_authn_otp's ``print_user`` writes it.

    Raises:
        StoreError: the record cannot be expressed in a users file.
    """
    _check_token("user name", username, username)
    if username.startswith("#"):
        raise StoreError(f"cannot write {username!r} to a users file: it would be a comment")
    if pin.kind == "hash":
        raise StoreError(
            f"cannot write {username!r} to a users file: it keeps PINs in plain text and "
            "cannot check a hashed PIN; use an SQLite or PostgreSQL store"
        )
    if pin.kind == "plain":
        _check_token("PIN", pin.value, username)
        if pin.value in ("-", "+"):
            raise StoreError(
                f"cannot write {username!r}: a PIN of '-' or '+' has a special meaning"
            )
    if token_type.t0 != 0:
        raise StoreError(f"cannot write {username!r} to a users file: it has no T0 field")
    if not key or len(key) > _MAX_KEY_BYTES:
        raise StoreError(f"cannot write {username!r}: the key must be 1..{_MAX_KEY_BYTES} bytes")
    counter, failures = state.token.counter, state.failures
    if not -_LONG <= counter < _LONG or not 0 <= failures < _UINT:
        raise StoreError(f"cannot write {username!r}: counter or failure count out of range")
    pin_text = {"none": "-", "delegated": "+"}.get(pin.kind, pin.value)
    text = f"{token_type.canonical():<7} {username:<13} {pin_text:<7} {key.hex()}"
    text += f" {counter:<3} {failures:<2}"
    if state.last_otp:
        _check_token("last OTP", state.last_otp, username)
        when = time.localtime(int(state.last_auth or 0))
        ip = state.last_ip or _NO_IP
        _check_token("client address", ip, username)
        text += f" {state.last_otp:<7} {time.strftime(_TIME_LOCAL, when)} {ip}"
    return (text + "\n").encode("utf-8")


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _enc_float(value: float | None) -> float | str | None:
    # JSON has no infinity; an administrator's lock is locked_until = inf.
    return "inf" if value is not None and math.isinf(value) else value


def _dec_float(value: Any) -> float | None:
    if value is None:
        return None
    if value == "inf":
        return math.inf
    return float(value)


@dataclass(slots=True)
class _Snapshot:
    """The users file and sidecar as read at one moment."""

    lines: list[_Line]
    by_name: dict[str, _Line]
    dups: dict[str, tuple[int, int]]
    sidecar: dict[str, dict[str, Any]]
    stat: os.stat_result
    data: bytes
    sidecar_data: bytes


class UsersFileStore:
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
        self._parsed: dict[bytes, _Line] = {}
        if create:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError(f"cannot create users file {self.path}: {exc.strerror}") from None
        with self._locked(False):
            snap = self._snapshot()
        if snap.dups:
            name, (a, b) = next(iter(snap.dups.items()))
            raise StoreError(
                f"users file {self.path}: user {name!r} appears on lines {a} and {b}; "
                "remove one of them"
            )

    # -- reading -----------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        try:
            # As the reference module opens it: create, truncate, 0600.
            fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open lock file {self.lock_path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _check_mode(self, st: os.stat_result, path: str) -> None:
        if st.st_mode & (stat.S_IROTH | stat.S_IWOTH):
            raise StoreError(
                f"{path} is readable or writable by every user (mode "
                f"{stat.S_IMODE(st.st_mode):04o}) but holds PINs and keys in plain text; "
                f"chmod o-rwx {path}"
            )

    def _read_sidecar(self) -> bytes:
        try:
            with open(self.sidecar_path, "rb") as f:
                self._check_mode(os.fstat(f.fileno()), self.sidecar_path)
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
                self._check_mode(st, self.path)
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
        lines = [self._parse_cached(n, raw) for n, raw in enumerate(_split_lines(data), 1)]
        if len(self._parsed) > 2 * len(lines) + 64:
            self._parsed = {ln.raw: ln for ln in lines}
        by_name: dict[str, _Line] = {}
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

    def _parse_cached(self, lineno: int, raw: bytes) -> _Line:
        known = self._parsed.get(raw)
        if known is None:
            known = self._parsed[raw] = _parse_line(lineno, raw)
        if known.lineno == lineno:
            return known
        return _Line(lineno, raw, known.entry, known.problem, known.note)

    def problems(self) -> list[tuple[int, str]]:
        """Lines the store ignores, as (line number, reason); duplicates included.

        Raises:
            StoreError: the file cannot be read.
        """
        with self._locked(False):
            snap = self._snapshot()
        out = [(ln.lineno, ln.problem) for ln in snap.lines if ln.problem is not None]
        out += [(b, f"user {n!r} repeats line {a}") for n, (a, b) in snap.dups.items()]
        return sorted(out)

    def _line_of(self, snap: _Snapshot, username: str) -> _Line | None:
        if username in snap.dups:
            a, b = snap.dups[username]
            raise StoreError(
                f"users file {self.path}: user {username!r} appears on lines {a} and {b}; "
                "refusing to guess which one is meant"
            )
        return snap.by_name.get(username)

    def _version(self, line: _Line, side: dict[str, Any]) -> str:
        # Recovery codes are left out: consuming one must not fail a login.
        relevant = {k: v for k, v in side.items() if k != "recovery_codes"}
        blob = line.raw + b"\x00" + json.dumps(relevant, sort_keys=True).encode()
        return _digest(blob)

    def _record(self, line: _Line, side: dict[str, Any]) -> UserRecord:
        entry = line.entry
        assert entry is not None
        state = entry.derived_state()
        shadow = side.get("shadow")
        if isinstance(shadow, dict) and shadow.get("line") == _digest(line.raw):
            # The line is the one written together with these exact values.
            state = UserState(
                token=TokenState(state.token.counter, shadow.get("last_step")),
                failures=state.failures,
                last_otp=state.last_otp,
                last_auth=_dec_float(shadow.get("last_auth")),
                last_ip=shadow.get("last_ip"),
            )
        state = UserState(
            token=state.token,
            failures=state.failures,
            last_otp=state.last_otp,
            last_auth=state.last_auth,
            last_ip=state.last_ip,
            locked_until=_dec_float(side.get("locked_until")),
            revoked_before=_dec_float(side.get("revoked_before")),
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

    def get(self, username: str) -> UserRecord | None:
        with self._locked(False):
            snap = self._snapshot()
        line = self._line_of(snap, username)
        if line is None:
            return None
        return self._record(line, snap.sidecar.get(username, {}))

    def list_users(self) -> Iterator[UserRecord]:
        with self._locked(False):
            snap = self._snapshot()
        if snap.dups:
            name, (a, b) = next(iter(snap.dups.items()))
            raise StoreError(f"users file {self.path}: user {name!r} appears on lines {a} and {b}")
        records = [self._record(ln, snap.sidecar.get(n, {})) for n, ln in snap.by_name.items()]
        return iter(sorted(records, key=lambda r: r.username))

    # -- writing -----------------------------------------------------------

    def _sidecar_entry(
        self, old: dict[str, Any], line: bytes, rec_state: UserState, serial: str | None
    ) -> dict[str, Any]:
        """The sidecar entry to keep next to ``line``: only what the line cannot say."""
        entry = {k: v for k, v in old.items() if k == "recovery_codes"}
        if serial is not None:
            entry["serial"] = serial
        if rec_state.locked_until is not None:
            entry["locked_until"] = _enc_float(rec_state.locked_until)
        if rec_state.revoked_before is not None:
            entry["revoked_before"] = _enc_float(rec_state.revoked_before)
        parsed = _parse_line(0, line).entry
        assert parsed is not None
        derived = parsed.derived_state()
        wanted = (rec_state.token.last_step, rec_state.last_auth, rec_state.last_ip)
        if (derived.token.last_step, derived.last_auth, derived.last_ip) != wanted:
            entry["shadow"] = {
                "line": _digest(line),
                "last_step": rec_state.token.last_step,
                "last_auth": _enc_float(rec_state.last_auth),
                "last_ip": rec_state.last_ip,
            }
        return entry

    def _write_file(self, target: str, data: bytes, like: os.stat_result | None) -> None:
        """Atomically replace ``target``: write ``target.new``, fsync, rename, fsync dir."""
        new = target + NEW_SUFFIX
        try:
            fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                if like is not None:
                    os.fchmod(fd, stat.S_IMODE(like.st_mode))
                    if (like.st_uid, like.st_gid) != (os.geteuid(), os.getegid()):
                        try:
                            os.fchown(fd, like.st_uid, like.st_gid)
                        except PermissionError:
                            log.warning("cannot keep the owner of %s (not permitted)", target)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(new, target)
            dfd = os.open(os.path.dirname(target), os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(new)
            log.error("cannot write %s: %s", target, exc.strerror or exc)
            raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from None

    def _write_sidecar(self, users: dict[str, dict[str, Any]], snap: _Snapshot) -> None:
        if not users and not os.path.exists(self.sidecar_path):
            return
        doc = {"format": 1, "users": {n: users[n] for n in sorted(users)}}
        data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
        try:
            like: os.stat_result | None = os.stat(self.sidecar_path)
        except FileNotFoundError:
            like = None
        if like is None:
            # A new sidecar: the users file's owner, but never more than 0600.
            like = os.stat_result((stat.S_IFREG | 0o600, *snap.stat[1:]))
        self._write_file(self.sidecar_path, data, like)

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
        self._write_file(self.path, b"".join(lines), snap.stat)
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
        new_line = format_line(
            record.username, record.token_type, record.key, record.pin, record.state
        )
        with self._locked(True):
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
        new_line = format_line(
            record.username, record.token_type, record.key, record.pin, record.state
        )
        with self._locked(True):
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
        with self._locked(True):
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
        with self._locked(True):
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
            new_parsed = _parse_line(line.lineno, new_line)
            return self._record(new_parsed, side)

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        with self._locked(True):
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
        with self._locked(True):
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

    def ping(self) -> None:
        with self._locked(False):
            self._snapshot()

    def close(self) -> None:
        self._cache = None
