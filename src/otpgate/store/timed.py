"""A store that reports how long each call took (the gate's latency metrics)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from .authenticators import OtpToken
from .base import Store
from .records import UserRecord, UserState

__all__ = ["TimedStore"]

T = TypeVar("T")


class TimedStore:
    """Wraps a :class:`~otpgate.store.base.Store`; calls ``observe(op, seconds)`` after each call.

    Calls that fail are timed too: a slow failure is what an operator looks for.
    """

    def __init__(self, inner: Store, observe: Callable[[str, float], None]) -> None:
        self.inner = inner
        self.observe = observe
        self.url = inner.url

    def __getattr__(self, name: str) -> Any:
        # Backend-specific extras (tests, admin tools) pass through untimed.
        return getattr(self.inner, name)

    def _timed(self, op: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.observe(op, time.perf_counter() - started)

    def get(self, username: str) -> UserRecord | None:
        return self._timed("get", lambda: self.inner.get(username))

    def add(self, record: UserRecord) -> None:
        self._timed("add", lambda: self.inner.add(record))

    def replace(self, record: UserRecord) -> None:
        self._timed("replace", lambda: self.inner.replace(record))

    def remove(self, username: str) -> bool:
        return self._timed("remove", lambda: self.inner.remove(username))

    def compare_and_set(
        self,
        username: str,
        expected_version: object,
        state: UserState,
        token: OtpToken | None = None,
    ) -> UserRecord | None:
        return self._timed(
            "compare_and_set",
            lambda: self.inner.compare_and_set(username, expected_version, state, token),
        )

    def add_token(self, username: str, token: OtpToken) -> OtpToken:
        return self._timed("add_token", lambda: self.inner.add_token(username, token))

    def rename_token(self, username: str, token_id: str, name: str) -> bool:
        return self._timed(
            "rename_token", lambda: self.inner.rename_token(username, token_id, name)
        )

    def remove_token(self, username: str, token_id: str) -> bool:
        return self._timed("remove_token", lambda: self.inner.remove_token(username, token_id))

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        self._timed("set_recovery_codes", lambda: self.inner.set_recovery_codes(username, digests))

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        return self._timed(
            "consume_recovery_code", lambda: self.inner.consume_recovery_code(username, digest)
        )

    def stamp(self) -> object:
        return self.inner.stamp()  # a stat at most: not a store call worth timing

    def ping(self) -> None:
        self._timed("ping", self.inner.ping)

    def close(self) -> None:
        self.inner.close()
