"""A small cache of directory lookups: bounded in size and in age, thread-safe."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["LookupCache"]

K = TypeVar("K")
V = TypeVar("V")


class LookupCache(Generic[K, V]):
    """Answers younger than ``ttl`` seconds, at most ``size`` of them (least recently used go).

    A ``ttl`` of 0 keeps nothing.
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, max_age: float | None = None) -> tuple[bool, V | None]:
        """``(True, value)`` for an entry younger than ``max_age`` (at most ``ttl``),
        else ``(False, None)``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return False, None
            age = self.clock() - item[0]
            if age >= self.ttl:
                del self._items[key]
                return False, None
            if max_age is not None and age >= max_age:
                return False, None
            self._items.move_to_end(key)
            return True, item[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._items[key] = (self.clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
