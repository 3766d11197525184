"""Users from LDAP or Active Directory: settings, lookups, the store logins see, the password bind.

Exports :class:`DirectorySettings` (the ``[directory]`` table),
:class:`DirectoryUser`, :class:`DirectoryUnavailable`; the modules
:mod:`.client` (:class:`~.client.Directory`), :mod:`.pool`, :mod:`.users`
(:class:`~.users.DirectoryUserStore`) and :mod:`.password` need python-ldap
(``otpgate[directory]``) and are imported by whoever uses them.
"""

from __future__ import annotations

from .entries import DirectoryUnavailable, DirectoryUser
from .settings import DirectorySettings

__all__ = ["DirectorySettings", "DirectoryUnavailable", "DirectoryUser"]
