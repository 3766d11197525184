"""``pin = "directory"``: the directory password, checked by a bind as the user.

The Authenticator asks for it only after the throttle, the guess budget and
the one-time password have passed (:mod:`otpgate.login.authenticator`), so
a guesser without the token never causes a bind.  Someone who holds the
token and guesses the password spends a fresh code per bind; after
``max_bind_failures`` failed binds in ``bind_failure_window`` this gate binds
no more for that user, so the directory's own lockout (AD's lockout
threshold, OpenLDAP's ppolicy ``pwdMaxFailure``) stays out of reach as long as
``max_bind_failures`` is below it.  The count is per gate process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ..state.base import SharedState
from .client import Directory

__all__ = ["DirectoryPassword"]

log = logging.getLogger(__name__)


class DirectoryPassword:
    """A :class:`~otpgate.login.pins.PinChecker` that binds as the user.

    Args:
        directory: where the users are.
        state: shares the failed binds with the other gates (Redis); ``None``
            or a state that shares nothing: this process counts alone.
        clock: Unix time, for the failure window.
    """

    TABLE = "directory_binds"

    def __init__(
        self,
        directory: Directory,
        *,
        state: SharedState | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.state = state
        self.clock = clock
        self.binds = 0  # binds made, for tests and the benchmark
        s = directory.settings
        self._max, self._window, self._size = (
            s.max_bind_failures,
            s.bind_failure_window,
            s.cache_size,
        )
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, user: str, pin: str) -> bool | None:
        """Whether ``pin`` is ``user``'s directory password; ``None`` for an unknown user.

        Raises:
            DirectoryUnavailable: the directory did not answer (the login is refused).
        """
        entry = self.directory.find(user, fresh=False)
        if entry is None:
            return None
        if not pin:  # LDAP takes an empty password as an anonymous bind, which succeeds
            return False
        if self._spent(entry.id):
            log.warning("directory password of %r: %d failed binds, not binding", user, self._max)
            return False
        self.binds += 1
        ok = self.directory.check_password(entry, pin)
        self._count(entry.id, ok)
        return ok

    def _spent(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self._window]
            if recent:
                self._failures[key] = recent
            else:
                self._failures.pop(key, None)
        if len(recent) >= self._max:
            return True
        if self.state is None:
            return False
        wait = self.state.window_retry_after(self.TABLE, key, now, self._window, self._max)
        return wait is not None

    def _count(self, key: str, ok: bool) -> None:
        now = self.clock()
        if self.state is not None:
            if ok:
                self.state.window_clear(self.TABLE, key)
            else:
                self.state.window_failure(self.TABLE, key, now, self._window, self._max)
        with self._lock:
            if ok:
                self._failures.pop(key, None)
                return
            self._failures.setdefault(key, []).append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._size:
                self._failures.popitem(last=False)
