"""What commands print: times for people, warnings, and QR codes written whole.

A QR code holds a secret: :func:`write_qr` writes it readable by its owner
only, through a temporary file and a rename, so no half picture is left.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Final

from ..audit.writer import iso_utc
from . import CommandError

__all__ = ["QR_KINDS", "check_qr_target", "print_warnings", "when", "write_qr"]

QR_KINDS: Final = {".png": "png", ".svg": "svg"}


def when(ts: float | None, never: str = "-") -> str:
    """A timestamp for people: ``2026-01-02 03:04:05Z``, ``never`` for none."""
    if ts is None:
        return never
    if math.isinf(ts):
        return "until unlocked"
    return iso_utc(ts)[:19].replace("T", " ") + "Z"


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        print(f"otpgate: warning: {w.message}", file=sys.stderr)


def check_qr_target(target: str) -> None:
    """Refuse a QR file name before any secret exists that would need it.

    Raises:
        CommandError: not .png/.svg, or its directory does not exist.
    """
    path = Path(target)
    if path.suffix.lower() not in QR_KINDS:
        raise CommandError(f"--qr-out must end in .png or .svg, not {path.name!r}")
    if not path.resolve().parent.is_dir():
        raise CommandError(f"--qr-out: no directory {str(path.parent)!r}")


def write_qr(qr: Any, target: str) -> None:
    """Save the QR code via a temporary file, fsync and rename, so no half file is left.

    Raises:
        CommandError: the name does not end in .png or .svg.
        OSError: the file cannot be written.
    """
    path = Path(target)
    kind = QR_KINDS.get(path.suffix.lower())
    if kind is None:
        raise CommandError(f"--qr-out must end in .png or .svg, not {path.name!r}")
    # mkstemp creates the file 0600: the picture holds the secret.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            qr.save(fh, kind=kind, scale=6 if kind == "png" else 4)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
