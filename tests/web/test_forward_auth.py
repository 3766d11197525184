"""GET /auth: sessions, Basic with linger, challenges and redirects.

Every test runs three times: in process (Starlette's TestClient), and over a
socket under uvicorn with its own protocol and with otpgate's fast path
(:mod:`otpgate.web.fast_auth`), which must answer alike
(tests/web/test_fast_auth.py compares the bytes).
"""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from otpgate.store.records import UserState
from otpgate.web.sessions import Session

from .conftest import PIN, UNICODE_KEY, UNICODE_PIN, UNICODE_USER, AppFactory, code
from .conftest import App as G
from .served import every_server  # noqa: F401 - the make_gate fixture: under every server


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_no_credentials_is_a_basic_challenge(gate: G) -> None:
    r = gate.client.get("/auth")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="otpgate", charset="UTF-8"'
    assert "location" not in r.headers
    assert "remote-user" not in r.headers


def test_browser_is_redirected_to_the_portal_with_a_path_return(gate: G) -> None:
    headers = {"Accept": "text/html", "X-Original-URL": "http://app.test/docs/x?a=1&b=2"}
    r = gate.client.get("/auth", headers=headers)
    assert r.status_code == 302
    assert r.headers["location"] == "/otpgate/login?rd=%2Fdocs%2Fx%3Fa%3D1%26b%3D2"
    assert "www-authenticate" not in r.headers
    nginx = gate.client.get("/auth?redirect=401", headers=headers)
    assert nginx.status_code == 401
    assert nginx.headers["location"] == r.headers["location"]
    off = gate.client.get("/auth?redirect=off", headers=headers)
    assert off.status_code == 401 and "location" not in off.headers
    assert "www-authenticate" in off.headers


def test_redirect_status_is_configurable(make_gate: AppFactory) -> None:
    g = make_gate(redirect_status=401)
    r = g.client.get("/auth", headers={"Accept": "text/html"})
    assert r.status_code == 401
    assert r.headers["location"] == "/otpgate/login"


def test_absolute_portal_returns_only_to_allowed_hosts(make_gate: AppFactory) -> None:
    g = make_gate(portal_url="https://auth.example.com", allowed_hosts=[".example.com"])
    ok = g.client.get(
        "/auth",
        headers={
            "Accept": "text/html",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "app.example.com",
            "X-Forwarded-Uri": "/x",
        },
    )
    assert ok.headers["location"] == (
        "https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Fx"
    )
    evil = g.client.get(
        "/auth", headers={"Accept": "text/html", "X-Original-URL": "https://evil.test/x"}
    )
    assert evil.headers["location"] == "https://auth.example.com/login"


def test_basic_pin_plus_otp_then_linger_without_a_store_write(gate: G) -> None:
    auth = {"Authorization": basic("alice", PIN + code(gate.clock))}
    r = gate.client.get("/auth", headers=auth)
    assert r.status_code == 200
    assert r.headers["remote-user"] == "alice"
    record = gate.store.get("alice")
    assert record is not None
    gate.clock.advance(1)
    again = gate.client.get("/auth", headers=auth)
    assert again.status_code == 200 and again.headers["remote-user"] == "alice"
    after = gate.store.get("alice")
    assert after is not None and after.version == record.version
    metrics = gate.metrics()
    assert metrics.decisions("auth", "otp") == 1
    assert metrics.decisions("auth", "linger") == 1


def test_replayed_code_after_linger_is_refused(gate: G) -> None:
    auth = {"Authorization": basic("alice", PIN + code(gate.clock))}
    assert gate.client.get("/auth", headers=auth).status_code == 200
    gate.clock.advance(601)
    r = gate.client.get("/auth", headers=auth)
    assert r.status_code == 401


def test_session_cookie_answers_without_a_store_write(gate: G) -> None:
    assert gate.login().status_code == 303
    record = gate.store.get("alice")
    assert record is not None
    for _ in range(3):
        r = gate.client.get("/auth")
        assert r.status_code == 200
        assert r.headers["remote-user"] == "alice"
    after = gate.store.get("alice")
    assert after is not None and after.version == record.version
    assert gate.metrics().decisions("auth", "session") == 3


def test_unicode_user_name_is_passed_as_utf8(gate: G) -> None:
    # Starlette's TestClient re-encodes response headers as ASCII; httpx's own
    # ASGI transport hands over the raw bytes, as a proxy would see them.
    password = UNICODE_PIN + code(gate.clock, UNICODE_KEY)
    blob = base64.b64encode(f"{UNICODE_USER}:{password}".encode()).decode()

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=gate.client.app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as c:
            return await c.get("/auth", headers={"Authorization": f"Basic {blob}"})

    r = asyncio.run(ask())
    assert r.status_code == 200
    raw = dict(r.headers.raw)[b"remote-user"]
    assert raw.decode("utf-8") == UNICODE_USER


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b":" + b"1234755224").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + base64.b64encode(b"a\x00b:123456").decode(),
        "Basic",
        "Bearer abc",
        "Basic " + "A" * 5000,
        "Digest username=alice",
    ],
)
def test_malformed_basic_is_a_401_not_a_500(gate: G, header: str) -> None:
    r = gate.client.get("/auth", headers={"Authorization": header})
    assert r.status_code == 401
    assert "www-authenticate" in r.headers


def test_oversized_header_is_431(gate: G) -> None:
    r = gate.client.get("/auth", headers={"X-Junk": "x" * 9000})
    assert r.status_code == 431


def test_failures_do_not_say_which_factor_failed(gate: G) -> None:
    right = code(gate.clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    answers = []
    for user, password in [
        ("alice", "9999" + right),  # wrong PIN, right code
        ("alice", PIN + wrong),  # right PIN, wrong code
        ("nobody", PIN + right),  # unknown user
        ("alice", "x"),  # malformed
    ]:
        r = gate.client.get("/auth", headers={"Authorization": basic(user, password)})
        headers = {k: v for k, v in r.headers.items() if k not in ("date",)}
        answers.append((r.status_code, headers, r.content))
    assert all(a == answers[0] for a in answers), answers
    assert answers[0][0] == 401


def test_throttled_basic_gets_retry_after(gate: G) -> None:
    statuses = []
    for _ in range(8):
        r = gate.client.get("/auth", headers={"Authorization": basic("alice", "0000000000")})
        statuses.append(r.status_code)
        if "retry-after" in r.headers:
            break
    assert set(statuses) == {401}
    assert int(r.headers["retry-after"]) >= 1
    assert gate.metrics().render().count("otpgate_throttled_total 0") == 0


def test_locked_user_is_refused_even_with_the_right_code(gate: G) -> None:
    record = gate.store.get("alice")
    assert record is not None
    gate.store.replace(record.with_state(UserState(locked_until=float("inf"))))
    r = gate.client.get("/auth", headers={"Authorization": basic("alice", PIN + code(gate.clock))})
    assert r.status_code == 401


def test_all_methods_are_answered(gate: G) -> None:
    # nginx's auth_request subrequest keeps the original method.
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        assert gate.client.request(method, "/auth").status_code == 401
    other = gate.client.request("TRACE", "/auth")
    assert other.status_code == 405 and "GET" in other.headers["allow"]


def test_mounted_under_a_prefix_auth_answers_there(gate: G) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from .conftest import PROXY

    outer = Starlette(routes=[Mount("/gate", app=gate.client.app)])
    with TestClient(outer, client=PROXY) as client:
        auth = {"Authorization": basic("alice", PIN + code(gate.clock))}
        ok = client.get("/gate/auth", headers=auth)
        assert ok.status_code == 200 and ok.headers["remote-user"] == "alice"
        assert client.get("/gate/auth").status_code == 401
        assert client.get("/gate/healthz").json() == {"status": "ok"}
        # The gate's /auth is only at its own root, not at the outer app's.
        assert client.get("/auth", headers=auth).status_code == 404


def test_no_portal_url_means_no_redirect(make_gate: AppFactory) -> None:
    g = make_gate(portal_url="")
    r = g.client.get("/auth", headers={"Accept": "text/html"})
    assert r.status_code == 401 and "location" not in r.headers


def test_a_stored_name_that_would_split_the_header_is_refused(make_gate: AppFactory) -> None:
    from otpgate.otp.tokens import TokenType
    from otpgate.store.records import Pin, UserRecord

    from .conftest import KEY, make_store

    store = make_store()
    store.add(UserRecord("eve\r\nX-Admin: 1", TokenType("HOTP", 30, 6), KEY, Pin("plain", "1")))
    g = make_gate(store=store)
    # Basic refuses such a name at the door; a genuinely signed session holding
    # one reaches the last check before the header is written.
    blob = base64.b64encode(f"eve\r\nX-Admin: 1:1{code(g.clock)}".encode()).decode()
    r = g.client.get("/auth", headers={"Authorization": f"Basic {blob}"})
    assert r.status_code == 401 and "x-admin" not in r.headers
    codec = g.session_codec()
    session = Session("eve\r\nX-Admin: 1", g.clock(), g.clock(), "127.0.0.1", codec.binding(KEY))
    cookie = codec.encode(session)
    r = g.client.get("/auth", headers={"Cookie": f"otpgate_session={cookie}"})
    assert r.status_code == 401 and "x-admin" not in r.headers
