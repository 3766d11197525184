"""Recovery codes: single-use stand-ins for the one-time password.

A code is 16 base32 characters (80 random bits), shown grouped as
``ABCD-EFGH-JKLM-NPQR`` and typed in place of the OTP, after the PIN.  Case,
and the dashes, are optional.

Stored as SHA-256 over a domain tag, the user name (the per-user salt) and the
code.  A slow hash is not needed: it protects low-entropy secrets against
guessing, and 80 random bits cannot be searched offline (2**80 SHA-256
evaluations) whatever the hash costs; the salt stops one precomputed table
from covering every user.  A fast hash also lets the store look the code up
by its digest and delete it atomically.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Final

from .pins import encode_secret

__all__ = ["CODE_CHARS", "digest", "generate", "normalise", "split_password"]

CODE_CHARS: Final = 16
_GROUPED: Final = re.compile(r"(?:[A-Za-z2-7]{4}-){3}[A-Za-z2-7]{4}", re.ASCII)
_COMPACT: Final = re.compile(r"[A-Za-z2-7]{16}", re.ASCII)
_LETTER: Final = re.compile(r"[A-Za-z]", re.ASCII)


def generate(n: int = 10) -> list[str]:
    """``n`` fresh codes, grouped for display.

    Raises:
        ValueError: ``n`` is not 1..100.
    """
    if not 1 <= n <= 100:
        raise ValueError("the number of recovery codes must be 1..100")
    codes: list[str] = []
    while len(codes) < n:
        raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
        # An all-digit code would look like a (long) OTP; draw again.
        if not _LETTER.search(raw) or raw in codes:
            continue
        codes.append("-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4)))
    return codes


def normalise(code: str) -> str:
    return code.replace("-", "").upper()


def digest(username: str, code: str) -> str:
    """The stored form of a code (hex SHA-256, salted with the user name)."""
    h = hashlib.sha256(b"otpgate-recovery-v1\0")
    h.update(encode_secret(username))
    h.update(b"\0")
    h.update(normalise(code).encode("ascii"))
    return h.hexdigest()


def split_password(password: str) -> tuple[str, str] | None:
    """``(pin, code)`` if the password ends with something shaped like a code."""
    tail = password[-19:]
    if len(tail) == 19 and _GROUPED.fullmatch(tail):
        return password[:-19], tail
    tail = password[-CODE_CHARS:]
    if len(tail) == CODE_CHARS and _COMPACT.fullmatch(tail) and _LETTER.search(tail):
        return password[:-CODE_CHARS], tail
    return None
