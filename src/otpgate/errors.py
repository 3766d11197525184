"""Exceptions: one root, specific subclasses.

Input errors also subclass :class:`ValueError` so callers that only know the
standard library still catch them.  Front ends map every
:class:`VerificationError` to one uniform 401, so nothing tells an attacker
which factor failed; the subclass is only for the audit log.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InvalidKey",
    "InvalidTokenType",
    "InvalidURI",
    "MalformedCode",
    "NoMatch",
    "OTPGateError",
    "ReplayedCode",
    "StoreConflict",
    "StoreError",
    "UnknownUser",
    "VerificationError",
]


class OTPGateError(Exception):
    """Root of every otpgate exception. Never raised directly."""


class InvalidKey(OTPGateError, ValueError):
    """A key could not be decoded or is too short."""


class InvalidTokenType(OTPGateError, ValueError):
    """A token type string or token parameter is not valid."""


class InvalidURI(OTPGateError, ValueError):
    """An otpauth:// URI could not be parsed."""


class ConfigError(OTPGateError, ValueError):
    """A configuration value is missing or invalid."""


class VerificationError(OTPGateError):
    """A one-time password was not accepted.

    The login rules (:mod:`otpgate.login.rules`) turn each subclass into an
    :class:`otpgate.login.reasons.Reason` for the audit log.
    """


class MalformedCode(VerificationError):
    """The code is not exactly ``digits`` ASCII digits (or the hex form)."""


class NoMatch(VerificationError):
    """No counter or time step in the window produced this code."""


class ReplayedCode(VerificationError):
    """The code matched a counter or step that was already used."""

    def __init__(self, message: str, matched: int) -> None:
        super().__init__(message)
        self.matched = matched


class StoreError(OTPGateError):
    """The token store could not be read or written.

    ``logged``: whoever raised it has logged the outage already, once for all
    the refusals it causes (a directory that went away), so callers need not.
    """

    logged: bool = False


class StoreConflict(StoreError):
    """A compare-and-set lost against a concurrent writer."""


class UnknownUser(StoreError, KeyError):
    """No such user in the store."""
