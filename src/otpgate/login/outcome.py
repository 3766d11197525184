"""What the login rules answer: an :class:`Outcome`, or a recovery code to :class:`Recover` first.

Re-exported by :mod:`otpgate.login.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..store.authenticators import OtpToken
from ..store.records import UserState
from .reasons import Reason

__all__ = ["Outcome", "Recover"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt comes to.

    Attributes:
        reason: why it was accepted or refused.
        state: the user's new state, to be written with compare-and-set;
            ``None``: nothing to write.
        counted: a failure the throttle counts (a guess at the PIN or code).
        retry_after: seconds, when locked for a limited time.
        linger_from: accepted by the rules: the credential may linger from
            this time (``None`` for a refusal).
        token: the token the code came from, with its new state, written
            along with ``state`` (the audit line names it); ``None`` when no
            code matched.
    """

    reason: Reason
    state: UserState | None = None
    counted: bool = False
    retry_after: float | None = None
    linger_from: float | None = None
    token: OtpToken | None = None


@dataclass(frozen=True, slots=True)
class Recover:
    """The password ends with a recovery code: consume it, then call ``rules.recovered``."""

    pin: str = field(repr=False)
    code: str = field(repr=False)
