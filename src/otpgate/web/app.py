"""The gate's ASGI application: the front ends wired together.

Every front end asks the one :class:`otpgate.login.authenticator.Authenticator` through the
shared :class:`~otpgate.web.gate.Gate`; each only translates HTTP to its
calls and its decisions back to HTTP:

- ``/auth`` (:mod:`.forward_auth`): forward auth for reverse proxies, raw ASGI
  in front of the router since it is the hot path;
- ``/login``, ``/logout``, ``/``, ``/demo/`` (:mod:`.portal`): the login portal;
- ``/enrol/<token>``, ``/lost`` (:mod:`.enrol`), ``/account`` (:mod:`.account`):
  self-service, through :mod:`.forms`;
- ``/api/v1/check``, ``/openapi.json`` (:mod:`.api`): the JSON API;
- ``/healthz``, ``/metrics`` (:mod:`.ops`): for operators;
- ``/admin...`` (:mod:`.admin`): administration in the browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette

from .admin import AdminPages
from .api.check import Api
from .forward_auth import ForwardAuth
from .gate import Gate
from .metrics import Metrics
from .middleware import HeaderLimit
from .ops import Ops
from .portal.account import AccountPage
from .portal.enrol import EnrolPages
from .portal.forms import FormKit
from .portal.login import Portal
from .slide import SlideSessions

if TYPE_CHECKING:
    from ..config.loader import Config
    from ..login.authenticator import Authenticator
    from ..store.base import Store

__all__ = ["create_app"]


def create_app(
    config: Config,
    authenticator: Authenticator,
    store: Store | None = None,
    *,
    clock: Callable[[], float] | None = None,
    on_shutdown: Callable[[], None] | None = None,
    metrics: Metrics | None = None,
) -> Starlette:
    """The ASGI application.

    Args:
        config: all settings.
        authenticator: the one Authenticator; its store (for ``/healthz``) and
            clock are the app's.
        store: ignored; older callers passed the Authenticator's store here.
        clock: ignored; older callers passed the Authenticator's clock here.
        on_shutdown: called when the server stops (closes what ``serve`` opened).
        metrics: where to count (default: new :class:`~otpgate.web.metrics.Metrics`).

    Raises:
        ConfigError: no session secret, bad networks.
    """
    del store, clock  # the Authenticator's own are the only ones
    gate = Gate(config, authenticator, metrics)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown()

    portal = Portal(gate)
    kit = FormKit(portal)
    routes = [
        *portal.routes(),
        *EnrolPages(kit).routes(),
        *AccountPage(kit).routes(),
        *Api(gate).routes(),
        *Ops(gate).routes(),
        *AdminPages(gate).routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: portal.not_found})
    # No "/x/" -> "/x" redirects: Starlette builds them from the request's own Host
    # and scheme (http behind a TLS proxy), and every page has one address.
    app.router.redirect_slashes = False
    app.state.gate = gate
    app.state.selfservice = kit.service
    # Middleware added last runs first: the header check, then /auth, then the
    # router's pages, whose sessions slide on the way out.
    app.add_middleware(SlideSessions, gate=gate)
    app.add_middleware(ForwardAuth, gate=gate)
    app.add_middleware(HeaderLimit)
    return app
