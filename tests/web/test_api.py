"""POST /api/v1/check, /openapi.json, /healthz, /metrics."""

from __future__ import annotations

import pytest

from otpgate.errors import StoreError

from .conftest import API_KEY, PIN, AppFactory, code
from .conftest import App as G

KEYED = {"X-API-Key": API_KEY}


def test_check_accepts_and_rejects(gate: G) -> None:
    good = gate.client.post(
        "/api/v1/check", json={"user": "alice", "password": PIN + code(gate.clock)}, headers=KEYED
    )
    assert good.status_code == 200
    assert good.json() == {"ok": True, "user": "alice"}
    bad = gate.client.post(
        "/api/v1/check", json={"user": "alice", "password": PIN + "000000"}, headers=KEYED
    )
    assert bad.status_code == 401
    assert bad.json() == {"ok": False}


def test_bearer_key_works_too(gate: G) -> None:
    r = gate.client.post(
        "/api/v1/check",
        json={"user": "alice", "password": PIN + code(gate.clock)},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"X-API-Key": ""}]
)
def test_api_key_is_required(gate: G, headers: dict[str, str]) -> None:
    r = gate.client.post(
        "/api/v1/check",
        json={"user": "alice", "password": PIN + code(gate.clock)},
        headers=headers,
    )
    assert r.status_code == 403
    assert r.json()["ok"] is False


def test_no_configured_key_means_no_access(make_gate: AppFactory) -> None:
    g = make_gate(api_keys=[])
    r = g.client.post("/api/v1/check", json={"user": "a", "password": "b"}, headers=KEYED)
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"user": 1, "password": "x"}', "application/json", 400),
        (b'{"user": "alice"}', "application/json", 400),
        (b'{"user": "", "password": "x"}', "application/json", 400),
        (b'{"user": "a\\u0000", "password": "x"}', "application/json", 400),
        (b'{"user": "alice", "password": "x", "ip": "not-an-ip"}', "application/json", 400),
        (b'{"user": "alice", "password": "x"}', "text/plain", 415),
        (b"\xff\xfe", "application/json", 400),
        (b'{"user": "' + b"a" * 9000 + b'", "password": "x"}', "application/json", 413),
    ],
)
def test_malformed_requests_are_4xx(gate: G, body: bytes, ctype: str, status: int) -> None:
    r = gate.client.post("/api/v1/check", content=body, headers={**KEYED, "Content-Type": ctype})
    assert r.status_code == status
    assert r.json()["ok"] is False


def test_throttled_check_is_429(gate: G) -> None:
    for _ in range(10):
        r = gate.client.post(
            "/api/v1/check", json={"user": "alice", "password": "0000000000"}, headers=KEYED
        )
        if r.status_code != 401:
            break
    assert r.status_code == 429
    assert r.json()["retry_after"] >= 1
    assert r.headers["retry-after"] == str(r.json()["retry_after"])


def test_ip_from_the_api_caller_is_used(make_gate: AppFactory) -> None:
    g = make_gate(auth={"logout_on_ip_change": True})
    password = PIN + code(g.clock)
    first = g.client.post(
        "/api/v1/check",
        json={"user": "alice", "password": password, "ip": "192.0.2.1"},
        headers=KEYED,
    )
    assert first.status_code == 200
    same = g.client.post(
        "/api/v1/check",
        json={"user": "alice", "password": password, "ip": "192.0.2.1"},
        headers=KEYED,
    )
    assert same.status_code == 200
    moved = g.client.post(
        "/api/v1/check",
        json={"user": "alice", "password": password, "ip": "192.0.2.2"},
        headers=KEYED,
    )
    assert moved.status_code == 401


def test_openapi_document_describes_the_check(gate: G) -> None:
    doc = gate.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    op = doc["paths"]["/api/v1/check"]["post"]
    assert set(op["responses"]) >= {"200", "401", "403", "429"}
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["user", "password"]


def test_healthz_reports_the_store(gate: G, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gate.client.get("/healthz").json() == {"status": "ok"}

    def broken() -> None:
        raise StoreError("down")

    monkeypatch.setattr(gate.store, "ping", broken)
    r = gate.client.get("/healthz")
    assert r.status_code == 503


def test_metrics_count_decisions_and_latency(gate: G) -> None:
    gate.client.post(
        "/api/v1/check", json={"user": "alice", "password": PIN + code(gate.clock)}, headers=KEYED
    )
    gate.client.post(
        "/api/v1/check", json={"user": "alice", "password": PIN + "000000"}, headers=KEYED
    )
    text = gate.client.get("/metrics").text
    assert 'otpgate_decisions_total{frontend="api",result="otp"} 1' in text
    assert 'otpgate_decisions_total{frontend="api",result="no_match"} 1' in text
    assert 'otpgate_decision_seconds_bucket{frontend="api",le="+Inf"} 2' in text
    assert 'otpgate_decision_seconds_count{frontend="api"} 2' in text
    assert "otpgate_throttled_total 0" in text


def test_metrics_are_only_for_allowed_networks(make_gate: AppFactory) -> None:
    g = make_gate(peer=("203.0.113.5", 1))
    assert g.client.get("/metrics").status_code == 403


def test_metrics_through_a_proxy_are_judged_by_the_client(make_gate: AppFactory) -> None:
    # A proxy on the gate's host (Traefik, Caddy, nginx) is in metrics_allow's
    # 127.0.0.1; what it forwards from the world must not read /metrics.
    g = make_gate(peer=("127.0.0.1", 1))
    assert g.client.get("/metrics").status_code == 200
    outside = g.client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert outside.status_code == 403
    inside = g.client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert inside.status_code == 200
    # From a peer that is no trusted proxy, its X-Forwarded-For changes nothing.
    g = make_gate(peer=("203.0.113.5", 1))
    assert g.client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403


def test_unknown_paths_and_methods(gate: G) -> None:
    assert gate.client.get("/nope").status_code == 404
    assert gate.client.get("/api/v1/check").status_code == 405
