"""A measured prototype, not product code: ``/auth`` answered below Starlette.

The profile of the hot path (docs/benchmarks.md) shows most of the gate's own
Python time per authenticated request in Starlette's layers (middleware
stack, router, ``Request``/``Response`` objects, header containers), not in
otpgate's checks.  This wrapper answers the two hot cases of ``/auth`` in raw
ASGI and hands everything else to the unchanged app:

* a valid session cookie that needs no refresh (the same ``SessionCodec`` and
  ``Authenticator.session_valid`` calls as ``Gate._session``);
* a Basic credential that ``Authenticator.check_cached`` accepts (a lingering
  code).

Anything else -- no credential, an invalid or refreshable session, a cache
miss, a refusal, ``logout_on_ip_change``, oversized headers, a user name with
control characters -- falls through to the app, which decides as before.  The
success response carries the same headers as ``Gate._ok``.  It is wired in by
``bench/gateapp.py`` when ``OTPGATE_BENCH_FASTPATH=1`` (server variants
``*-fast``), so its effect is measured against the same server without it.
"""

from __future__ import annotations

import time
from typing import Any

from otpgate.web.net import MalformedCredentials, client_address, parse_basic

from otpgate.errors import OTPGateError
from otpgate.web.app import _CONTROL, MAX_HEADER, MAX_HEADERS_TOTAL

_OK_HEADERS = [
    (b"content-length", b"0"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_BODY = {"type": "http.response.body", "body": b""}


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


def wrap(app: Any) -> Any:
    gate = app.state.gate
    cookie_name = gate.web.cookie_name
    ip_bound = gate.config.auth.logout_on_ip_change

    async def fast(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/auth" or ip_bound:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        cookie = authorization = forwarded = None
        total = 0
        for name, value in scope["headers"]:
            size = len(name) + len(value)
            total += size
            if size > MAX_HEADER or total > MAX_HEADERS_TOTAL:
                await app(scope, receive, send)  # the app answers 431
                return
            if name == b"cookie":
                cookie = value
            elif name == b"authorization":
                authorization = value
            elif name == b"x-forwarded-for":
                forwarded = value
        now = gate.clock()
        user: str | None = None
        reason = ""
        if cookie is not None:
            value = _cookie(cookie.decode("latin-1"), cookie_name)
            session = gate.sessions.decode(value, now) if value else None
            if (
                session is not None
                and not gate.sessions.needs_refresh(session, now)
                and gate.auth.session_valid(session.user, session.issued_at, now=now)
            ):
                user, reason = session.user, "session"
        if user is None and authorization is not None:
            try:
                name_, password = parse_basic(authorization.decode("latin-1"))
            except MalformedCredentials:
                name_ = password = None
            if name_ is not None and password is not None:
                client = scope.get("client")
                peer = client[0] if client else None
                fwd = forwarded.decode("latin-1") if forwarded is not None else None
                ip = client_address(peer, fwd, gate.trusted)
                try:
                    decision = gate.auth.check_cached(name_, password, ip, now=now)
                except OTPGateError:
                    decision = None
                if decision is not None and decision.ok and decision.user is not None:
                    user, reason = decision.user, "linger"
        if user is None or _CONTROL.search(user):
            await app(scope, receive, send)
            return
        gate.metrics.record("auth", reason, time.perf_counter() - started, False)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_OK_HEADERS, (b"remote-user", user.encode("utf-8"))],
            }
        )
        await send(_BODY)

    fast.state = app.state  # type: ignore[attr-defined]
    return fast
