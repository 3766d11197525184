"""The login hook for users from a directory: the store logins see, the PIN checker, the rules.

With a ``[directory]`` url, :func:`with_directory` wraps the token store in
:class:`~otpgate.directory.users.DirectoryUserStore` (users must exist and be
enabled in the directory at each fresh login; tokens kept under the stable
id), gives ``pin = "directory"`` its bind checker, and caps ``state_ttl`` at
``session_recheck`` so that a disabled user's sessions end in time.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..config.auth import AuthSettings
from ..errors import ConfigError
from .pins import PinChecker

if TYPE_CHECKING:
    from ..directory.client import Directory
    from ..directory.settings import DirectorySettings
    from ..state.base import SharedState
    from ..store.base import Store

__all__ = ["open_directory", "with_directory"]


def open_directory(settings: DirectorySettings) -> Directory:
    """The directory the settings name (no connection is made yet).

    Raises:
        ConfigError: settings that do not fit together
            (:func:`otpgate.directory.settings.problems`), python-ldap is
            missing, or the password file is unusable.
    """
    from ..directory.settings import problems

    found = problems(settings)
    if found:
        raise ConfigError("invalid configuration: " + "; ".join(found))
    try:
        from ..directory.client import Directory
    except ImportError as exc:
        raise ConfigError(
            f"[directory] needs python-ldap: pip install 'otpgate[directory]' ({exc})"
        ) from None
    return Directory(settings)


def with_directory(
    store: Store,
    settings: DirectorySettings,
    auth: AuthSettings,
    checker: PinChecker | None,
    state: SharedState | None = None,
) -> tuple[Store, PinChecker | None, AuthSettings]:
    """The store, PIN checker and rules a login uses, the directory's when one is set.

    ``state``: the Authenticator's shared state, where failed password binds
    are counted for every gate together (Redis).

    Raises:
        ConfigError: as :func:`open_directory`; ``pin = "directory"`` with an
            ``[auth] pin_provider`` (one checker for delegated PINs).
    """
    if not settings.enabled:
        return store, checker, auth
    if settings.pin == "directory" and checker is not None:
        raise ConfigError(
            '[directory] pin = "directory" and [auth] pin_provider both check delegated PINs: '
            "choose one"
        )
    from ..directory.password import DirectoryPassword
    from ..directory.users import DirectoryUserStore

    directory = open_directory(settings)
    wrapped = DirectoryUserStore(store, directory)
    if settings.pin == "directory":
        checker = DirectoryPassword(directory, state=state)
    ttl = min(auth.state_ttl, settings.session_recheck)
    return wrapped, checker, dataclasses.replace(auth, state_ttl=ttl)
