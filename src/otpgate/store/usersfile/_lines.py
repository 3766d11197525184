"""The users file's line format: mod_authn_otp's fields, parsed and written (pure).

See docs/stores.md, "The users file".  :mod:`._file` does the locking and
the atomic writes around these functions, and :mod:`._sidecar` keeps what a
line cannot hold.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Final

from ...errors import InvalidTokenType, StoreError
from ...otp.tokens import ShortCodeWarning, TokenType, parse_token_type
from ...otp.verify import TokenState
from ..records import TAG_PREFIX, Pin, UserState

__all__ = [
    "Entry",
    "Line",
    "dec_float",
    "digest",
    "enc_float",
    "format_line",
    "no_tag",
    "parse_line",
    "split_lines",
]

# The reference module splits on these (not on form feed).
_SPLIT: Final = re.compile(rb"[ \t\r\n\v]+")
_SIGNED: Final = re.compile(r"[-+]?[0-9]{1,19}", re.ASCII)
_UNSIGNED: Final = re.compile(r"[0-9]{1,10}", re.ASCII)
_HEX: Final = re.compile(r"(?:[0-9a-fA-F]{2})+", re.ASCII)
_HEX_DIGITS: Final = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_TIME_LOCAL: Final = "%Y-%m-%dT%H:%M:%SL"
_TIME_UTC: Final = "%Y-%m-%dT%H:%M:%SZ"
_TIME_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[LZ]", re.ASCII)
_LONG: Final = 1 << 63
_UINT: Final = 1 << 32
# The reference module's buffer sizes (MAX_USERNAME, MAX_PIN, MAX_KEY, ...).
_MAX_FIELD: Final = 127
_MAX_KEY_BYTES: Final = 256
_NO_IP: Final = "-"
# PIN fields with a meaning: no PIN, or one another checker verifies.
_SPECIAL_PINS: Final = {"-": Pin("none"), "+": Pin("delegated")}


@dataclass(slots=True)
class Entry:
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
class Line:
    lineno: int
    raw: bytes
    entry: Entry | None = None
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


def parse_line(lineno: int, raw: bytes) -> Line:
    """Parse one line; ``entry`` is None for comments, blanks and invalid lines."""
    line = Line(lineno, raw)
    if raw.startswith(b"#"):
        return line
    fields_b = [f for f in _SPLIT.split(raw) if f]
    if not fields_b:
        return line
    try:
        fields = _decoded(raw, fields_b)
        token_type, line.note = _token_type(fields[0])
        line.entry = _entry(fields, token_type)
    except ValueError as exc:
        line.problem = str(exc)
    return line


def _decoded(raw: bytes, fields: list[bytes]) -> list[str]:
    """The fields as text.  Raises ValueError: a NUL byte, or not UTF-8."""
    if b"\x00" in raw:
        raise ValueError("contains a NUL byte")
    try:
        return [f.decode("utf-8") for f in fields]
    except UnicodeDecodeError:
        raise ValueError("is not valid UTF-8") from None


def _token_type(text: str) -> tuple[TokenType, str | None]:
    """The line's token type, and what to say about its short codes, if anything.

    Raises:
        ValueError: not a token type.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ShortCodeWarning)
        try:
            token_type = parse_token_type(text, allow_short=True)
        except InvalidTokenType:
            raise ValueError(f"invalid token type {text[:20]!r}") from None
    return token_type, (str(caught[0].message) if caught else None)


def _entry(fields: list[str], token_type: TokenType) -> Entry:
    """The user of a line whose token type was read.

    Raises:
        ValueError: the line's problem (never quoting the PIN or the key).
    """
    if len(fields) < 2:
        raise ValueError("missing username field")
    if len(fields) < 3:
        raise ValueError("missing PIN field")
    if len(fields) < 4:
        raise ValueError("missing token key field")
    key = _key(fields[3])
    counter = 0
    if len(fields) >= 5:
        if not _SIGNED.fullmatch(fields[4]) or not -_LONG <= int(fields[4]) < _LONG:
            raise ValueError("the counter/offset is not a whole number")
        counter = int(fields[4])
    if len(fields) > 9:
        raise ValueError(f"{len(fields)} fields; at most 9 are allowed")
    failures, last_otp, last_auth, last_ip = _parse_state(fields[5:])
    pin = _SPECIAL_PINS.get(fields[2]) or Pin("plain", fields[2])
    return Entry(fields[1], token_type, pin, key, counter, failures, last_otp, last_auth, last_ip)


def _key(text: str) -> bytes:
    """The key field.  Raises ValueError: not whole bytes in hex, or too long."""
    if not _HEX.fullmatch(text):
        if _HEX_DIGITS.fullmatch(text):
            raise ValueError("the key has an odd number of hex digits")
        raise ValueError("the key has a character that is not a hex digit (0-9, a-f)")
    key = bytes.fromhex(text)
    if len(key) > _MAX_KEY_BYTES:
        raise ValueError(f"the key is longer than {_MAX_KEY_BYTES} bytes")
    return key


def _parse_state(
    extra: list[str],
) -> tuple[int, str | None, int | None, str | None]:
    """Fields 6..9: (failures, last OTP, time, address), by how many there are.

    Raises:
        ValueError: with the reason for the line's problem (never quoting a secret).
    """
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
            raise ValueError("the failure count is not a whole number")
        failures = int(failures_s)
    last_otp = last_ip = None
    last_auth = None
    if rest:
        last_otp = rest[0]
        try:
            last_auth = _parse_time(rest[1])
        except (ValueError, OverflowError):
            # Not quoted: when fields are shifted it may be a (lingering) OTP.
            raise ValueError("invalid auth timestamp (expected YYYY-MM-DDTHH:MM:SSL)") from None
        if len(rest) == 3 and rest[2] != _NO_IP:
            last_ip = rest[2]
    return failures, last_otp, last_auth, last_ip


def split_lines(data: bytes) -> list[bytes]:
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


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def enc_float(value: float | None) -> float | str | None:
    # JSON has no infinity; an administrator's lock is locked_until = inf.
    return "inf" if value is not None and math.isinf(value) else value


def dec_float(value: Any) -> float | None:
    if value is None:
        return None
    if value == "inf":
        return math.inf
    return float(value)


def no_tag(state: UserState) -> UserState:
    """Drop a last OTP that an SQL store kept as its digest (a copied record).

    The reference format holds the code itself; a digest would mean nothing to
    mod_authn_otp.  The used step stays, so the code is still refused.
    """
    if state.last_otp is not None and state.last_otp.startswith(TAG_PREFIX):
        return dataclasses.replace(state, last_otp=None)
    return state
