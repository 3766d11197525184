"""One-time password algorithms: HOTP (RFC 4226), TOTP (RFC 6238), Mobile-OTP.

Pure functions: keys are bytes, time is passed in, nothing touches I/O.

HMAC is computed from precomputed inner and outer hash states
(:class:`HmacKey`), which on OpenSSL 3 is about three times cheaper than
``hmac.digest`` for the 8-byte messages OTPs sign; verification over a window
computes several HMACs with one key, so the set-up is paid once.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal

__all__ = [
    "ALGORITHMS",
    "MAX_DIGITS",
    "WORD_DIGITS",
    "Algorithm",
    "HmacKey",
    "hotp",
    "hotp_finder",
    "hotp_function",
    "hotp_hex",
    "motp",
    "time_step",
    "totp",
    "truncate",
]

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
ALGORITHMS: Final[tuple[Algorithm, ...]] = ("SHA1", "SHA256", "SHA512")
MAX_DIGITS: Final = 10
_POW10: Final = tuple(10**i for i in range(MAX_DIGITS + 1))
_HASHLIB_NAMES: Final[dict[str, str]] = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


def _check_algorithm(algorithm: str) -> str:
    try:
        return _HASHLIB_NAMES[algorithm]
    except KeyError:
        raise ValueError(
            f"unsupported hash algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}"
        ) from None


# RFC 2104's pads as byte translations: XOR with 0x36 and 0x5C, every byte at once
# (a Python loop over the key bytes made a token's set-up cost a quarter millisecond).
_IPAD: Final = bytes(b ^ 0x36 for b in range(256))
_OPAD: Final = bytes(b ^ 0x5C for b in range(256))


class HmacKey:
    """An HMAC key with its inner and outer hash states computed once.

    ``digest(msg)`` equals ``hmac.digest(key, msg, algorithm)``.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, algorithm: Algorithm = "SHA1") -> None:
        if not isinstance(key, bytes | bytearray):
            raise TypeError("key must be bytes")
        name = _check_algorithm(algorithm)
        inner = hashlib.new(name)
        block = inner.block_size
        if len(key) > block:
            key = hashlib.new(name, key).digest()
        key = bytes(key).ljust(block, b"\0")
        inner.update(key.translate(_IPAD))
        outer = hashlib.new(name)
        outer.update(key.translate(_OPAD))
        self._inner = inner
        self._outer = outer

    def digest(self, msg: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def truncate(mac: bytes) -> int:
    """Dynamic truncation, RFC 4226 section 5.3: a 31-bit integer."""
    offset = mac[-1] & 0x0F
    return int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF


def _check_digits(digits: int) -> None:
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise TypeError("digits must be an int")
    if not 1 <= digits <= MAX_DIGITS:
        raise ValueError(f"digits must be between 1 and {MAX_DIGITS}, not {digits}")


def _counter_bytes(counter: int) -> bytes:
    if isinstance(counter, bool) or not isinstance(counter, int):
        raise TypeError("counter must be an int")
    if not 0 <= counter < 1 << 64:
        raise ValueError(f"counter must fit in 64 unsigned bits, not {counter}")
    return counter.to_bytes(8, "big")


def _as_hmac(key: bytes | HmacKey, algorithm: Algorithm) -> HmacKey:
    return key if isinstance(key, HmacKey) else HmacKey(key, algorithm)


def hotp(key: bytes | HmacKey, counter: int, digits: int = 6, algorithm: Algorithm = "SHA1") -> str:
    """The decimal HOTP value for ``counter``, zero padded to ``digits``.

    Ten digits are the whole 31-bit value, as mod_authn_otp and oathtool print it.
    """
    _check_digits(digits)
    value = truncate(_as_hmac(key, algorithm).digest(_counter_bytes(counter)))
    if digits < MAX_DIGITS:
        value %= _POW10[digits]
    return str(value).zfill(digits)


def hotp_function(
    key: bytes | HmacKey, digits: int = 6, algorithm: Algorithm = "SHA1"
) -> Callable[[int], str]:
    """A fast ``counter -> code`` function for one key, equal to :func:`hotp`.

    Verification computes every candidate in a window, and at a few microseconds
    per login the Python around the HMAC is most of the cost; this closure does
    the argument checks once and keeps the per-counter work to the HMAC from
    the precomputed states, the truncation and one format.

    Raises:
        TypeError, ValueError: bad ``digits`` or ``algorithm`` (at once), or a
            counter that is not an int in ``[0, 2**64)`` (when called).
    """
    _check_digits(digits)
    mac = _as_hmac(key, algorithm)
    inner, outer = mac._inner, mac._outer
    pack = struct.Struct(">Q").pack
    from_bytes = int.from_bytes
    # Ten digits keep the whole 31-bit value (< 10**10), so one modulus serves every length.
    modulus = _POW10[digits]
    fmt = f"%0{digits}d"

    def code(counter: int) -> str:
        if counter.__class__ is not int:
            _counter_bytes(counter)  # raises the precise TypeError
        try:
            msg = pack(counter)
        except struct.error:
            _counter_bytes(counter)  # raises the precise ValueError
            raise
        h = inner.copy()
        h.update(msg)
        o = outer.copy()
        o.update(h.digest())
        d = o.digest()
        offset = d[-1] & 0x0F
        value: int = (from_bytes(d[offset : offset + 4], "big") & 0x7FFFFFFF) % modulus
        return fmt % value

    return code


# Codes of up to nine digits are below 2**30, one machine word ("digit") of a CPython int:
# comparing two such ints is a single word comparison, as constant in time as
# hmac.compare_digest and without formatting each candidate as text.  Ten-digit codes
# (the whole 31-bit value) can take two words, whose comparison stops at the first
# that differs, so they are compared as text with hmac.compare_digest.
WORD_DIGITS: Final = 9


def hotp_finder(
    key: bytes | HmacKey, digits: int = 6, algorithm: Algorithm = "SHA1"
) -> Callable[[Iterable[int], int], list[int]]:
    """A fast ``(counters, code) -> matching counters`` function for one key.

    ``code`` is the code's value (the caller checks its form first: exactly
    ``digits`` ASCII digits).  Every counter's code is computed and compared in
    constant time (one machine word for up to :data:`WORD_DIGITS` digits, else
    :func:`hmac.compare_digest`); there is no early exit, so the time taken
    does not tell which candidate (if any) matched.

    Raises:
        TypeError, ValueError: bad ``digits`` or ``algorithm`` (at once), or a
            counter that is not an int in ``[0, 2**64)`` (when called).
    """
    _check_digits(digits)
    mac = _as_hmac(key, algorithm)
    inner_copy, outer_copy = mac._inner.copy, mac._outer.copy
    pack = struct.Struct(">Q").pack
    unpack_from = struct.Struct(">I").unpack_from
    modulus = _POW10[digits]

    def find(counters: Iterable[int], code: int) -> list[int]:
        # One frame for the whole window: per-candidate calls cost as much as the HMAC.
        hits = []
        for counter in counters:
            try:
                msg = pack(counter)
            except struct.error:
                _counter_bytes(counter)  # raises the precise TypeError or ValueError
                raise
            h = inner_copy()
            h.update(msg)
            o = outer_copy()
            o.update(h.digest())
            d = o.digest()
            if (unpack_from(d, d[-1] & 0x0F)[0] & 0x7FFFFFFF) % modulus == code:
                hits.append(counter)
        return hits

    return find if digits <= WORD_DIGITS else _text_finder(inner_copy, outer_copy, digits)


def _text_finder(
    inner_copy: Callable[[], Any], outer_copy: Callable[[], Any], digits: int
) -> Callable[[Iterable[int], int], list[int]]:
    """:func:`hotp_finder` for codes longer than :data:`WORD_DIGITS`: compared as text."""
    fmt = f"%0{digits}d"
    equal = hmac.compare_digest

    def find_text(counters: Iterable[int], code: int) -> list[int]:
        text = fmt % code
        hits = []
        for counter in counters:
            h = inner_copy()
            h.update(_counter_bytes(counter))
            o = outer_copy()
            o.update(h.digest())
            if equal(fmt % truncate(o.digest()), text):
                hits.append(counter)
        return hits

    return find_text


def hotp_hex(
    key: bytes | HmacKey, counter: int, digits: int = 6, algorithm: Algorithm = "SHA1"
) -> str:
    """The hex form mod_authn_otp accepts: the low ``4*digits`` bits, lowercase.

    With eight or more digits the whole 31-bit value is printed (zero padded to 8).
    """
    _check_digits(digits)
    value = truncate(_as_hmac(key, algorithm).digest(_counter_bytes(counter)))
    if digits < 8:
        value &= (1 << (4 * digits)) - 1
        return format(value, "x").zfill(digits)
    return format(value, "x").zfill(8)


def time_step(now: float, step: int = 30, t0: int = 0) -> int:
    """The TOTP counter ``floor((now - t0) / step)``."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"time step must be a whole number of seconds >= 1, not {step!r}")
    if now < t0:
        raise ValueError("time is before T0")
    return int((now - t0) // step)


def totp(
    key: bytes | HmacKey,
    now: float,
    step: int = 30,
    digits: int = 6,
    algorithm: Algorithm = "SHA1",
    t0: int = 0,
) -> str:
    """The TOTP value at Unix time ``now``."""
    return hotp(key, time_step(now, step, t0), digits, algorithm)


def motp(key: bytes, pin: str, counter: int, digits: int = 6) -> str:
    """Mobile-OTP: the first ``digits`` hex digits of MD5(counter + hexkey + PIN).

    ``counter`` is normally ``int(time / 10)``; the PIN is part of the hash,
    so a mOTP password carries no PIN prefix.
    """
    _check_digits(digits)
    if counter < 0:
        raise ValueError("counter must not be negative")
    material = f"{counter}{key.hex()}{pin}".encode()
    # MD5 is what the Mobile-OTP scheme defines; it is not used for anything else here.
    return hashlib.md5(material, usedforsecurity=False).hexdigest()[:digits]
