"""The audit log: one JSON line per login decision and per administrative action.

Login lines: ``ts`` (ISO 8601 UTC, milliseconds), ``user``, ``ip``, ``result``
(``accept``/``reject``), ``reason``, ``fresh``, ``token`` (type), ``serial``,
``retry_after`` where set.  Administrative lines (:meth:`AuditLog.admin`) carry
``kind: "admin"``, the ``actor`` who acted, ``via`` (``web`` or ``cli``), the
``action``, the ``user`` acted on, the actor's ``ip`` (web), ``result``
(``ok``/``refused``/``error``) and a ``detail`` saying what changed.  Never a
PIN, key, OTP, link token or password: the caller only hands over those
fields, and the writer refuses anything else.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from ..store.authenticators import AuthenticatorInfo
    from ..store.records import UserRecord

__all__ = ["ADMIN", "AuditLog", "AuditLogUnavailable", "Decided", "iso_utc"]

log = logging.getLogger(__name__)


class Decided(Protocol):
    """What the audit log records of a login decision (:class:`otpgate.login.attempt.Decision`).

    Defined here, below the login package, so that the audit log imports nothing above it.
    """

    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def retry_after(self) -> float | None: ...

    @property
    def fresh(self) -> bool: ...

    @property
    def authenticator(self) -> AuthenticatorInfo | None: ...


_FIELDS: Final = frozenset(
    {
        "user",
        "ip",
        "result",
        "reason",
        "fresh",
        "token",
        "serial",
        "token_id",
        "token_name",
        "retry_after",
        "detail",
        "kind",
        "actor",
        "via",
        "action",
    }
)
ADMIN: Final = "admin"
# User names and addresses come from clients; keep a line bounded.
_MAX_FIELD: Final = 256


def iso_utc(ts: float) -> str:
    """``2026-11-28T21:30:00.123Z``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditLogUnavailable(OSError):
    """The audit log file cannot be opened.

    An :class:`OSError` (``errno``, ``strerror``, ``filename`` as usual) whose
    text is one line naming the file, not ``[Errno 2] ...: '<path>'``.
    """

    def __str__(self) -> str:
        why = " (its directory does not exist)" if self.errno == errno.ENOENT else ""
        return f"cannot open the audit log {self.filename}: {self.strerror}{why}"


class AuditLog:
    """Appends JSON lines to a file path or a text stream; thread-safe.

    Args:
        target: a path (opened for appending, created with ``mode``) or a text
            stream; ``"-"`` means standard output.  A file moved away by
            logrotate is noticed within a second and opened anew.
        mode: the mode of a file this makes (0600; 0640 or 0660 for a group
            sharing it, ``auth.audit_log_mode``).

    Raises:
        AuditLogUnavailable: the file cannot be opened (an :class:`OSError`).
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str], mode: int = 0o600) -> None:
        self._lock = threading.Lock()
        self._owned = False
        self._path: str | None = None
        self._checked = 0.0
        self._mode = mode
        self._stream: IO[str]
        if isinstance(target, str | os.PathLike):
            if os.fspath(target) == "-":
                self._stream = sys.stdout
            else:
                self._path = os.fspath(target)
                try:
                    self._stream = self._open(self._path)
                except OSError as exc:
                    raise AuditLogUnavailable(exc.errno, exc.strerror, self._path) from None
                self._owned = True
        else:
            self._stream = target

    @property
    def path(self) -> str | None:
        """The file written to, or ``None`` for a stream."""
        return self._path

    def _open(self, path: str) -> IO[str]:
        """Append to the file; one made here gets exactly ``mode`` (not narrowed by the
        umask: systemd's ``UMask=0077`` would keep a shared log from its group), an
        existing one keeps its own (logrotate's ``create`` says it).

        Made by root (sshd's PAM stack, an administrator's ``otpgate user ...``)
        in a directory root does not own, the file goes to the directory's owner
        and group, as SQLite does with its ``-wal`` file: the gate that owns
        ``/var/log/otpgate`` must still write it.  The owner of a directory
        controls its files already; this gives nobody more.
        """
        for _ in range(3):  # logrotate may move it between the two opens
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
                os.fchmod(fd, self._mode)
                if os.geteuid() == 0:
                    where = os.stat(os.path.dirname(os.path.abspath(path)))
                    os.fchown(fd, where.st_uid, where.st_gid)
                break
            except FileExistsError:
                pass
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
                break
            except FileNotFoundError:
                continue
        else:
            raise FileNotFoundError(errno.ENOENT, "keeps vanishing", path)
        return os.fdopen(fd, "a", encoding="utf-8", buffering=1)

    def _follow_rotation(self) -> None:
        """Reopen the file if logrotate moved it away (checked at most once a second)."""
        if self._path is None or not self._owned:
            return
        tick = time.monotonic()
        if tick - self._checked < 1.0:
            return
        self._checked = tick
        try:
            current = os.fstat(self._stream.fileno())
            try:
                named = os.stat(self._path)
                moved = (named.st_ino, named.st_dev) != (current.st_ino, current.st_dev)
            except FileNotFoundError:
                moved = True
            if moved:
                fresh = self._open(self._path)
                self._stream.close()
                self._stream = fresh
        except OSError as exc:
            log.error("cannot reopen the audit log %s: %s", self._path, exc.strerror)

    def write(self, ts: float, **fields: object) -> None:
        """Write one line.  A write error is logged, never raised: the decision stands."""
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ValueError(f"audit lines carry no {sorted(unknown)}")
        line: dict[str, object] = {"ts": iso_utc(ts)}
        for name, value in fields.items():
            if value is None:
                continue
            if isinstance(value, str) and len(value) > _MAX_FIELD:
                value = value[:_MAX_FIELD] + "..."
            line[name] = value
        text = json.dumps(line, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._follow_rotation()
            try:
                self._stream.write(text + "\n")
                self._stream.flush()
            except (OSError, ValueError) as exc:
                log.error("cannot write the audit log: %s", exc)

    def login(
        self, ts: float, decision: Decided, user: str, ip: str, record: UserRecord | None
    ) -> None:
        """Record one login decision; ``user`` and ``ip`` as sent (not text: its type only).

        The token is the one whose code was used (``token_id``, ``token_name``),
        else the user's first (none for a user with passkeys only).
        """
        used = decision.authenticator
        token = None if record is None else next(iter(record.tokens()), None)
        if record is not None and used is not None:
            token = record.find(used.id) or token
        self.write(
            ts,
            user=user if isinstance(user, str) else repr(type(user)),
            ip=ip if isinstance(ip, str) else None,
            result="accept" if decision.ok else "reject",
            reason=decision.reason,
            fresh=decision.fresh,
            token=str(token.token_type) if token is not None else None,
            serial=token.serial if token is not None else None,
            token_id=used.id if used is not None else None,
            token_name=used.name if used is not None else None,
            retry_after=round(decision.retry_after, 3)
            if decision.retry_after is not None
            else None,
        )

    def admin(
        self,
        ts: float,
        *,
        actor: str,
        via: str,
        action: str,
        user: str | None,
        ip: str | None = None,
        result: str = "ok",
        detail: str | None = None,
    ) -> None:
        """Record an administrative action (``kind: "admin"``): who, from where, what changed."""
        self.write(
            ts,
            kind=ADMIN,
            actor=actor,
            via=via,
            action=action,
            user=user,
            ip=ip,
            result=result,
            detail=detail,
        )

    def close(self) -> None:
        with self._lock:
            if self._owned:
                self._stream.close()
                self._owned = False
