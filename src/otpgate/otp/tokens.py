"""Token types, tokens and otpauth:// URIs.

Token type strings are those of mod_authn_otp's users file::

    HOTP  HOTP/E  HOTP/E/8  HOTP/T30  HOTP/T60/5  MOTP  MOTP/E  E  T

plus one extension for the SHA-2 hashes, ``HOTP-SHA256/T30/8`` and
``HOTP-SHA512/...``.  The reference module only knows ``HOTP`` and ``MOTP`` as
the first field, so it reports such a line as invalid and leaves it alone
instead of misreading it as a SHA-1 token.
"""

from __future__ import annotations

import re
import urllib.parse
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from ..errors import InvalidKey, InvalidTokenType, InvalidURI
from .algorithms import (
    ALGORITHMS,
    MAX_DIGITS,
    Algorithm,
    HmacKey,
    hotp_finder,
    hotp_function,
    hotp_hex,
    motp,
    time_step,
)
from .keys import check_key_length, decode_key, encode_base32

__all__ = [
    "MIN_DIGITS",
    "TYPE_SPELLINGS",
    "Kind",
    "ParsedURI",
    "ShortCodeWarning",
    "Token",
    "TokenType",
    "build_uri",
    "parse_token_type",
    "parse_uri",
    "uri_warnings",
]

Kind = Literal["HOTP", "MOTP"]

MIN_DIGITS: Final = 6
# The kind and hash are case-insensitive; "E" and "T" after the slash are not
# (that is how the reference module reads them).
_TYPE_RE: Final = re.compile(
    r"(?P<kind>(?i:HOTP|MOTP))(?:-(?P<alg>(?i:SHA1|SHA256|SHA512)))?"
    r"(?:/(?:(?P<event>E)|T(?P<step>[0-9]+))(?:/(?P<digits>[0-9]+))?)?"
)
_MOTP_STEP: Final = 10
# Said whenever a token type is refused: "TOTP" is what people type for HOTP/T30.
TYPE_SPELLINGS: Final = (
    "expected HOTP/T30 (time-based, what apps call TOTP; /T60 for 60 s steps), "
    "HOTP/E (counter-based, what apps call HOTP), MOTP (Mobile-OTP), optionally with "
    "a hash and the digits: HOTP-SHA256/T30/8"
)


class ShortCodeWarning(UserWarning):
    """A token with fewer than six digits was read from an existing users file."""


@dataclass(frozen=True, slots=True)
class TokenType:
    """How a token computes its codes.

    Attributes:
        kind: ``"HOTP"`` (RFC 4226/6238) or ``"MOTP"`` (Mobile-OTP).
        step: 0 for an event (counter) token, else the time step in seconds.
        digits: code length, 6..10 (1..5 only from an existing users file).
        algorithm: the HMAC hash (HOTP only).
        t0: the Unix time at which step 0 starts (RFC 6238 ``T0``).
        text: the spelling this type was parsed from, kept so that an
            untouched record is written back byte for byte.
    """

    kind: Kind = "HOTP"
    step: int = 30
    digits: int = 6
    algorithm: Algorithm = "SHA1"
    t0: int = 0
    text: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.kind not in ("HOTP", "MOTP"):
            problems.append(f"kind must be HOTP or MOTP, not {self.kind!r}")
        if isinstance(self.step, bool) or not isinstance(self.step, int) or self.step < 0:
            problems.append(f"time step must be 0 (event) or >= 1 second, not {self.step!r}")
        if isinstance(self.digits, bool) or not isinstance(self.digits, int):
            problems.append("digits must be a whole number")
        elif not 1 <= self.digits <= MAX_DIGITS:
            problems.append(f"digits must be {MIN_DIGITS}..{MAX_DIGITS}, not {self.digits}")
        if self.algorithm not in ALGORITHMS:
            problems.append(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        if self.kind == "MOTP" and self.algorithm != "SHA1":
            problems.append("Mobile-OTP has no hash choice")
        if isinstance(self.t0, bool) or not isinstance(self.t0, int) or self.t0 < 0:
            problems.append("T0 must be a non-negative whole number of seconds")
        if problems:
            raise InvalidTokenType("; ".join(problems))

    @property
    def is_time(self) -> bool:
        return self.step > 0

    @property
    def is_event(self) -> bool:
        return self.step == 0

    def canonical(self) -> str:
        """The shortest spelling, abbreviated as mod_authn_otp writes it."""
        kind = self.kind if self.algorithm == "SHA1" else f"{self.kind}-{self.algorithm}"
        mode = "/E" if self.step == 0 else f"/T{self.step}"
        default_step = _MOTP_STEP if self.kind == "MOTP" else 0
        if self.digits == 6:
            return kind if self.step == default_step else kind + mode
        return f"{kind}{mode}/{self.digits}"

    def __str__(self) -> str:
        return self.text if self.text is not None else self.canonical()

    def check_new(self) -> None:
        """Refuse what is only tolerated in old users files (codes under six digits).

        Raises:
            InvalidTokenType: the type is not fit for a new token.
        """
        if self.digits < MIN_DIGITS:
            raise InvalidTokenType(
                f"codes of {self.digits} digits are too easy to guess; use {MIN_DIGITS} to "
                f"{MAX_DIGITS}"
            )


def parse_token_type(text: str, *, allow_short: bool = False) -> TokenType:
    """Parse a users-file token type such as ``HOTP/T30/6``.

    Args:
        text: the token type field.
        allow_short: accept 1..5 digits (with a :class:`ShortCodeWarning`), as
            needed when reading an existing mod_authn_otp users file.

    Raises:
        InvalidTokenType: the text is not a token type.
    """
    if text == "E":
        parsed = parse_token_type("HOTP/E")
    elif text == "T":
        parsed = parse_token_type("HOTP/T30")
    else:
        m = _TYPE_RE.fullmatch(text)
        if m is None:
            raise InvalidTokenType(f"not a token type: {text!r}; {TYPE_SPELLINGS}")
        kind: Kind = "MOTP" if m["kind"].upper() == "MOTP" else "HOTP"
        alg = (m["alg"] or "SHA1").upper()
        if m["event"]:
            step = 0
        elif m["step"] is not None:
            step = int(m["step"])
            if step < 1:
                raise InvalidTokenType(f"time step must be at least 1 second: {text!r}")
        else:
            step = _MOTP_STEP if kind == "MOTP" else 0
        digits = int(m["digits"]) if m["digits"] is not None else 6
        if not 1 <= digits <= MAX_DIGITS:
            raise InvalidTokenType(f"digits must be {MIN_DIGITS}..{MAX_DIGITS}: {text!r}")
        parsed = TokenType(kind, step, digits, alg, 0)  # type: ignore[arg-type]
    if parsed.digits < MIN_DIGITS:
        if not allow_short:
            parsed.check_new()
        warnings.warn(
            f"token type {text!r} has {parsed.digits}-digit codes, which are easy to guess",
            ShortCodeWarning,
            stacklevel=2,
        )
    return TokenType(parsed.kind, parsed.step, parsed.digits, parsed.algorithm, 0, text)


@dataclass(frozen=True, slots=True)
class Token:
    """A token type with its key; the HMAC set-up is computed once."""

    type: TokenType
    key: bytes = field(repr=False)
    _mac: HmacKey = field(init=False, repr=False, compare=False)
    # counter -> decimal code, with everything per-key precomputed (the hot path).
    _hotp: Callable[[int], str] = field(init=False, repr=False, compare=False)
    # (counters, code) -> matching counters, every candidate compared (the hot path).
    _hotp_find: Callable[[Iterable[int], int], list[int]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        mac = HmacKey(self.key, self.type.algorithm)
        object.__setattr__(self, "_mac", mac)
        object.__setattr__(self, "_hotp", hotp_function(mac, self.type.digits))
        object.__setattr__(self, "_hotp_find", hotp_finder(mac, self.type.digits))

    def code(self, counter: int, pin: str = "") -> str:
        """The code for an absolute counter or time step."""
        if self.type.kind == "MOTP":
            return motp(self.key, pin, counter, self.type.digits)
        return self._hotp(counter)

    def hex_code(self, counter: int) -> str:
        return hotp_hex(self._mac, counter, self.type.digits, self.type.algorithm)

    def step_at(self, now: float) -> int:
        return time_step(now, self.type.step, self.type.t0)


@dataclass(frozen=True, slots=True)
class ParsedURI:
    """What an otpauth:// URI says."""

    token_type: TokenType
    # Kept out of repr so that logging a parsed URI does not log the secret.
    key: bytes = field(repr=False)
    account: str
    issuer: str | None
    counter: int


def build_uri(
    token_type: TokenType,
    key: bytes,
    account: str,
    issuer: str | None = None,
    counter: int = 0,
) -> str:
    """The otpauth:// URI an authenticator app scans from a QR code.

    Raises:
        InvalidTokenType: Mobile-OTP tokens have no otpauth:// form.
    """
    if token_type.kind != "HOTP":
        raise InvalidTokenType("Mobile-OTP tokens cannot be written as an otpauth:// URI")
    if not account or ":" in account:
        raise InvalidURI("the account name must be non-empty and must not contain ':'")
    if account != account.strip():
        # Readers strip spaces around the label's parts (the format allows "Issuer: alice"),
        # so such a name would not come back as written.
        raise InvalidURI("the account name must not begin or end with whitespace")
    if issuer is not None and ":" in issuer:
        raise InvalidURI("the issuer must not contain ':'")
    label = urllib.parse.quote(f"{issuer}:{account}" if issuer else account, safe=":@")
    params: list[tuple[str, str]] = [("secret", encode_base32(key))]
    if issuer:
        params.append(("issuer", issuer))
    params += [("algorithm", token_type.algorithm), ("digits", str(token_type.digits))]
    if token_type.is_time:
        params.append(("period", str(token_type.step)))
        kind = "totp"
    else:
        params.append(("counter", str(counter)))
        kind = "hotp"
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return f"otpauth://{kind}/{label}?{query}"


def uri_warnings(token_type: TokenType) -> list[str]:
    """Settings that many authenticator apps silently ignore."""
    notes = []
    if token_type.algorithm != "SHA1":
        notes.append(f"algorithm {token_type.algorithm}")
    if token_type.digits != 6:
        notes.append(f"{token_type.digits} digits")
    if token_type.is_time and token_type.step != 30:
        notes.append(f"a {token_type.step} s period")
    return [
        f"many authenticator apps ignore {n} and will show wrong codes; check the app first"
        for n in notes
    ]


def parse_uri(uri: str) -> ParsedURI:
    """Parse an otpauth:// URI.

    Raises:
        InvalidURI: the URI is malformed or its parameters are invalid.
    """
    parts, kind = _split_uri(uri)
    label = urllib.parse.unquote(parts.path.lstrip("/"))
    label_issuer, _, account = label.rpartition(":")
    account = account.strip()
    if not account:
        raise InvalidURI("the URI names no account")
    params = _uri_params(parts.query)
    if "secret" not in params:
        raise InvalidURI("the URI has no secret")
    try:
        key = decode_key(params["secret"], "base32")
        check_key_length(key)
    except InvalidKey as exc:
        raise InvalidURI(f"bad secret: {exc}") from None
    issuer = params.get("issuer") or label_issuer.strip() or None
    alg, numbers = _uri_settings(params)
    step = numbers["period"] if kind == "totp" else 0
    token_type = TokenType("HOTP", step, numbers["digits"], alg, 0)  # type: ignore[arg-type]
    return ParsedURI(token_type, key, account, issuer, numbers["counter"])


def _split_uri(uri: str) -> tuple[urllib.parse.SplitResult, str]:
    """The URI's parts and its kind, ``totp`` or ``hotp``.  Raises InvalidURI."""
    try:
        parts = urllib.parse.urlsplit(uri.strip())
    except ValueError as exc:
        raise InvalidURI(f"not a URI: {exc}") from None
    if parts.scheme.lower() != "otpauth":
        raise InvalidURI("the URI must start with otpauth://")
    kind = parts.netloc.lower()
    if kind not in ("totp", "hotp"):
        raise InvalidURI(f"unknown OTP type {parts.netloc!r}; expected totp or hotp")
    return parts, kind


def _uri_params(query: str) -> dict[str, str]:
    """The query's parameters, names in lower case.  Raises InvalidURI: malformed, repeated."""
    try:
        parsed = urllib.parse.parse_qs(query, strict_parsing=True, max_num_fields=20)
    except ValueError as exc:
        raise InvalidURI(f"malformed query: {exc}") from None
    params: dict[str, str] = {}
    for name, values in parsed.items():
        if len(values) != 1:
            raise InvalidURI(f"parameter {name!r} is given more than once")
        params[name.lower()] = values[0]
    return params


def _uri_settings(params: dict[str, str]) -> tuple[str, dict[str, int]]:
    """The algorithm, and the digits, period and counter (defaults where not given).

    Raises:
        InvalidURI: every malformed setting at once, or a number out of range.
    """
    problems = []
    alg = params.get("algorithm", "SHA1").upper()
    if alg not in ALGORITHMS:
        problems.append(f"algorithm {alg!r} is not one of {', '.join(ALGORITHMS)}")
    numbers: dict[str, int] = {}
    for name, default in (("digits", 6), ("period", 30), ("counter", 0)):
        raw = params.get(name)
        if raw is None:
            numbers[name] = default
        elif raw.isascii() and raw.isdigit() and len(raw) <= 20:
            numbers[name] = int(raw)
        else:
            problems.append(f"{name} must be a whole number, not {raw!r}")
    if problems:
        raise InvalidURI("; ".join(problems))
    if not MIN_DIGITS <= numbers["digits"] <= MAX_DIGITS:
        raise InvalidURI(f"digits must be {MIN_DIGITS}..{MAX_DIGITS}")
    if numbers["period"] < 1:
        raise InvalidURI("period must be at least 1 second")
    if numbers["counter"] >= 1 << 64:
        raise InvalidURI("counter is too large")
    return alg, numbers
