"""``users-file:/PATH``: mod_authn_otp's users file as a store (see :mod:`._store`)."""

from __future__ import annotations

from ._file import SIDECAR_SUFFIX
from ._lines import format_line
from ._store import UsersFileStore

__all__ = ["SIDECAR_SUFFIX", "UsersFileStore", "format_line"]
