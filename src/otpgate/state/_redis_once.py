"""Single-use values in Redis (passkey challenges, :mod:`.challenges`): ``o:<key>``.

``SET ... NX PX`` keeps a value under a new key for its time to live;
``GETDEL`` hands it to one taker only, however many ask at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["RedisOnce"]


class RedisOnce:
    """:class:`~.challenges.OnceStore` for :class:`~.redis.RedisState` (its client, its breaker)."""

    prefix: str
    _redis: Any
    _call: Callable[..., Any]

    def put_once(self, key: str, value: bytes, ttl: float) -> bool:
        """Keep ``value`` for ``ttl`` seconds under a new ``key``; ``False`` if not kept."""
        ms, okey = max(int(ttl * 1000), 1), f"{self.prefix}o:{key}"
        kept = self._call("put_once", lambda: self._redis.set(okey, value, px=ms, nx=True), None)
        return bool(kept)

    def take_once(self, key: str) -> bytes | None:
        """``key``'s value, deleted in the same command (``GETDEL``): one taker gets it."""
        okey = f"{self.prefix}o:{key}"
        got: bytes | None = self._call("take_once", lambda: self._redis.getdel(okey), None)
        return got
