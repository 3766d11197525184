"""``users-file:/PATH``: mod_authn_otp's users file, as a drop-in.

The file format is the reference module's (docs/stores.md, "The users file"):
one user per line, ``TYPE USER PIN HEXKEY [COUNTER [STATE...]]``, ``#``
comments in column 1, blank lines.  This store reads every form the reference
module reads and writes the way it writes:

* Only the line of the user being changed is rewritten, in the reference's
  own layout (its ``print_user``); every other byte -- comments, blank lines,
  lines it cannot parse -- is copied unchanged (:mod:`._users`, :mod:`._lines`).
* The same locking protocol: an exclusive ``flock`` on ``<file>.lock``, the new
  content in ``<file>.new``, ``fsync``, ``rename``; here also an ``fsync`` of
  the directory, and the owner and mode of the original are kept (:mod:`._io`).
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
serial, and the exact last step, login time and address when they differ
from what the line implies -- lives in a sidecar JSON file,
``<file>.otpgate.json`` (same lock, atomic writes, mode 0600; :mod:`._sidecar`),
and so do recovery codes, roles and invitations (a module each).  Its exact
values apply only while the user's line is byte-identical to the one written
with them; if another tool rewrites the line, the line wins.  Hashed PINs
cannot be kept: the reference module compares PINs literally.
"""

from __future__ import annotations

import os

from ...errors import StoreError
from ..passkeys import NoPasskeys
from ._directory import FileDirectory
from ._invitations import FileInvitations
from ._recovery_codes import FileRecoveryCodes
from ._users import FileUsers

__all__ = ["UsersFileStore"]


class UsersFileStore(FileUsers, FileRecoveryCodes, FileInvitations, FileDirectory, NoPasskeys):
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
        super().__init__(path, url=url)
        if create:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError(f"cannot create users file {self.path}: {exc.strerror}") from None
        self._read_snapshot()

    def problems(self) -> list[tuple[int, str]]:
        """Lines the store ignores, as (line number, reason); duplicates included.

        Raises:
            StoreError: the file cannot be read.
        """
        snap = self._read_snapshot()
        out = [(ln.lineno, ln.problem) for ln in snap.lines if ln.problem is not None]
        out += snap.dups
        return sorted(out)

    def ping(self) -> None:
        self._read_snapshot()

    def close(self) -> None:
        self._cache = None
