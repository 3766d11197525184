"""Why a login was accepted or refused: one word per outcome.

Every front end, the audit log and the metrics speak these words; a front end
maps the refusals to one uniform answer (401, a PAM error, a RADIUS reject),
so the reason itself is never shown to a client.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Reason"]


class Reason(StrEnum):
    """The outcome of one login attempt.

    A ``StrEnum``, so it is written to JSON and compared with its text as is.
    """

    OTP = "otp"  # a fresh one-time password and the PIN were right
    LINGER = "linger"  # a PIN+OTP accepted recently, within the linger period
    RECOVERY = "recovery"  # a recovery code and the PIN were right
    SESSION = "session"  # a valid session cookie (the web front ends)
    BAD_PIN = "bad_pin"  # the OTP matched (and is now used up), the PIN did not
    NO_MATCH = "no_match"  # no counter or time step in the window gives this code
    REPLAYED = "replayed"  # a code already used (a double submit, an old code)
    MALFORMED = "malformed"  # not a PIN+code of the user's token type at all
    THROTTLED = "throttled"  # too many failures: answered without looking
    LOCKED = "locked"  # an administrator's or the failure limit's lock
    UNKNOWN_USER = "unknown_user"  # no such user
    STORE_ERROR = "store_error"  # the store could not be read or written: refused
    LOGOUT = "logout"  # an empty password from the user's address: signed out
    PASSKEY = "passkey"  # a passkey's signature (and the PIN, when one was asked) were right
    PASSKEY_REFUSED = "passkey_refused"  # no such passkey, a bad or stale assertion
    PASSKEY_CLONED = "passkey_cloned"  # the signature counter went back: a copied authenticator

    @property
    def accepted(self) -> bool:
        """Whether this reason stands for a granted login."""
        return self in _ACCEPTED


_ACCEPTED = frozenset({Reason.OTP, Reason.LINGER, Reason.RECOVERY, Reason.SESSION, Reason.PASSKEY})
