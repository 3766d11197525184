"""The ``[privacyidea]`` table: privacyIDEA's validate API, for the plugins that speak it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .rules import between, rule
from .schema import Section, setting

__all__ = ["PrivacyIdeaSettings"]

_PREFIX: Final = re.compile(r"(/[A-Za-z0-9._~-]+)*")
_REALM: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class PrivacyIdeaSettings(Section):
    """privacyIDEA's ``/validate/check`` and ``/auth`` (docs/privacyidea.md).

    Attributes:
        enabled: serve the endpoints.
        prefix: the path they are served under (``""``: ``/validate/check``;
            ``"/pi"``: ``/pi/validate/check``).
        realm: the realm name this gate answers for; a request naming another
            realm gets privacyIDEA's "user does not exist" error (904).  A
            request with no realm is in this one (privacyIDEA's default realm).
        challenge_response: a first request that is not a right PIN and code
            is answered with a challenge (privacyIDEA's ``challenge_response``
            policy for HOTP/TOTP); the code then comes with the transaction id.
        challenge_ttl: seconds a challenge's transaction may be answered.
        challenge_message: what a challenge asks the user for.
        token_lifetime: seconds a service account's token (``POST /auth``) is valid.

    Raises:
        ValueError: a bad value (all problems in one message).
    """

    enabled: bool = False
    prefix: str = setting(
        "",
        rule(lambda v: _PREFIX.fullmatch(v) is not None, "must be empty or a path like /pi"),
    )
    realm: str = setting(
        "otpgate",
        rule(
            lambda v: _REALM.fullmatch(v) is not None,
            "must be 1 to 64 letters, digits, '.', '_' or '-'",
        ),
    )
    challenge_response: bool = False
    challenge_ttl: float = setting(120.0, between(10, 3600, "must be 10 to 3600 seconds"))
    challenge_message: str = setting(
        "please enter otp: ",
        rule(lambda v: 0 < len(v) <= 200, "must be 1 to 200 characters"),
    )
    token_lifetime: float = setting(3600.0, between(60, 86400, "must be 60 to 86400 seconds"))
