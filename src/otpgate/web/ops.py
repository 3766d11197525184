"""For operators: ``/healthz`` for load balancers, ``/metrics`` for Prometheus."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import OTPGateError
from .gate import Gate
from .request import is_trusted

__all__ = ["Ops"]


class Ops:
    """Health and metrics.

    Args:
        gate: the shared state.
    """

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._metrics_nets = gate.config.metrics_networks()

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
            Route("/metrics", self.metrics, methods=["GET", "HEAD"]),
        ]

    async def healthz(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.gate.store.ping)
        except OTPGateError:
            return JSONResponse({"status": "store unreachable"}, 503)
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        peer = request.client.host if request.client else None
        if not is_trusted(peer, self._metrics_nets):
            return Response("Forbidden\n", 403)
        return Response(self.gate.metrics.render(), media_type="text/plain; version=0.0.4")
