"""Whatever arrives, the gate answers with a deliberate status, never a 500."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import API_KEY, PIN, App, AppFactory, code, csrf_token, make_sqlite_store

# Header values as a proxy could pass them on: any byte but CR, LF and NUL.
header_bytes = st.binary(max_size=300).map(
    lambda b: bytes(c for c in b if c not in (0, 10, 13)).strip()
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(authorization=header_bytes, cookie=header_bytes, accept=header_bytes, xff=header_bytes)
def test_forward_auth_never_fails(
    gate: App, authorization: bytes, cookie: bytes, accept: bytes, xff: bytes
) -> None:
    headers = {
        b"Authorization": b"Basic " + authorization,
        b"Cookie": b"otpgate_session=" + cookie,
        b"Accept": accept,
        b"X-Forwarded-For": xff,
        b"X-Original-URL": authorization,
    }
    r = gate.client.get("/auth", headers=headers)  # type: ignore[arg-type]
    assert r.status_code in (401, 302)


@SETTINGS
@given(body=st.binary(max_size=600), origin=header_bytes)
def test_login_post_never_fails(gate: App, body: bytes, origin: bytes) -> None:
    r = gate.client.post(
        "/login",
        content=body,
        headers={  # type: ignore[arg-type]
            b"Content-Type": b"application/x-www-form-urlencoded",
            b"Origin": origin,
        },
    )
    assert r.status_code in (400, 403, 413)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@SETTINGS
@given(
    user=json_values | st.text(max_size=300),
    password=json_values | st.text(max_size=40),
    ip=json_values,
)
def test_api_never_fails(gate: App, user: object, password: object, ip: object) -> None:
    body = json.dumps({"user": user, "password": password, "ip": ip}).encode()
    r = gate.client.post(
        "/api/v1/check",
        content=body,
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
    )
    assert r.status_code in (400, 401, 429)
    assert set(r.json()) <= {"ok", "error", "retry_after"}


# JSON as anything may send it: any value at the top, any nesting, and text
# with lone surrogates (legal in JSON as "\ud800", not encodable as UTF-8).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=20,
)
deep_json = st.integers(1, 8000).flatmap(
    lambda n: st.sampled_from(
        ["[" * n + "]" * n, '{"a":' * (n // 5 + 1) + "1" + "}" * (n // 5 + 1)]
    )
)


@pytest.fixture(params=["memory", "sqlite"])
def any_store_gate(request: pytest.FixtureRequest, make_gate: AppFactory, tmp_path: Path) -> App:
    if request.param == "memory":
        return make_gate()
    return make_gate(store=make_sqlite_store(tmp_path))


def post_json(gate: App, body: bytes) -> None:
    r = gate.client.post(
        "/api/v1/check",
        content=body,
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
    )
    assert r.status_code in (400, 401, 413, 429), r.text
    assert set(r.json()) <= {"ok", "error", "retry_after"}


@SETTINGS
@given(body=any_json | any_text.map(json.dumps) | deep_json)
def test_api_any_json_body_never_fails(any_store_gate: App, body: object) -> None:
    post_json(any_store_gate, body.encode() if isinstance(body, str) else json.dumps(body).encode())


@SETTINGS
@given(
    user=any_json | st.sampled_from(["alice", "\ud800", "al\udcffice"]),
    password=any_json | st.just(PIN + "000000"),
    ip=any_json | st.just("192.0.2.1"),
)
def test_api_fields_never_fail(
    any_store_gate: App, user: object, password: object, ip: object
) -> None:
    post_json(any_store_gate, json.dumps({"user": user, "password": password, "ip": ip}).encode())


# A return target as a browser or an attacker may send it: any text, or any
# bytes percent-encoded (not UTF-8, overlong, NUL, CR/LF, ...), mostly after
# a start that the login page would follow (a path, this very host).
rd_start = st.sampled_from(["", "/", "//", "http://testserver/", "https://evil.test/"])
rd_text = st.builds(lambda a, b: urllib.parse.quote(a + b, safe=""), rd_start, st.text(max_size=80))
rd_bytes = st.builds(
    lambda a, b: urllib.parse.quote(a, safe="") + "".join(f"%{c:02X}" for c in b),
    rd_start,
    st.binary(max_size=80),
)


@SETTINGS
@given(rd=rd_text | rd_bytes, signed_in=st.booleans())
def test_login_page_return_target_never_fails(gate: App, rd: str, signed_in: bool) -> None:
    if signed_in and gate.client.get("/auth").status_code != 200:
        gate.clock.advance(30)  # a fresh code: one typed into the form is single use
        assert gate.login().status_code == 303
    elif not signed_in:
        gate.client.cookies.clear()
    r = gate.client.get("/login?rd=" + rd)
    assert r.status_code in (200, 303)
    assert r.headers.get("location", "").isascii()


@SETTINGS
@given(rd=rd_text | rd_bytes)
def test_login_post_return_target_never_fails(gate: App, rd: str) -> None:
    page = gate.client.get("/login")
    fields = {
        "username": "alice",
        "pin": PIN,
        "code": code(gate.clock),
        "csrf": csrf_token(page.text),
    }
    body = urllib.parse.urlencode(fields) + "&rd=" + rd
    r = gate.client.post(
        "/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    # The first example uses the code up; the same code again is a replay or lingers.
    assert r.status_code in (303, 401)
    assert r.headers.get("location", "").isascii()
