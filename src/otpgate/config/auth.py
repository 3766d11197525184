"""The login rules' settings: one frozen object the Authenticator holds.

The configuration file's ``[auth]`` table loads into it directly
(:mod:`otpgate.config.loader`; the table's ``look_ahead``, ``window``, ``max_drift``
and ``accept_hex`` go to its :class:`~otpgate.otp.verify.Policy`), so a setting
has one name, one default and one rule (declared on its field,
:mod:`otpgate.config.schema`), and every front end reads the settings the
Authenticator holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .._limits import MAX_PASSWORD
from ..otp.verify import Policy
from .kinds import KINDS
from .rules import COUNT, NON_NEGATIVE, at_least, between, one_of, rule
from .schema import Section, Setting, fixed, nested, setting

__all__ = ["AUDIT_LOG_MODES", "AuthSettings"]

# The owner writes; a group may read, or also write (several users' processes
# on one host, the group owning the log's directory); others never.
AUDIT_LOG_MODES: Final = ("0600", "0640", "0660")
_MODES: Final = ", ".join(AUDIT_LOG_MODES)


@dataclass(frozen=True, slots=True)
class AuthSettings(Section):
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

    policy: Policy = nested(
        Policy(),
        # mod_authn_otp's OTPAuthMaxOffset and otpgate's own, flat in the [auth] table.
        Setting("look_ahead", KINDS["int"], rule=COUNT),
        Setting("window", KINDS["int"], rule=COUNT),
        Setting("max_drift", KINDS["int"], rule=COUNT),
        Setting("accept_hex", KINDS["bool"]),
    )
    max_linger: float = setting(600.0, NON_NEGATIVE)
    max_idle: float | None = setting(None, NON_NEGATIVE)
    logout_on_ip_change: bool = False
    max_otp_failures: int = setting(0, COUNT)
    failure_unlock_after: float = setting(900.0, NON_NEGATIVE)
    throttle_free_failures: int = setting(3, COUNT)
    throttle_base: float = setting(1.0, NON_NEGATIVE)
    throttle_max: float = setting(900.0, NON_NEGATIVE)
    fall_through: bool = False
    cache_size: int = setting(10_000, COUNT)
    throttle_size: int = setting(100_000, COUNT)
    state_ttl: float = setting(2.0, NON_NEGATIVE)
    max_password: int = fixed(MAX_PASSWORD, COUNT)
    audit_linger: bool = False
    throttle_ipv6_prefix: int = setting(64, between(0, 128, "must be 0 to 128"))
    throttle_names_per_address: int = setting(
        64, at_least(1, "must be a whole number of at least 1")
    )
    pin_provider: str | None = setting(
        None, rule(lambda v: v.startswith("htpasswd:"), "must be htpasswd:/path/to/file")
    )
    audit_log: str | None = None
    audit_log_mode: str = setting("0600", one_of(AUDIT_LOG_MODES, f"must be one of {_MODES}"))
    guess_budget: int = setting(100, COUNT)
    guess_window: float = setting(86_400.0, NON_NEGATIVE)
    trusted_for: float = setting(30 * 86_400.0, NON_NEGATIVE)

    @property
    def audit_mode(self) -> int:
        """``audit_log_mode`` as a number for ``os.fchmod``."""
        return int(self.audit_log_mode, 8)

    @property
    def lingering(self) -> bool:
        return (self.max_idle or 0) > 0 if self.max_idle is not None else self.max_linger > 0
