"""One Authenticator per process and settings, for the in-process front ends (Apache, PAM).

A PAM service that stays up (OpenVPN's auth-pam plugin, a mail server,
``su`` in a loop) asks for many logins in one process: each must not open the
store, the audit log and the shared state again, and the throttle and the
failures written behind an answer must see every login of the process.  So
the Authenticator is kept per (config file, overrides), built at the first
login and closed when the process exits (pending failure counts are written
then).  The settings are read once: a changed otpgate.toml is seen by a
process started after the change (the store's users are always read fresh).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ..login.authenticator import Authenticator

__all__ = ["PerProcess", "pam"]

K = TypeVar("K", bound=Hashable)


class PerProcess(Generic[K]):
    """Authenticators by key, built on first use, all closed by :meth:`close` (at exit).

    Args:
        open_: builds the Authenticator for a key; whatever it raises is the
            caller's, and the next call tries again.
    """

    def __init__(self, open_: Callable[[K], Authenticator]) -> None:
        self._open = open_
        self._lock = threading.Lock()
        self._kept: dict[K, Authenticator] = {}
        atexit.register(self.close)

    def get(self, key: K) -> Authenticator:
        """The process's Authenticator for ``key`` (built now if there is none)."""
        authenticator = self._kept.get(key)  # every login after the first: no lock
        if authenticator is not None:
            return authenticator
        with self._lock:
            authenticator = self._kept.get(key)
            if authenticator is None:
                authenticator = self._kept[key] = self._open(key)
            return authenticator

    def values(self) -> list[Authenticator]:
        """The Authenticators kept now."""
        with self._lock:
            return list(self._kept.values())

    def close(self) -> None:
        """Close every Authenticator kept (writes pending failure counts); later ones are new."""
        with self._lock:
            kept, self._kept = list(self._kept.values()), {}
        for authenticator in kept:
            authenticator.close()


def _open_for_pam(key: tuple[str, float]) -> Authenticator:
    from ..config.loader import load_config
    from ..login.assembly import open_authenticator

    path, linger = key
    overrides: dict[str, dict[str, object]] = {"auth": {"max_linger": linger, "max_idle": None}}
    return open_authenticator(load_config(path, overrides=overrides))


_pam: PerProcess[tuple[str, float]] | None = None
_pam_lock = threading.Lock()


def pam() -> PerProcess[tuple[str, float]]:
    """The PAM module's Authenticators, per (config file, linger seconds)."""
    global _pam
    with _pam_lock:
        if _pam is None:
            _pam = PerProcess(_open_for_pam)
        return _pam
