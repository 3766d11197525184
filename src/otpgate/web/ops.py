"""For operators: ``/healthz`` for load balancers, ``/metrics`` for Prometheus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..directory import DirectoryUnavailable
from ..errors import OTPGateError
from .request import is_trusted

if TYPE_CHECKING:
    from ..config.loader import Network
    from ..state.base import SharedState
    from ..store.base import Store
    from .clients import ClientAddresses
    from .metrics import Metrics

__all__ = ["Ops"]


@dataclass(frozen=True, slots=True)
class Ops:
    """Health and metrics.

    Attributes:
        store: the Authenticator's store (must answer for ``ok``).
        state: the Authenticator's shared state (``degraded`` without it).
        counters: what ``/metrics`` shows.
        clients: the client's address behind trusted proxies.
        allowed: the networks that may read the metrics (``web.metrics_allow``).
    """

    store: Store
    state: SharedState
    counters: Metrics
    clients: ClientAddresses
    allowed: Sequence[Network]

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
            Route("/metrics", self.metrics, methods=["GET", "HEAD"]),
        ]

    async def healthz(self, request: Request) -> Response:
        """200 ``ok``; 200 ``degraded`` without the shared state or the directory;
        503 without the store.

        Without Redis the gate still decides every login (the store decides
        replay and state; the throttle counts per process), so a load balancer
        should keep sending it traffic: hence 200.  Where Redis is and why it
        failed is in the log and the metrics, not here.
        """
        try:
            await run_in_threadpool(self.store.ping)
        except DirectoryUnavailable:
            # Logins are refused while it is away, on every gate alike: say so,
            # but keep the gate in the pool (it answers, and recovers by itself).
            return JSONResponse({"status": "degraded", "directory": "unreachable"})
        except OTPGateError:
            return JSONResponse({"status": "store unreachable"}, 503)
        if await run_in_threadpool(self.state.check) is not None:
            return JSONResponse({"status": "degraded", "state": "unreachable"})
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        """The counters, for ``web.metrics_allow`` only.

        Judged by the client's address, not the peer's: a proxy on the gate's
        own host is in the default ``127.0.0.1``, and what it forwards from
        the world must not read them (a trusted proxy's ``X-Forwarded-For``
        names the client; anyone else's is ignored).
        """
        if not is_trusted(self.clients.of(request), self.allowed):
            return Response("Forbidden\n", 403)
        return Response(self.counters.render(), media_type="text/plain; version=0.0.4")
