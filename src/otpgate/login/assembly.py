"""The Authenticator built from the settings: store, shared state, PIN checker, audit log.

Every front end (``serve``, Apache, RADIUS, PAM, the CLI) opens its one
Authenticator here, from the loaded settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..audit.writer import AuditLog
from ..state import open_shared
from ..store import open_store
from ..store.timed import TimedStore
from .authenticator import Authenticator, HtpasswdChecker
from .directory import with_directory
from .pins import PinChecker

if TYPE_CHECKING:
    from ..config.loader import Config
    from ..store.base import Store

__all__ = ["open_authenticator"]


def open_authenticator(
    config: Config, *, observe_store: Callable[[str, float], None] | None = None
) -> Authenticator:
    """Open the store, shared state, PIN checker and audit log the settings name.

    The Authenticator owns what it is given: its ``close()`` closes the store,
    the shared state and the audit log.  ``observe_store(op, seconds)`` is
    called after each store call (the metrics).

    Raises:
        ConfigError: bad store URL, key file or state URL.
        StoreError: the store cannot be opened.
        OSError: the audit log cannot be opened.
    """
    state, digest_key = open_shared(config)
    store: Store | None = None
    try:
        store = open_store(config.store.url, key_file=config.store.key_file)
        if observe_store is not None:
            store = TimedStore(store, observe_store)
        checker: PinChecker | None = None
        if config.auth.pin_provider:
            checker = HtpasswdChecker(config.auth.pin_provider.removeprefix("htpasswd:"))
        store, checker, rules = with_directory(store, config.directory, config.auth, checker, state)
        audit = None
        if config.auth.audit_log:
            audit = AuditLog(config.auth.audit_log, config.auth.audit_mode)
    except BaseException:
        if store is not None:
            store.close()
        state.close()
        raise
    return Authenticator(
        store, rules, pin_checker=checker, audit=audit, state=state, digest_key=digest_key
    )
