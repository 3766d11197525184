"""Several ``X-Forwarded-*`` header lines from a trusted proxy are one list (RFC 9110 §5.3).

The attack (issue 9, item 1): a client sends its own ``X-Forwarded-For`` line;
a proxy that adds its own line instead of joining them hands the gate two
lines.  Reading only the first one lets the client pick its address, and with
it a fresh throttle budget for every guess.
"""

from __future__ import annotations

import base64
import ipaddress

import pytest

from otpgate.web.request import client_address, forwarded_list, forwarded_value

from .conftest import API_KEY, PIN, AppFactory, csrf_token
from .conftest import App as G

GUESSES = 30
# The address the trusted proxy saw, appended as its own header line.
REAL = "203.0.113.5"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def forged_then_real(i: int) -> list[tuple[str, str]]:
    return [("X-Forwarded-For", f"192.0.2.{i + 1}"), ("X-Forwarded-For", REAL)]


def evaluated(gate: G, frontend: str) -> int:
    """Guesses that reached the OTP check (counted failures)."""
    return gate.metrics().decisions(frontend, "no_match")


def test_several_lines_are_one_list() -> None:
    assert forwarded_list(["1.1.1.1", "2.2.2.2, 3.3.3.3"]) == "1.1.1.1, 2.2.2.2, 3.3.3.3"
    assert forwarded_list([]) is None
    assert forwarded_value(["evil.test", "app.example.com"]) == "app.example.com"
    assert forwarded_value(["evil.test, app.example.com"]) == "app.example.com"
    assert forwarded_value([" ,", ""]) is None
    trusted = [ipaddress.ip_network("127.0.0.1/32")]
    joined = forwarded_list(["192.0.2.1", REAL])
    assert client_address("127.0.0.1", joined, trusted) == REAL


def test_forward_auth_reads_every_forwarded_for_line(gate: G) -> None:
    for i in range(GUESSES):
        headers = [("Authorization", basic("alice", PIN + "000000")), *forged_then_real(i)]
        assert gate.client.get("/auth", headers=headers).status_code == 401
    # One (user, address) pair: three free failures, then the backoff answers.
    assert evaluated(gate, "auth") <= 4
    assert gate.metrics().decisions("auth", "throttled") >= GUESSES - 4


def test_login_page_reads_every_forwarded_for_line(gate: G) -> None:
    for i in range(GUESSES):
        page = gate.client.get("/login")
        form = {"username": "alice", "pin": PIN, "code": "000000", "csrf": csrf_token(page.text)}
        r = gate.client.post("/login", data=form, headers=forged_then_real(i))
        assert r.status_code in (401, 429)
    assert evaluated(gate, "login") <= 4


def test_api_reads_every_forwarded_for_line(gate: G) -> None:
    for i in range(GUESSES):
        r = gate.client.post(
            "/api/v1/check",
            json={"user": "alice", "password": PIN + "000000"},
            headers=[("X-API-Key", API_KEY), *forged_then_real(i)],
        )
        assert r.status_code in (401, 429)
    assert evaluated(gate, "api") <= 4


def test_logout_on_ip_change_sees_the_proxys_address(make_gate: AppFactory) -> None:
    g = make_gate(auth={"logout_on_ip_change": True})
    assert g.login(**{"X-Forwarded-For": REAL}).status_code == 303
    # A client line in front of the proxy's changes nothing: still the same address.
    assert g.client.get("/auth", headers=forged_then_real(7)).status_code == 200


@pytest.mark.parametrize(
    "host_lines",
    [
        [("X-Forwarded-Host", "evil.test"), ("X-Forwarded-Host", "app.example.com")],
        [("X-Forwarded-Host", "evil.test, app.example.com")],
    ],
)
def test_forwarded_host_is_the_proxys_value(
    make_gate: AppFactory, host_lines: list[tuple[str, str]]
) -> None:
    # The value the nearest (trusted) proxy added is the last one; the first may be the client's.
    g = make_gate(portal_url="https://auth.example.com", allowed_hosts=["app.example.com"])
    headers = [
        ("Accept", "text/html"),
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Proto", "https"),
        *host_lines,
        ("X-Forwarded-Uri", "/x"),
    ]
    r = g.client.get("/auth", headers=headers)
    assert r.headers["location"] == (
        "https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Fx"
    )


def test_login_page_own_host_is_the_proxys_value(gate: G) -> None:
    # The return target "own host" comes from the last X-Forwarded-Host value:
    # a client-sent first line cannot make https://evil.test/ "this site".
    headers = [("X-Forwarded-Host", "evil.test"), ("X-Forwarded-Host", "app.test")]
    evil = gate.client.get("/login?rd=https://evil.test/x", headers=headers)
    assert 'value="https://evil.test/x"' not in evil.text
    ok = gate.client.get("/login?rd=https://app.test/x", headers=headers)
    assert 'value="https://app.test/x"' in ok.text


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(make_gate: AppFactory) -> None:
    """/auth's redirect target: an untrusted peer's X-Original-URL is not taken (in
    process: a served gate's peer is always the test's own loopback address)."""
    g = make_gate(peer=("203.0.113.7", 5000))
    r = g.client.get("/auth", headers={"Accept": "text/html", "X-Original-URL": "http://a/x"})
    assert r.headers["location"] == "/otpgate/login"
