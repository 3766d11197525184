"""Key formats: hex, base32, raw bytes, and key-length policy."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import warnings
from typing import Final, Literal

from ..errors import InvalidKey

__all__ = [
    "MIN_KEY_BITS",
    "MOTP_KEY_BYTES",
    "RECOMMENDED_KEY_BITS",
    "KeyFormat",
    "ShortKeyWarning",
    "check_key_length",
    "decode_key",
    "encode_base32",
    "new_key",
]

KeyFormat = Literal["auto", "hex", "base32"]

MIN_KEY_BITS: Final = 80
RECOMMENDED_KEY_BITS: Final = 128
# Mobile-OTP secrets are 16 hex digits by that scheme's definition.
MOTP_KEY_BYTES: Final = 8

_HEX_RE: Final = re.compile(r"[0-9a-fA-F]+")
_BASE32_RE: Final = re.compile(r"[A-Za-z2-7]+=*")
_SPACES: Final = re.compile(r"[\s\-]+")


class ShortKeyWarning(UserWarning):
    """A key is accepted but shorter than the recommended 128 bits."""


def decode_key(text: str, fmt: KeyFormat = "auto") -> bytes:
    """Decode a key written as hex or base32.

    Spaces and dashes (as authenticator apps group the secret) are ignored;
    base32 is accepted in any case, with or without ``=`` padding.  With
    ``fmt="auto"`` a string of hex digits of even length is hex, anything else
    base32 (so ``"auto"`` is only safe when the writer is known; the CLI asks
    for ``--base32`` explicitly).

    Raises:
        InvalidKey: the text is empty or not valid in the chosen format.
    """
    compact = _SPACES.sub("", text)
    if not compact:
        raise InvalidKey("the key is empty")
    if fmt == "auto":
        fmt = "hex" if _HEX_RE.fullmatch(compact) and len(compact) % 2 == 0 else "base32"
    if fmt == "hex":
        if not _HEX_RE.fullmatch(compact):
            raise InvalidKey("the key is not hexadecimal (0-9, a-f)")
        if len(compact) % 2:
            raise InvalidKey("a hex key needs an even number of digits")
        return bytes.fromhex(compact)
    if fmt == "base32":
        if not _BASE32_RE.fullmatch(compact):
            raise InvalidKey("the key is not base32 (A-Z, 2-7, optional '=' padding)")
        body = compact.rstrip("=").upper()
        if len(body) * 5 % 8 >= 5:
            # A remainder of 5..7 bits cannot come from whole bytes.
            raise InvalidKey("the base32 key has an impossible length")
        padded = body + "=" * (-len(body) % 8)
        try:
            return base64.b32decode(padded)
        except binascii.Error as exc:
            raise InvalidKey(f"the key is not valid base32: {exc}") from None
    raise InvalidKey(f"unknown key format {fmt!r}")


def encode_base32(key: bytes) -> str:
    """Base32 without padding, as otpauth:// URIs carry it."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def check_key_length(key: bytes, *, motp: bool = False) -> None:
    """Refuse keys under 80 bits; warn under 128.

    Mobile-OTP keys are 64 bits by definition and are exempt.

    Raises:
        InvalidKey: the key is too short.
    """
    if motp:
        if not key:
            raise InvalidKey("the key is empty")
        return
    bits = len(key) * 8
    if bits < MIN_KEY_BITS:
        raise InvalidKey(f"the key has {bits} bits; at least {MIN_KEY_BITS} are required")
    if bits < RECOMMENDED_KEY_BITS:
        warnings.warn(
            f"the key has {bits} bits; {RECOMMENDED_KEY_BITS} or more are recommended",
            ShortKeyWarning,
            stacklevel=2,
        )


def new_key(nbytes: int = 20) -> bytes:
    """A fresh random key (160 bits by default, the size RFC 4226 recommends)."""
    return secrets.token_bytes(nbytes)
