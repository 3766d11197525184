"""The login rules' settings: one frozen object the Authenticator holds.

The configuration file's ``[auth]`` table loads into it directly
(:mod:`otpgate.config.loader`; the table's ``look_ahead``, ``window``, ``max_drift``
and ``accept_hex`` go to its :class:`~otpgate.otp.verify.Policy`), so a setting
has one name, one default and one check, and every front end reads the
settings the Authenticator holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from .._limits import MAX_PASSWORD
from ..otp.verify import Policy

__all__ = ["AUDIT_LOG_MODES", "AuthSettings"]

# The owner writes; a group may read, or also write (several users' processes
# on one host, the group owning the log's directory); others never.
AUDIT_LOG_MODES: Final = ("0600", "0640", "0660")


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Login rules; names follow mod_authn_otp's directives where they exist.

    Attributes:
        policy: OTP windows and drift (:class:`otpgate.otp.verify.Policy`).
        max_linger: ``OTPAuthMaxLinger``: a used PIN+OTP is accepted again for
            this many seconds after its first use; 0 turns lingering off.
        max_idle: ``OTPAuthMaxIdle``: sliding variant, the time since the last
            use counts.  When set it replaces ``max_linger``.
        logout_on_ip_change: ``OTPAuthLogoutOnIPChange``: a lingering
            credential from another address is not accepted.
        max_otp_failures: ``OTPAuthMaxOTPFailure``: lock a user after this many
            consecutive failures (0 = off).
        failure_unlock_after: such a lock lifts itself after this many seconds
            (``math.inf`` or 0 = never, as the reference module).
        throttle_free_failures: failures per (user, address) before backoff.
        throttle_base: the first backoff in seconds; doubles per failure.
        throttle_max: the longest backoff; a quiet pair is forgotten after it.
        fall_through: ``OTPAuthFallThrough``: the refusals mod_authn_otp
            passes on go to the next provider (Apache, RADIUS:
            :func:`otpgate.login.rules.passed_on`); unknown users are not counted
            by the throttle.
        cache_size: bound on lingering credentials kept in memory.
        throttle_size: bound on (user, address) pairs in the throttle table.
        state_ttl: how long a store read may answer :meth:`Authenticator.check_cached`
            and :meth:`Authenticator.session_valid` (so a lock or logout from
            another process takes effect within this time).
        max_password: longer passwords are refused unread
            (:data:`otpgate._limits.MAX_PASSWORD`, which every front end applies).
        audit_linger: also audit lingering re-checks (one per HTTP request
            under Basic auth, so off by default).
        throttle_ipv6_prefix: the throttle counts IPv6 clients per network
            of this length (one machine usually holds a whole /64).
        throttle_names_per_address: (user, address) pairs one address may
            hold in the throttle table; failures for further names from it
            share one entry, so junk names cannot evict anyone's pair.
        pin_provider: ``OTPAuthPINAuthProvider``: ``htpasswd:/path`` checks
            delegated (``+``) PINs against an htpasswd file.
        audit_log: a file for one JSON line per decision (``-``: standard
            output).
        audit_log_mode: the mode the audit log is created with: ``"0600"``, or
            ``"0640"``/``"0660"`` for a group whose processes read or also
            write it (``otpgate serve`` and FreeRADIUS on one host).
        guess_budget: failed guesses per user from untrusted clients, all
            addresses together, in any ``guess_window``; each trusted client
            (device cookie, known address) has as many of its own; 0 = off
            (:mod:`otpgate.regulation.budget`).
        guess_window: seconds over which ``guess_budget`` counts.
        trusted_for: seconds an address stays trusted after a successful
            login from it, and a device cookie is honoured.

    The last two are not rules but the Authenticator's helpers, named here so
    that the ``[auth]`` table is one object;
    :func:`otpgate.login.assembly.open_authenticator` opens them.
    """

    policy: Policy = Policy()
    max_linger: float = 600.0
    max_idle: float | None = None
    logout_on_ip_change: bool = False
    max_otp_failures: int = 0
    failure_unlock_after: float = 900.0
    throttle_free_failures: int = 3
    throttle_base: float = 1.0
    throttle_max: float = 900.0
    fall_through: bool = False
    cache_size: int = 10_000
    throttle_size: int = 100_000
    state_ttl: float = 2.0
    max_password: int = MAX_PASSWORD
    audit_linger: bool = False
    throttle_ipv6_prefix: int = 64
    throttle_names_per_address: int = 64
    pin_provider: str | None = None
    audit_log: str | None = None
    audit_log_mode: str = "0600"
    guess_budget: int = 100
    guess_window: float = 86_400.0
    trusted_for: float = 30 * 86_400.0

    def __post_init__(self) -> None:
        problems = []
        for name in (
            "guess_window",
            "trusted_for",
            "max_linger",
            "failure_unlock_after",
            "throttle_base",
            "throttle_max",
            "state_ttl",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or math.isnan(value) or value < 0:
                problems.append(f"{name} must be a non-negative number")
        if self.max_idle is not None and (math.isnan(self.max_idle) or self.max_idle < 0):
            problems.append("max_idle must be a non-negative number")
        for name in (
            "max_otp_failures",
            "throttle_free_failures",
            "cache_size",
            "throttle_size",
            "max_password",
            "guess_budget",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(f"{name} must be a non-negative whole number")
        if self.audit_log_mode not in AUDIT_LOG_MODES:
            problems.append(f"audit_log_mode must be one of {', '.join(AUDIT_LOG_MODES)}")
        if self.pin_provider is not None and not self.pin_provider.startswith("htpasswd:"):
            problems.append("pin_provider must be htpasswd:/path/to/file")
        names = self.throttle_names_per_address
        if isinstance(names, bool) or not isinstance(names, int) or names < 1:
            problems.append("throttle_names_per_address must be a whole number of at least 1")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def audit_mode(self) -> int:
        """``audit_log_mode`` as a number for ``os.fchmod``."""
        return int(self.audit_log_mode, 8)

    @property
    def lingering(self) -> bool:
        return (self.max_idle or 0) > 0 if self.max_idle is not None else self.max_linger > 0
