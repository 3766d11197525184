"""Passkeys through privacyIDEA's API: ``/validate/initialize type=passkey``, then the
assertion to ``/validate/check`` (a software authenticator signs it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from otpgate.login.passkeys import Ceremonies, RelyingParty
from otpgate.state import LocalState
from otpgate.state.challenges import Challenges
from soft_authenticator import UP, SoftAuthenticator, unb64url

from .conftest import Pi

ORIGIN = "https://auth.example.com"
WEB = {"webauthn_rp_id": "example.com", "webauthn_origins": [ORIGIN]}


@pytest.fixture
def pk(make_pi: Any) -> tuple[Pi, SoftAuthenticator]:
    pi: Pi = make_pi(web=WEB)
    rp = RelyingParty("example.com", (ORIGIN,), "Example", b"k" * 32)
    cer = Ceremonies(rp, Challenges(LocalState()), pi.store)
    soft = SoftAuthenticator()
    handle, options = cer.registration_options("alice", pi.clock())
    cer.register("alice", handle, soft.create(unb64url(options["challenge"])), "Key", pi.clock())
    return pi, soft


def initialize(pi: Pi) -> tuple[str, bytes, dict[str, Any]]:
    r = pi.client.post("/validate/initialize", data={"type": "passkey"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["result"] == {"status": True, "value": False, "authentication": "CHALLENGE"}
    detail = body["detail"]
    tid = detail["transaction_id"]
    assert detail["passkey"]["rpId"] == "example.com"
    assert detail["passkey"]["userVerification"] == "required"
    assert detail["multi_challenge"][0]["type"] == "passkey"
    assert detail["multi_challenge"][0]["transaction_id"] == tid
    return tid, unb64url(detail["passkey"]["challenge"]), detail


def fields(answer: str) -> dict[str, str]:
    import json

    a = json.loads(answer)
    r = a["response"]
    out = {
        "credential_id": a["rawId"],
        "authenticatorData": r["authenticatorData"],
        "clientDataJSON": r["clientDataJSON"],
        "signature": r["signature"],
        "authenticatorAttachment": "platform",
    }
    if r["userHandle"]:
        out["userHandle"] = r["userHandle"]
    return out


def check(pi: Pi, tid: str, answer: str, origin: str = ORIGIN) -> dict[str, Any]:
    data = {"transaction_id": tid, **fields(answer)}
    r = pi.client.post("/validate/check", data=data, headers={"Origin": origin})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_initialize_then_check_accepts_and_names_the_user(pk: Any) -> None:
    pi, soft = pk
    tid, challenge, _ = initialize(pi)
    body = check(pi, tid, soft.get(challenge))
    assert body["result"]["value"] is True
    assert body["result"]["authentication"] == "ACCEPT"
    assert body["detail"]["username"] == "alice"


def test_a_replayed_assertion_is_refused(pk: Any) -> None:
    pi, soft = pk
    tid, challenge, _ = initialize(pi)
    answer = soft.get(challenge)
    assert check(pi, tid, answer)["result"]["value"] is True
    again = check(pi, tid, answer)
    assert again["result"] == {"status": True, "value": False, "authentication": "REJECT"}


def test_a_wrong_origin_is_refused_header_or_client_data(pk: Any) -> None:
    pi, soft = pk
    tid, challenge, _ = initialize(pi)
    body = check(pi, tid, soft.get(challenge), origin="https://evil.example.com")
    assert body["result"]["value"] is False
    # The header names an allowed origin, but the browser signed another one.
    tid, challenge, _ = initialize(pi)
    body = check(pi, tid, soft.get(challenge, origin="https://evil.example.com"))
    assert body["result"]["value"] is False
    # Header and answer agree, on an origin that is not the gate's.
    tid, challenge, _ = initialize(pi)
    evil = "https://evil.example.com"
    assert check(pi, tid, soft.get(challenge, origin=evil), origin=evil)["result"]["value"] is False
    # No Origin header at all.
    tid, challenge, _ = initialize(pi)
    data = {"transaction_id": tid, **fields(soft.get(challenge))}
    assert pi.client.post("/validate/check", data=data).json()["result"]["value"] is False


def test_an_expired_or_foreign_transaction_is_refused(pk: Any) -> None:
    pi, soft = pk
    tid, challenge, _ = initialize(pi)
    pi.clock.advance(121)
    assert check(pi, tid, soft.get(challenge))["result"]["value"] is False
    _, challenge, _ = initialize(pi)
    assert check(pi, "1" * 20, soft.get(challenge))["result"]["value"] is False
    # The transaction of another challenge does not answer for this one.
    tid, _, _ = initialize(pi)
    _, challenge, _ = initialize(pi)
    assert check(pi, tid, soft.get(challenge))["result"]["value"] is False


def test_without_user_verification_refused(pk: Any) -> None:
    pi, soft = pk
    tid, challenge, _ = initialize(pi)
    assert check(pi, tid, soft.get(challenge, flags=UP))["result"]["value"] is False


def test_a_cloned_counter_is_refused_and_logged(pk: Any, caplog: pytest.LogCaptureFixture) -> None:
    pi, soft = pk
    tid, challenge, _ = initialize(pi)
    assert check(pi, tid, soft.get(challenge, step=5))["result"]["value"] is True
    soft.count = 2  # a copy of the key that has signed less
    tid, challenge, _ = initialize(pi)
    # Listen on otpgate's logger itself: a test that ran `serve`'s logging
    # configuration in this process (propagate off) would hide it from the root.
    otpgate_log = logging.getLogger("otpgate")
    otpgate_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="otpgate"):
            body = check(pi, tid, soft.get(challenge))
    finally:
        otpgate_log.removeHandler(caplog.handler)
    assert body["result"]["value"] is False
    assert "passkey_cloned" in caplog.text
    assert "cloned authenticator" in caplog.text
    (stored,) = pi.store.passkeys("alice")
    assert stored.sign_count == 5


@pytest.mark.parametrize(
    "data",
    [
        {"transaction_id": "1", "credential_id": "x"},
        {"transaction_id": "", "credential_id": "", "signature": ""},
        {
            "transaction_id": "x",
            "credential_id": "!!",
            "authenticatorData": "%%",
            "clientDataJSON": "e30",
            "signature": "AA",
        },
        {
            "transaction_id": "x" * 20,
            "credential_id": "A" * 9000,
            "authenticatorData": "A",
            "clientDataJSON": "A",
            "signature": "A",
        },
    ],
)
def test_malformed_fields_never_500(pk: Any, data: dict[str, str]) -> None:
    pi, _ = pk
    r = pi.client.post("/validate/check", data=data, headers={"Origin": ORIGIN})
    assert r.status_code in (200, 400), r.text  # 400: a body over web.max_body
    assert r.json()["result"].get("value") is not True


def test_malformed_assertion_for_a_live_transaction(pk: Any) -> None:
    pi, soft = pk
    tid, challenge, _ = initialize(pi)
    data = {"transaction_id": tid, **fields(soft.get(challenge))}
    data["clientDataJSON"] = "bm90IGpzb24"
    r = pi.client.post("/validate/check", data=data, headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert r.json()["result"]["value"] is False


def test_other_types_and_passkeys_off_get_errors(pi: Pi, make_pi: Any) -> None:
    r = pi.client.post("/validate/initialize", data={"type": "passkey"})
    assert r.status_code == 400
    assert r.json()["result"]["error"]["code"] == 905
    on = make_pi(web=WEB)
    r = on.client.post("/validate/initialize", data={"type": "hotp"})
    assert r.status_code == 400
    assert r.json()["result"]["status"] is False


def test_the_answer_must_name_the_origin_the_plugin_forwards(make_pi: Any) -> None:
    other = "https://sso.example.com"
    pi: Pi = make_pi(web={**WEB, "webauthn_origins": [ORIGIN, other]})
    rp = RelyingParty("example.com", (ORIGIN,), "Example", b"k" * 32)
    cer = Ceremonies(rp, Challenges(LocalState()), pi.store)
    soft = SoftAuthenticator()
    handle, options = cer.registration_options("alice", pi.clock())
    cer.register("alice", handle, soft.create(unb64url(options["challenge"])), "Key", pi.clock())
    tid, challenge, _ = initialize(pi)
    assert (
        check(pi, tid, soft.get(challenge, origin=other), origin=ORIGIN)["result"]["value"] is False
    )
    tid, challenge, _ = initialize(pi)
    assert (
        check(pi, tid, soft.get(challenge, origin=other), origin=other)["result"]["value"] is True
    )
