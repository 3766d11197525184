"""The ``[directory]`` table: LDAP or Active Directory as the source of users.

Empty ``url`` (the default) means no directory: users live in the store
alone, as before.  docs/directory.md has an OpenLDAP and an AD example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["AD_LOGIN_ATTRIBUTES", "DirectorySettings", "PinSource"]

PinSource = Literal["own", "directory", "none"]
# Logging in by one of these means Active Directory: objectGUID is the stable
# id and userAccountControl's ACCOUNTDISABLE bit says who is disabled.
AD_LOGIN_ATTRIBUTES: Final = frozenset({"samaccountname", "userprincipalname"})
_PINS: Final = ("own", "directory", "none")


@dataclass(frozen=True, slots=True)
class DirectorySettings:
    """Where the users are, and who among them may log in.

    Attributes:
        url: ``ldap://`` (always with StartTLS) or ``ldaps://`` URLs, tried in
            order (failover); empty: no directory.
        ca_file: PEM file of the CAs that sign the servers' certificates
            (default: the system's).
        bind_dn: the service account that looks users up.
        bind_password_file: its password, a file of mode 0600 (or 0640).
        base_dn: where users (and groups) are searched, subtree.
        user_filter: what a user entry is; combined with the login attribute.
        login_attribute: the name users type: ``uid`` (OpenLDAP),
            ``sAMAccountName`` or ``userPrincipalName`` (Active Directory,
            which also makes ``objectGUID`` the stable id and
            ``userAccountControl`` the disabled flag).
        display_attribute: the display name shown on the admin pages.
        mail_attribute: the address invitations are meant for.
        user_group: DN of the group (nested groups count) whose members may
            log in; empty: every entry the filter finds.
        admin_group: DN of the group whose members are administrators.
        disabled_filter: OpenLDAP: entries matching it are disabled (e.g.
            ``(pwdAccountLockedTime=*)``); AD uses userAccountControl.
        pin: ``own``: otpgate's PIN; ``directory``: the directory password
            (checked by a bind as the user); ``none``: the code alone.
        session_recheck: how old a lookup session checks and lingering
            credentials may use: the sessions of a user disabled or removed in
            the directory end within this many seconds (plus ``[auth]
            state_ttl``, which it caps).
        timeout: seconds a connect or an operation may take before the next
            URL is tried.
        pool_size: connections kept open per process.
        cache_ttl: how old a lookup roles, the user list and the CLI may
            use (never a fresh login, which always asks the directory).
        cache_size: lookups kept at most.
        max_bind_failures: ``pin = "directory"``: failed password binds per
            user after which otpgate stops binding for ``bind_failure_window``;
            keep it below the directory's lockout threshold.
        bind_failure_window: seconds those failures count for.
    """

    url: tuple[str, ...] = ()
    ca_file: str | None = None
    bind_dn: str = ""
    bind_password_file: str | None = field(default=None, repr=False)
    base_dn: str = ""
    user_filter: str = "(objectClass=inetOrgPerson)"
    login_attribute: str = "uid"
    display_attribute: str = "displayName"
    mail_attribute: str = "mail"
    user_group: str | None = None
    admin_group: str | None = None
    disabled_filter: str | None = None
    pin: str = "own"
    session_recheck: float = 60.0
    timeout: float = 5.0
    pool_size: int = 4
    cache_ttl: float = 30.0
    cache_size: int = 10_000
    max_bind_failures: int = 3
    bind_failure_window: float = 900.0

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def enabled(self) -> bool:
        """Whether a directory is configured."""
        return bool(self.url)

    @property
    def active_directory(self) -> bool:
        """Whether the login attribute is one of Active Directory's."""
        return self.login_attribute.lower() in AD_LOGIN_ATTRIBUTES


def _problems(s: DirectorySettings) -> list[str]:
    problems = []
    for url in s.url:
        if not url.lower().startswith(("ldap://", "ldaps://")):
            problems.append(f"url: {url!r} is neither ldap:// nor ldaps://")
    if s.pin not in _PINS:
        problems.append(f"pin must be one of {', '.join(_PINS)}")
    for name in ("session_recheck", "timeout", "cache_ttl", "bind_failure_window"):
        value = getattr(s, name)
        if not isinstance(value, int | float) or math.isnan(value) or value < 0:
            problems.append(f"{name} must be a non-negative number")
    if not s.timeout:
        problems.append("timeout must be more than 0")
    for name in ("pool_size", "cache_size", "max_bind_failures"):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{name} must be a whole number of at least 1")
    if s.url:
        for name in ("base_dn", "login_attribute", "user_filter"):
            if not getattr(s, name):
                problems.append(f"{name} is needed with a url")
        if bool(s.bind_dn) != bool(s.bind_password_file):
            problems.append("bind_dn and bind_password_file go together")
    if s.user_filter and not (s.user_filter.startswith("(") and s.user_filter.endswith(")")):
        problems.append("user_filter must be an LDAP filter in parentheses")
    if s.disabled_filter and not s.disabled_filter.startswith("("):
        problems.append("disabled_filter must be an LDAP filter in parentheses")
    return problems
