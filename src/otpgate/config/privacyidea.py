"""The ``[privacyidea]`` table: privacyIDEA's validate API, for the plugins that speak it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["PrivacyIdeaSettings"]

_PREFIX: Final = re.compile(r"(/[A-Za-z0-9._~-]+)*")
_REALM: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class PrivacyIdeaSettings:
    """privacyIDEA's ``/validate/check`` and ``/auth`` (docs/privacyidea.md).

    Attributes:
        enabled: serve the endpoints.
        prefix: the path they are served under (``""``: ``/validate/check``;
            ``"/pi"``: ``/pi/validate/check``).
        realm: the realm name this gate answers for; a request naming another
            realm gets privacyIDEA's "user not found" error (904).  A request
            with no realm is in this one (privacyIDEA's default realm).
        challenge_response: the PIN alone starts a challenge (privacyIDEA's
            ``challenge_response`` policy for HOTP/TOTP); the code then comes
            with the transaction id.
        challenge_ttl: seconds a challenge's transaction may be answered.
        challenge_message: what a challenge asks the user for.
        token_lifetime: seconds a service account's token (``POST /auth``) is valid.

    Raises:
        ValueError: a bad value (all problems in one message).
    """

    enabled: bool = False
    prefix: str = ""
    realm: str = "otpgate"
    challenge_response: bool = False
    challenge_ttl: float = 120.0
    challenge_message: str = "please enter otp: "
    token_lifetime: float = 3600.0

    def __post_init__(self) -> None:
        problems = []
        if not _PREFIX.fullmatch(self.prefix):
            problems.append("prefix must be empty or a path like /pi (no trailing slash)")
        if not _REALM.fullmatch(self.realm):
            problems.append("realm must be 1 to 64 letters, digits, '.', '_' or '-'")
        if not 10 <= self.challenge_ttl <= 3600:
            problems.append("challenge_ttl must be between 10 and 3600 seconds")
        if not 0 < len(self.challenge_message) <= 200:
            problems.append("challenge_message must be 1 to 200 characters")
        if not 60 <= self.token_lifetime <= 86400:
            problems.append("token_lifetime must be between 60 and 86400 seconds")
        if problems:
            raise ValueError("; ".join(problems))
