"""One-time passwords, pure: HOTP, TOTP and Mobile-OTP codes, token formats, verification."""

from __future__ import annotations

from .algorithms import ALGORITHMS, MAX_DIGITS, Algorithm, hotp, motp, time_step, totp
from .keys import (
    MIN_KEY_BITS,
    RECOMMENDED_KEY_BITS,
    ShortKeyWarning,
    check_key_length,
    decode_key,
    encode_base32,
    new_key,
)
from .tokens import (
    MIN_DIGITS,
    ParsedURI,
    ShortCodeWarning,
    Token,
    TokenType,
    build_uri,
    parse_token_type,
    parse_uri,
    uri_warnings,
)
from .verify import Match, Policy, TokenState, generate, resync, verify

__all__ = [
    "ALGORITHMS",
    "MAX_DIGITS",
    "MIN_DIGITS",
    "MIN_KEY_BITS",
    "RECOMMENDED_KEY_BITS",
    "Algorithm",
    "Match",
    "ParsedURI",
    "Policy",
    "ShortCodeWarning",
    "ShortKeyWarning",
    "Token",
    "TokenState",
    "TokenType",
    "build_uri",
    "check_key_length",
    "decode_key",
    "encode_base32",
    "generate",
    "hotp",
    "motp",
    "new_key",
    "parse_token_type",
    "parse_uri",
    "resync",
    "time_step",
    "totp",
    "uri_warnings",
    "verify",
]
