"""The ``[directory]`` table: LDAP or Active Directory as the source of users.

Empty ``url`` (the default) means no directory: users live in the store
alone.  The rules that tie settings together (a url needs a base_dn, ...)
are :func:`otpgate.directory.settings.problems`, checked when the directory
is opened; docs/directory.md has an OpenLDAP and an AD example.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .rules import NON_NEGATIVE, POSITIVE, at_least, one_of, rule
from .schema import Section, setting

__all__ = ["AD_LOGIN_ATTRIBUTES", "PINS", "DirectorySettings"]

# Logging in by one of these means Active Directory: objectGUID is the stable
# id and userAccountControl's ACCOUNTDISABLE bit says who is disabled.
AD_LOGIN_ATTRIBUTES: Final = frozenset({"samaccountname", "userprincipalname"})
PINS: Final = ("own", "directory", "none")

_URLS: Final = rule(
    lambda v: all(u.lower().startswith(("ldap://", "ldaps://")) for u in v),
    "must be ldap:// (StartTLS) or ldaps:// URLs",
)
_FILTER: Final = rule(
    lambda v: not v or (v.startswith("(") and v.endswith(")")),
    "must be an LDAP filter in parentheses",
)
_AT_LEAST_ONE: Final = at_least(1, "must be a whole number of at least 1")


@dataclass(frozen=True, slots=True)
class DirectorySettings(Section):
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
            user after which otpgate stops binding for ``bind_failure_window``
            (counted for all gates together with Redis in ``[state]``, else
            per process); keep it below the directory's lockout threshold.
        bind_failure_window: seconds those failures count for.
    """

    url: tuple[str, ...] = setting((), _URLS)
    ca_file: str | None = None
    bind_dn: str = ""
    bind_password_file: str | None = setting(None, secret=True)
    base_dn: str = ""
    user_filter: str = setting("(objectClass=inetOrgPerson)", _FILTER)
    login_attribute: str = "uid"
    display_attribute: str = "displayName"
    mail_attribute: str = "mail"
    user_group: str | None = None
    admin_group: str | None = None
    disabled_filter: str | None = setting(None, _FILTER)
    pin: str = setting("own", one_of(PINS, "must be one of own, directory, none"))
    session_recheck: float = setting(60.0, NON_NEGATIVE)
    timeout: float = setting(5.0, POSITIVE)
    pool_size: int = setting(4, _AT_LEAST_ONE)
    cache_ttl: float = setting(30.0, NON_NEGATIVE)
    cache_size: int = setting(10_000, _AT_LEAST_ONE)
    max_bind_failures: int = setting(3, _AT_LEAST_ONE)
    bind_failure_window: float = setting(900.0, NON_NEGATIVE)

    @property
    def enabled(self) -> bool:
        """Whether a directory is configured."""
        return bool(self.url)

    @property
    def active_directory(self) -> bool:
        """Whether the login attribute is one of Active Directory's."""
        return self.login_attribute.lower() in AD_LOGIN_ATTRIBUTES
