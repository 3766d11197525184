"""Locked, atomic file I/O for the users file and its sidecar (the reference protocol)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from collections.abc import Iterator

from ...errors import StoreError

__all__ = ["NEW_SUFFIX", "atomic_write", "locked", "refuse_open_to_all"]

log = logging.getLogger("otpgate.store.usersfile")

NEW_SUFFIX = ".new"


@contextlib.contextmanager
def locked(lock_path: str, exclusive: bool) -> Iterator[None]:
    """Hold ``flock`` on ``lock_path`` (created 0600, as the reference module does)."""
    try:
        # As the reference module opens it: create, truncate, 0600.
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open lock file {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def refuse_open_to_all(st: os.stat_result, path: str) -> None:
    """Refuse a file every user may read or write: it holds PINs and keys in plain text."""
    if st.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        raise StoreError(
            f"{path} is readable or writable by every user (mode "
            f"{stat.S_IMODE(st.st_mode):04o}) but holds PINs and keys in plain text; "
            f"chmod o-rwx {path}"
        )


def atomic_write(target: str, data: bytes, like: os.stat_result | None) -> None:
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
