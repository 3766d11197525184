"""``POST /auth`` for service accounts, ``triggerchallenge``, ``polltransaction``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from otpgate.web.privacyidea._service import ServiceTokens

from .conftest import API_KEY, Pi

NOW = 1_800_000_000.0


def _token(pi: Pi, prefix: str = "") -> str:
    r = pi.client.post(prefix + "/auth", data={"username": "svc", "password": API_KEY})
    assert r.status_code == 200, r.text
    value = r.json()["result"]["value"]
    assert value["role"] == "admin"  # what php-client requires of a service account
    token: str = value["token"]
    return token


def test_an_api_key_gets_a_token_that_triggers(pi: Pi) -> None:
    token = _token(pi)
    for header in ("Authorization", "PI-Authorization"):
        for value in (token, f"Bearer {token}"):
            r = pi.client.post(
                "/validate/triggerchallenge", data={"user": "alice"}, headers={header: value}
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["result"] == {"status": True, "value": 0, "authentication": "REJECT"}
            assert body["detail"]["transaction_ids"] == []


def test_a_json_body_works_for_auth(pi: Pi) -> None:
    r = pi.client.post("/auth", json={"username": "svc", "password": API_KEY})
    assert r.status_code == 200
    assert r.json()["result"]["value"]["token"].count(".") == 2


@pytest.mark.parametrize("password", ["wrong", "", API_KEY + "x", API_KEY[:-1]])
def test_a_wrong_password_gets_4031(pi: Pi, password: str) -> None:
    r = pi.client.post("/auth", data={"username": "svc", "password": password})
    assert r.status_code == 401
    assert r.json()["result"]["error"]["code"] == 4031
    assert "value" not in r.json()["result"]


def test_an_admin_login_is_not_a_service_account(pi: Pi) -> None:
    r = pi.client.post("/auth", data={"username": "alice", "password": pi.good()})
    assert r.status_code == 401


def test_forward_auth_keeps_its_path(pi: Pi) -> None:
    # A proxy's subrequest (no body) still reaches forward auth at /auth.
    r = pi.client.get("/auth")
    assert r.status_code in (302, 401)
    r = pi.client.post("/auth", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code in (302, 401)
    assert "result" not in r.text


def test_under_a_prefix_auth_is_there(make_pi: Any) -> None:
    pi: Pi = make_pi(prefix="/pi")
    token = _token(pi, "/pi")
    r = pi.client.post(
        "/pi/validate/triggerchallenge", data={"user": "alice"}, headers={"Authorization": token}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "garbage"}, {"Authorization": "a.b.c"}, {"PI-Authorization": ""}],
)
def test_triggerchallenge_needs_a_token(pi: Pi, headers: dict[str, str]) -> None:
    r = pi.client.post("/validate/triggerchallenge", data={"user": "alice"}, headers=headers)
    assert r.status_code == 401
    assert r.json()["result"]["status"] is False


def test_an_expired_token_is_refused(pi: Pi) -> None:
    token = _token(pi)
    pi.clock.advance(3601)
    r = pi.client.post(
        "/validate/triggerchallenge", data={"user": "alice"}, headers={"Authorization": token}
    )
    assert r.status_code == 401


def _forge(claims: dict[str, Any], header: dict[str, str], sig: bytes = b"") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(sig)])


def test_tokens_are_checked_strictly() -> None:
    tokens = ServiceTokens([b"s" * 40], 3600)
    good = tokens.issue("svc", NOW)
    assert tokens.check(good, NOW) == "svc"
    assert tokens.check(good, NOW + 3600) is None
    other = ServiceTokens([b"o" * 40], 3600)
    assert other.check(good, NOW) is None
    claims = {"username": "svc", "rights": ["validate"], "nbf": int(NOW), "exp": int(NOW) + 60}
    assert tokens.check(_forge(claims, {"alg": "none", "typ": "JWT"}), NOW) is None
    head, body, _sig = good.split(".")
    assert tokens.check(f"{head}.{body}.", NOW) is None
    assert tokens.check(f"{head}.{body}", NOW) is None
    assert tokens.check(good + "x" * 3000, NOW) is None
    # A rotated secret still verifies; the newest signs.
    rotated = ServiceTokens([b"s" * 40, b"n" * 40], 3600)
    assert rotated.check(good, NOW) == "svc"
    assert tokens.check(rotated.issue("svc", NOW), NOW) is None


def test_polltransaction_never_accepts(pi: Pi) -> None:
    r = pi.client.get("/validate/polltransaction", params={"transaction_id": "1" * 20})
    assert r.status_code == 200
    assert r.json()["result"]["value"] is False
    r = pi.client.get("/validate/polltransaction/" + "1" * 20)
    assert r.json()["result"]["value"] is False
    assert pi.client.get("/validate/polltransaction").json()["result"]["error"]["code"] == 905


def _signed(claims: dict[str, Any]) -> str:
    """A token signed as the gate signs, with these claims (what a key holder could make)."""
    import hashlib
    import hmac

    key = hmac.new(b"s" * 40, b"otpgate privacyidea service token", hashlib.sha256).digest()
    head, body, _ = _forge(claims, {"alg": "HS256", "typ": "JWT"}).split(".")
    tag = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}." + base64.urlsafe_b64encode(tag).rstrip(b"=").decode()


def test_a_token_needs_its_right_and_its_times() -> None:
    tokens = ServiceTokens([b"s" * 40], 3600)
    base = {"username": "svc", "rights": ["validate"], "nbf": int(NOW), "exp": int(NOW) + 60}
    assert tokens.check(_signed(base), NOW) == "svc"
    assert tokens.check(_signed(base | {"rights": []}), NOW) is None
    assert tokens.check(_signed(base | {"rights": "validate"}), NOW) is None
    assert tokens.check(_signed(base | {"exp": "9999999999"}), NOW) is None
    # Not valid before nbf (a minute of clock difference allowed).
    assert tokens.check(_signed(base | {"nbf": int(NOW) + 61}), NOW) is None
    assert tokens.check(_signed(base | {"nbf": int(NOW) + 60}), NOW) == "svc"
