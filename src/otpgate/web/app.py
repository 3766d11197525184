"""The gate's ASGI application: the front ends wired together, once, here.

Every front end asks the one :class:`otpgate.login.authenticator.Authenticator`
through :class:`~.decisions.Decisions`, and gets only the parts it uses;
each only translates HTTP to its calls and its decisions back to HTTP:

- ``/auth`` (:mod:`.forward_auth`): forward auth for reverse proxies, raw ASGI
  in front of the router since it is the hot path;
- ``/login``, ``/logout``, ``/``, ``/demo/`` (:mod:`.portal`): the login portal;
- ``/enrol/<token>``, ``/lost``, ``/account`` (:mod:`.portal`): self-service;
- ``/api/v1/check``, ``/openapi.json`` (:mod:`.api`): the JSON API;
- ``/healthz``, ``/metrics`` (:mod:`.ops`): for operators;
- ``/admin...`` (:mod:`.admin`): administration in the browser;
- ``/validate/check``, ``/auth`` (POST with a body) ... (:mod:`.privacyidea`):
  privacyIDEA's validate API, with ``[privacyidea] enabled``.

The parts shared by several front ends: :class:`~.clients.ClientAddresses`
(who is asking, behind trusted proxies), :class:`~.session_cookies.SessionCookies`,
:class:`~.devices.DeviceCookies`, :class:`~.decisions.Decisions` (with the
metrics) and the portal's :class:`~.portal.forms.Forms`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from ..accounts.pending_apps import PendingApps
from ..accounts.pin_policy import PinPolicy
from ..accounts.selfservice import SelfService
from ..login.pins import PinHasher
from . import privacyidea
from .admin import AdminBase, AdminPages
from .api import ApiKeys, CheckApi, RadiusApi
from .clients import ClientAddresses
from .decisions import Decisions
from .devices import DeviceCodec, DeviceCookies
from .forward_answers import ForwardAnswers
from .forward_auth import ForwardAuth
from .http import CookieScope
from .metrics import Metrics
from .middleware import HeaderLimit
from .ops import Ops
from .portal import (
    AccountPage,
    BrowserDecisions,
    EnrolPages,
    Forms,
    LoginPage,
    LogoutPage,
    LostPage,
    PasskeyPages,
    PasskeyParts,
    StatusPages,
)
from .session_cookies import SessionCookies, instance_name
from .sessions import CsrfGuard, SessionCodec
from .slide import SlideSessions
from .targets import ReturnTargets

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
    parts = _Parts.build(config, authenticator, metrics if metrics is not None else Metrics())
    status = StatusPages(parts.forms)
    pi_routes, pi_auth = _privacyidea(config, parts)
    app = _GateApp(
        routes=[*status.routes(), *_routes(config, parts), *pi_routes],
        lifespan=_lifespan(on_shutdown),
        exception_handlers={404: status.not_found},
    )
    # No "/x/" -> "/x" redirects: Starlette builds them from the request's own Host
    # and scheme (http behind a TLS proxy), and every page has one address.
    app.router.redirect_slashes = False
    # What tests look at in a running app.
    app.state.metrics, app.state.selfservice = parts.decisions.metrics, parts.service
    app.state.sessions, app.state.clients = parts.sessions, parts.clients
    _add_middleware(app, config, parts, pi_auth if not config.privacyidea.prefix else None)
    return app


def _privacyidea(config: Config, p: _Parts) -> tuple[list[Route], privacyidea.ServiceAuth | None]:
    """privacyIDEA's endpoints, when ``[privacyidea] enabled``."""
    if not config.privacyidea.enabled:
        return [], None
    keys = ApiKeys(config.api_keys())
    return privacyidea.build(config, p.auth, p.decisions, p.clients, keys)


def _add_middleware(
    app: _GateApp, config: Config, p: _Parts, pi_auth: privacyidea.ServiceAuth | None
) -> None:
    """What runs in front: the header check, then ``/auth``; sliding behind the router."""
    # The router's pages slide their sessions on the way out.
    app.add_middleware(SlideSessions, sessions=p.sessions)

    def front(rest: ASGIApp) -> ASGIApp:
        # The header check, then /auth, in front of Starlette's own error
        # middleware: the hot path pays for no layer it does not use (an
        # exception in /auth is still answered 500, by the server).
        first: ASGIApp = ForwardAuth(rest, answers=app.forward_answers, targets=p.targets)
        if pi_auth is not None:
            # privacyIDEA's POST /auth shares the path with forward auth: it goes first.
            first = privacyidea.AuthFirst(first, service=pi_auth)
        return HeaderLimit(first)

    app.front = front
    # The server's fast path (fast_auth.py) asks these for a GET /auth, before any
    # ASGI: only the header check and ForwardAuth are in front of it (privacyIDEA's
    # AuthFirst takes POSTs with a body alone).
    app.forward_answers = ForwardAnswers(
        config.web, p.auth.clock, p.clients, p.sessions, p.devices, p.decisions
    )


class _GateApp(Starlette):
    """Starlette with what runs before its middleware stack (:func:`_add_middleware`).

    Attributes:
        front: wraps the middleware stack in what runs first (the header check, ``/auth``).
        forward_answers: ``/auth``'s answers from memory, for the server's fast path too.
    """

    front: Callable[[ASGIApp], ASGIApp] | None = None
    forward_answers: ForwardAnswers

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.front is None else self.front(stack)


@dataclass(frozen=True, slots=True)
class _Parts:
    """The pieces several front ends share, made once; each front end gets only its own."""

    auth: Authenticator
    clients: ClientAddresses
    sessions: SessionCookies
    devices: DeviceCookies
    decisions: Decisions
    targets: ReturnTargets
    forms: Forms
    service: SelfService
    passkeys: PasskeyParts | None

    @classmethod
    def build(cls, config: Config, auth: Authenticator, metrics: Metrics) -> _Parts:
        web, secrets_ = config.web, config.secrets()
        clients = ClientAddresses(config.trusted_networks())
        scope = CookieScope(web.cookie_domain, web.cookie_secure)
        codec = SessionCodec(
            secrets_, config.session_lifetime(), config.session_idle(), instance_name(config)
        )
        sessions = SessionCookies(codec, auth, web.cookie_name, scope)
        device_codec = DeviceCodec(secrets_, auth.settings.trusted_for)
        service = SelfService(
            auth.store,
            policy=PinPolicy(min_length=web.pin_min_length),
            hasher=PinHasher(),
            audit=auth.audit,
            issuer=web.title,
        )
        return cls(
            auth,
            clients,
            sessions,
            DeviceCookies(device_codec, auth, codec, scope),
            Decisions(auth, metrics),
            ReturnTargets(web, clients),
            Forms(web, auth.clock, clients, sessions, CsrfGuard(secrets_)),
            service,
            PasskeyParts.build(config, auth, secrets_[-1]),
        )


def _routes(config: Config, p: _Parts) -> list[Route]:
    """Every page but the portal's root (whose 404 page the app needs too)."""
    auth, forms, decisions = p.auth, p.forms, p.decisions
    logins = BrowserDecisions(p.devices, decisions)
    keys = ApiKeys(config.api_keys())
    login = LoginPage(forms, p.targets, logins, passkeys=p.passkeys is not None)
    passkeys = (
        [] if p.passkeys is None else PasskeyPages(forms, login, p.service, p.passkeys).routes()
    )
    return [
        *login.routes(),
        *passkeys,
        *LogoutPage(forms, decisions).routes(),
        *EnrolPages(forms, p.service, p.passkeys).routes(),
        *LostPage(forms, p.service, logins).routes(),
        *AccountPage(
            forms,
            p.service,
            logins,
            lambda: _audit_path(auth),
            p.passkeys,
            PendingApps(auth.state, config.secrets()[-1]),
        ).routes(),
        *CheckApi(decisions, p.clients, keys, config.web.max_body, auth.clock).routes(),
        *RadiusApi(
            decisions, keys, config.web.max_body, auth.clock, auth.settings.fall_through
        ).routes(),
        *Ops(
            auth.store, auth.state, decisions.metrics, p.clients, config.metrics_networks()
        ).routes(),
        *AdminPages(AdminBase(forms, decisions, auth, p.service, p.passkeys)).routes(),
    ]


def _audit_path(authenticator: Authenticator) -> str | None:
    """The audit log's file now (tests give the Authenticator one after the app is made)."""
    audit = authenticator.audit
    return audit.path if audit is not None else None


def _lifespan(
    on_shutdown: Callable[[], None] | None,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Run ``on_shutdown`` when the server stops."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown()

    return lifespan
