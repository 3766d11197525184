"""Helpers shared by the tests of the login decision."""

from __future__ import annotations

from collections import Counter
from typing import Any

from otpgate.store.memory import MemoryStore


class CountingStore:
    """Wraps a store (a new memory store by default) and counts calls per method.

    Cost assertions ("1,000 guesses, at most 20 store reads") read ``calls``.
    """

    def __init__(self, inner: Any = None) -> None:
        self.inner = MemoryStore() if inner is None else inner
        self.calls: Counter[str] = Counter()
        self.url = self.inner.url

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return wrapped
