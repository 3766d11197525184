"""GET /auth: sessions, Basic with linger, challenges and redirects.

Every test runs three times: in process (Starlette's TestClient), and over a
socket under uvicorn with its own protocol and with otpgate's fast path
(:mod:`otpgate.web.fast_auth`), which must answer alike
(tests/web/test_fast_auth.py compares the bytes).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from otpgate.store.records import UserState
from otpgate.web.sessions import Session

from .conftest import PIN, UNICODE_KEY, UNICODE_PIN, UNICODE_USER, AppFactory, code
from .conftest import App as G
from .served import PROTOCOLS, ServedClient, served


@pytest.fixture(params=["asgi", *PROTOCOLS])
def make_gate(request: pytest.FixtureRequest, make_gate: AppFactory) -> Iterator[AppFactory]:
    """The conftest's gates, in process or served (fast path off and on)."""
    mode: str = request.param
    with contextlib.ExitStack() as stack:

        def factory(**options: Any) -> G:
            g = make_gate(**options)
            if mode == "asgi":
                return g
            if "peer" in options:
                pytest.skip("served: the peer is the test's own address")
            url = stack.enter_context(served(g.client.app, PROTOCOLS[mode]))
            g.client = stack.enter_context(ServedClient(g.client.app, url))  # type: ignore[assignment]
            return g

        yield factory


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


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(make_gate: AppFactory) -> None:
    g = make_gate(peer=("203.0.113.7", 5000))
    r = g.client.get("/auth", headers={"Accept": "text/html", "X-Original-URL": "http://a/x"})
    assert r.headers["location"] == "/otpgate/login"


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


def test_hot_path_computes_no_pin_hash(
    make_gate: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otpgate.login.pins import FAST_TEST_HASHER, PinHasher
    from otpgate.otp.tokens import TokenType
    from otpgate.store.records import Pin, UserRecord

    from .conftest import KEY, make_store

    store = make_store()
    store.add(
        UserRecord(
            "hana", TokenType("HOTP", 30, 6), KEY, Pin("hash", FAST_TEST_HASHER.hash("8642"))
        )
    )
    calls = []
    verify = PinHasher.verify

    def counting(self: PinHasher, stored: str, pin: str) -> bool:
        calls.append(1)
        return verify(self, stored, pin)

    monkeypatch.setattr(PinHasher, "verify", counting)
    g = make_gate(store=store)
    auth = {"Authorization": basic("hana", "8642" + code(g.clock))}
    assert g.client.get("/auth", headers=auth).status_code == 200
    assert len(calls) == 1
    for _ in range(5):
        g.clock.advance(1)
        assert g.client.get("/auth", headers=auth).status_code == 200
    # The login page takes no lingering code (a code typed there is single use):
    # a fresh one costs one more hash, then requests with the session none.
    g.clock.advance(30)
    assert g.login(user="hana", pin="8642").status_code == 303
    for _ in range(5):
        assert g.client.get("/auth").status_code == 200
    assert len(calls) == 2


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


def test_lingering_basic_is_answered_from_memory_without_a_thread(
    gate: G, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otpgate.login.authenticator import Authenticator

    calls: list[str] = []
    blocking = Authenticator.decide

    def counting(self: Authenticator, *args: object, **kwargs: object) -> object:
        calls.append("decide")
        return blocking(self, *args, **kwargs)  # type: ignore[arg-type]

    # Only a fresh login goes to the threadpool, through the blocking decide().
    monkeypatch.setattr(Authenticator, "decide", counting)
    auth = {"Authorization": basic("alice", PIN + code(gate.clock))}
    first = gate.client.get("/auth", headers=auth)
    assert first.status_code == 200 and calls == ["decide"]  # a fresh code
    for _ in range(3):
        # Within state_ttl (2 s) the Authenticator answers from memory alone.
        gate.clock.advance(0.5)
        r = gate.client.get("/auth", headers=auth)
        # The same answer as the fresh login got, but for the device cookie
        # that only a fresh login earns.
        assert r.status_code == 200 and r.headers["remote-user"] == "alice"
        assert "set-cookie" not in r.headers
        assert first.headers["set-cookie"].startswith("otpgate_device=")
        assert {k: v for k, v in r.headers.items() if k != "date"} == {
            k: v for k, v in first.headers.items() if k not in ("date", "set-cookie")
        }
    assert calls == ["decide"]
    assert 'otpgate_decisions_total{frontend="auth",result="linger"} 3' in gate.metrics().render()


def test_a_refusal_from_memory_is_decided_and_audited_once(make_gate: AppFactory) -> None:
    import io
    import json

    from otpgate.audit.writer import AuditLog

    g = make_gate()
    stream = io.StringIO()
    g.authenticator.audit = AuditLog(stream)
    wrong = {"Authorization": basic("alice", "0000000000")}
    answers = [g.client.get("/auth", headers=wrong) for _ in range(8)]
    assert {r.status_code for r in answers} == {401}
    assert "retry-after" in answers[-1].headers
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    # The throttled ones were refused from memory: one request, one decision,
    # one audit line, one count in the metrics.
    assert len(lines) == len(answers)
    throttled = sum(line["reason"] == "throttled" for line in lines)
    assert throttled >= 3 and lines[-1]["reason"] == "throttled"
    metrics = g.metrics().render()
    assert f'otpgate_decisions_total{{frontend="auth",result="throttled"}} {throttled}' in metrics
    assert 'otpgate_decision_seconds_count{frontend="auth"} 8' in metrics


def _count(monkeypatch: pytest.MonkeyPatch, function: Any, calls: Counter[str]) -> None:
    """Count calls of ``function`` wherever otpgate's modules imported it."""
    name = function.__name__

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return function(*args, **kwargs)

    for module in list(sys.modules.values()):
        if module.__name__.startswith("otpgate") and getattr(module, name, None) is function:
            monkeypatch.setattr(module, name, counting)


def test_a_fresh_basic_login_parses_addresses_and_digests_once(
    gate: G, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otpgate.login.authenticator import Authenticator
    from otpgate.web import request

    calls: Counter[str] = Counter()
    _count(monkeypatch, request.parse_basic, calls)
    _count(monkeypatch, request.client_address, calls)
    digest = Authenticator._digest

    def counting_digest(self: Authenticator, user: str, password: str) -> bytes:
        calls["_digest"] += 1
        return digest(self, user, password)

    monkeypatch.setattr(Authenticator, "_digest", counting_digest)
    auth = {"Authorization": basic("alice", PIN + code(gate.clock)), "X-Forwarded-For": "192.0.2.1"}
    r = gate.client.get("/auth", headers=auth)
    assert r.status_code == 200 and r.headers["remote-user"] == "alice"
    assert calls["parse_basic"] == 1
    assert calls["client_address"] == 1
    assert 1 <= calls["_digest"] <= 2
    # The lingering request after it: one parse and one digest; the same proxy
    # headers give the address from the gate's cache, without parsing them again.
    calls.clear()
    gate.clock.advance(1)
    assert gate.client.get("/auth", headers=auth).status_code == 200
    assert calls == Counter({"parse_basic": 1, "_digest": 1})


def test_the_address_cache_is_bounded_and_agrees_with_the_parser(gate: G) -> None:
    from otpgate.web.clients import ADDRESS_CACHE
    from otpgate.web.request import client_address

    g = gate.clients()
    trusted = g.trusted
    for i in range(ADDRESS_CACHE + 10):
        forwarded = f"198.51.100.{i % 250}, 10.{i // 250}.0.1"
        assert g.address("127.0.0.1", forwarded) == client_address("127.0.0.1", forwarded, trusted)
        assert len(g._addresses) <= ADDRESS_CACHE
    # Overlong headers are answered but not kept.
    long_header = ", ".join(["203.0.113.7"] * 40)
    g._addresses.clear()
    assert g.address("127.0.0.1", long_header) == "203.0.113.7"
    assert g._addresses == {}
