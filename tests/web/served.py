"""The gate's app under a real uvicorn in a thread of the test's process.

For tests that must see what the server writes (the forward-auth fast path,
:mod:`otpgate.web.fast_auth`) while keeping the test's frozen clock, memory
store and monkeypatches: the app, its Authenticator and the test share one
process.  The server listens on a socket bound here (port 0: no race for a
port) and stops when the block ends.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from .conftest import App, AppFactory

FAST = "otpgate.web.fast_auth:FastAuthProtocol"
# The servers the forward-auth suite runs under: uvicorn's own protocol, and ours.
PROTOCOLS = {"uvicorn": "httptools", "fast": FAST}


class ServedClient(httpx.Client):
    """An httpx client of a served app, with the app at hand as TestClient has it."""

    def __init__(self, app: Any, base_url: str) -> None:
        super().__init__(base_url=base_url, follow_redirects=False)
        self.app = app


@contextlib.contextmanager
def served(app: Any, http: str = FAST, **options: Any) -> Iterator[str]:
    """Serve ``app`` with protocol ``http`` until the block ends; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings: dict[str, Any] = {
        "http": http,
        "loop": "uvloop",
        "lifespan": "on",
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        **options,
    }
    server = uvicorn.Server(uvicorn.Config(app, **settings))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the served app did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(params=["asgi", *PROTOCOLS], name="make_gate")
def every_server(request: pytest.FixtureRequest, make_gate: AppFactory) -> Iterator[AppFactory]:
    """``make_gate`` for a test module that imports this: the conftest's gates in
    process, and served by uvicorn with its own protocol and with the fast path."""
    mode: str = request.param
    with contextlib.ExitStack() as stack:

        def factory(**options: Any) -> App:
            g = make_gate(**options)
            if mode == "asgi":
                return g
            if "peer" in options:  # a served gate's peer is the test's own address
                raise ValueError("a served gate cannot take peer=: test that in process")
            url = stack.enter_context(served(g.client.app, PROTOCOLS[mode]))
            g.client = stack.enter_context(ServedClient(g.client.app, url))  # type: ignore[assignment]
            return g

        yield factory
