"""otpgate: PIN + one-time password in front of any web application."""

from __future__ import annotations

from .errors import (
    InvalidKey,
    InvalidTokenType,
    InvalidURI,
    MalformedCode,
    NoMatch,
    OTPGateError,
    ReplayedCode,
    StoreError,
    VerificationError,
)
from .login.authenticator import Attempt, Authenticator, AuthSettings, Decision
from .login.reasons import Reason
from .otp.algorithms import hotp, motp, totp
from .otp.keys import decode_key, new_key
from .otp.tokens import Token, TokenType, build_uri, parse_token_type, parse_uri
from .otp.verify import Match, Policy, TokenState, resync, verify

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "AuthSettings",
    "Authenticator",
    "Decision",
    "InvalidKey",
    "InvalidTokenType",
    "InvalidURI",
    "MalformedCode",
    "Match",
    "NoMatch",
    "OTPGateError",
    "Policy",
    "Reason",
    "ReplayedCode",
    "StoreError",
    "Token",
    "TokenState",
    "TokenType",
    "VerificationError",
    "build_uri",
    "decode_key",
    "hotp",
    "motp",
    "new_key",
    "parse_token_type",
    "parse_uri",
    "resync",
    "totp",
    "verify",
]
