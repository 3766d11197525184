"""GET /auth's costs: no PIN hash and no thread on the hot path, one decision, one
parse and one digest per request, a bounded address cache.

Every test runs in process and under both servers (tests/web/served.py).
"""

from __future__ import annotations

import base64
import sys
from collections import Counter
from typing import Any

import pytest

from .conftest import PIN, AppFactory, code
from .conftest import App as G
from .served import every_server  # noqa: F401 - the make_gate fixture: under every server


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


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
