"""Who is asking: the client's address and the site it sees, believed only from trusted proxies.

Behind a reverse proxy the direct peer is the proxy; the client's address,
host and scheme arrive in ``X-Forwarded-*`` headers, which count only when
the peer is one of ``web.trusted_proxies`` (the parsing itself is pure, in
:mod:`.request`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from starlette.requests import Request

from .request import client_address, forwarded_list, forwarded_value, is_trusted, split_host

if TYPE_CHECKING:
    from ..config.loader import Network

__all__ = ["ClientAddresses"]

# Bounds of the address cache: entries, and the longest X-Forwarded-For kept.
ADDRESS_CACHE: Final = 4096
CACHED_FORWARDED: Final = 256


class ClientAddresses:
    """The client behind the trusted proxies.

    Args:
        trusted: the networks whose forwarded headers are believed.
    """

    def __init__(self, trusted: Sequence[Network]) -> None:
        self.trusted = trusted
        # (peer, X-Forwarded-For) -> client address: behind a proxy the same few
        # pairs arrive on every request, and parsing them was 40% of a lingering
        # Basic request's time (docs/benchmarks.md).  Bounded; the trusted
        # networks never change while the gate runs, so an entry never goes stale.
        self._addresses: dict[tuple[str | None, str | None], str] = {}

    def address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address (``X-Forwarded-For`` only from a trusted proxy)."""
        key = (peer, forwarded_for)
        found = self._addresses.get(key)
        if found is None:
            found = client_address(peer, forwarded_for, self.trusted)
            if forwarded_for is None or len(forwarded_for) <= CACHED_FORWARDED:
                if len(self._addresses) >= ADDRESS_CACHE:
                    self._addresses.clear()  # a flood of distinct headers: start again
                self._addresses[key] = found
        return found

    def of(self, request: Request) -> str:
        """The address of the client that sent ``request``."""
        forwarded = forwarded_list(request.headers.getlist("x-forwarded-for"))
        return self.address(_peer(request), forwarded)

    def from_proxy(self, request: Request) -> bool:
        """Whether the direct peer is a trusted proxy, whose forwarded headers count."""
        return is_trusted(_peer(request), self.trusted)

    def forwarded(self, request: Request, name: str) -> str | None:
        """``X-Forwarded-Host``/``-Proto`` as the trusted proxy set it, else ``None``."""
        if not self.from_proxy(request):
            return None
        return forwarded_value(request.headers.getlist(name))

    def origin(self, request: Request) -> tuple[str, str]:
        """(scheme, host[:port]) of this page as the browser sees it, lower case."""
        scheme = self.forwarded(request, "x-forwarded-proto") or request.url.scheme
        host = self.forwarded(request, "x-forwarded-host") or request.headers.get("host", "")
        return scheme.lower(), host.lower()

    def host(self, request: Request) -> str:
        """The host name (no port) of this page as the browser sees it."""
        host = self.forwarded(request, "x-forwarded-host") or request.headers.get("host", "")
        return split_host(host)


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None
