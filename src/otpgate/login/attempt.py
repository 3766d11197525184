"""The value types of a login: the :class:`Attempt` asked and the :class:`Decision` answered.

Both are re-exported by :mod:`otpgate.login.authenticator` and :mod:`otpgate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..regulation.budget import Client
from .reasons import Reason

__all__ = ["Attempt", "Decision"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one login attempt.

    Attributes:
        ok: accepted.
        user: the user name when accepted, else ``None``.
        reason: why (:class:`otpgate.login.reasons.Reason`), for the audit log and
            the metrics only, never shown to clients.
        retry_after: seconds, when throttled or locked for a limited time.
        fresh: a new OTP (or recovery code) was consumed; ``False`` for a
            lingering re-use.
    """

    ok: bool
    user: str | None
    reason: Reason
    retry_after: float | None = None
    fresh: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt, with the keyed digest of user + password made once.

    Built by :meth:`~otpgate.login.authenticator.Authenticator.attempt`; pass it to
    :meth:`~otpgate.login.authenticator.Authenticator.login` (or, on an event loop,
    to its halves ``check_cached`` and ``decide``), so that the digest is made once.

    Attributes:
        user: the user name as sent.
        password: the PIN followed by the OTP (Mobile-OTP: the OTP alone).
        ip: the client address.
        key: the Authenticator's keyed digest of user + password, the key of
            its linger cache; empty when the input can never linger (not
            text, or longer than ``max_password``).
        linger: a lingering credential may answer it (Basic clients resend
            the same PIN+OTP); ``False`` for a code typed into a form, which
            is single use.
        write_behind: a failure count is written after the answer, not
            before it (:meth:`~otpgate.login.authenticator.Authenticator.flush`), so a
            known user's wrong code is answered as fast as an unknown user's.
        device: the nonce of a genuine device cookie issued to this user
            (the front end checked its signature), else ``None``: the client
            then has a guess budget of its own (:mod:`otpgate.regulation.budget`).
        proven: ``ip`` is where the connection came from; ``False`` when a
            client only claims it (the API's ``ip`` field), which is then
            never trusted for being known.
        next_provider: the front end hands a user this gate does not know to
            another provider (Apache's next ``AuthBasicProvider``, as
            mod_authn_otp does): such a name is not counted as a guess.
    """

    user: str
    password: str = field(repr=False)
    ip: str
    key: bytes = field(repr=False)
    linger: bool = True
    write_behind: bool = False
    device: str | None = None
    proven: bool = True
    next_provider: bool = False

    @property
    def client(self) -> Client:
        """Who asks, for the guess budget."""
        return Client(self.ip, self.device, self.proven)
