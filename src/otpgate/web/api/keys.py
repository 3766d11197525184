"""API keys: the secrets an application presents (``X-API-Key`` or ``Authorization: Bearer``).

Every API of the gate checks its callers here, so a second API (another
protocol's endpoint) accepts the same keys in the same constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Final

from starlette.requests import Request

__all__ = ["MAX_API_KEY", "ApiKeys"]

MAX_API_KEY: Final = 512


class ApiKeys:
    """The keys ``web.api_keys`` accepts.

    Args:
        keys: the configured keys (none: every request is refused).
    """

    def __init__(self, keys: Iterable[str]) -> None:
        # Keys are compared as digests so that every comparison has the same length.
        self._keys = [hashlib.sha256(k.encode()).digest() for k in keys]

    def accept(self, request: Request) -> bool:
        """Whether ``request`` carries one of the keys."""
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        return self.match(given)

    def match(self, given: str | None) -> bool:
        """Whether ``given`` is one of the keys (a service account's password, say)."""
        if not given or not self._keys or len(given) > MAX_API_KEY:
            return False
        digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
        found = False
        for key in self._keys:
            # No early exit: the time taken does not depend on which key matched.
            found |= hmac.compare_digest(key, digest)
        return found
