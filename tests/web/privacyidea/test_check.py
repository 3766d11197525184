"""``/validate/check``: the envelope, form/JSON/multipart/GET bodies, realms, errors."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PIN, Pi, code


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["jsonrpc"] == "2.0"
    assert body["result"]["status"] is True
    assert {"id", "version", "time"} <= body.keys()
    return body


def test_accepts_pin_and_code(pi: Pi) -> None:
    body = _ok(pi.check(user="alice", password="x", **{"pass": pi.good()}))
    assert body["result"]["value"] is True
    assert body["result"]["authentication"] == "ACCEPT"
    assert body["detail"]["message"] == "matching 1 tokens"
    assert body["detail"]["type"] == "totp"
    assert body["detail"]["serial"].startswith("OTPG")
    assert body["detail"]["otplen"] == 6
    assert isinstance(body["detail"]["threadid"], int)


def test_rejects_a_wrong_code(pi: Pi) -> None:
    body = _ok(pi.check(user="alice", **{"pass": PIN + "000000"}))
    assert body["result"]["value"] is False
    assert body["result"]["authentication"] == "REJECT"


def test_a_code_is_single_use(pi: Pi) -> None:
    good = pi.good()
    assert _ok(pi.check(user="alice", **{"pass": good}))["result"]["value"] is True
    # No linger through this API: privacyIDEA accepts a code once.
    assert _ok(pi.check(user="alice", **{"pass": good}))["result"]["value"] is False


def test_json_body_and_get_query(pi: Pi) -> None:
    r = pi.client.post("/validate/check", json={"user": "alice", "pass": pi.good()})
    assert _ok(r)["result"]["value"] is True
    pi.clock.advance(30)
    r = pi.client.get("/validate/check", params={"user": "alice", "pass": pi.good()})
    assert _ok(r)["result"]["value"] is True


def test_multipart_body_as_php_curl_sends_it(pi: Pi) -> None:
    files = {"user": (None, "alice"), "pass": (None, pi.good())}
    r = pi.client.post("/validate/check", files=files)
    assert _ok(r)["result"]["value"] is True


def _percent_store() -> Any:
    from otpgate.otp.tokens import TokenType
    from otpgate.store.memory import MemoryStore
    from otpgate.store.records import Pin, UserRecord

    from ..conftest import KEY

    store = MemoryStore()
    store.add(UserRecord("carol", TokenType("HOTP", 30, 6), KEY, Pin("plain", "p%41t")))
    return store


FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_form_values_are_decoded_twice_as_privacyidea_does(make_pi: Any) -> None:
    pi = make_pi(store=_percent_store())
    # The FreeRADIUS plugin URI-encodes, then LWP form-encodes: "%" arrives as "%2525".
    body = "user=carol&pass=p%252541t" + code(pi.clock)
    assert _ok(pi.client.post("/validate/check", content=body, headers=FORM))["result"]["value"]


def test_the_plugins_that_encode_once_are_decoded_once(make_pi: Any) -> None:
    pi = make_pi(store=_percent_store())
    body = "user=carol&pass=p%2541t" + code(pi.clock)
    headers = FORM | {"user-agent": "simplesamlphp/2.0 SimpleSAMLphp"}
    assert _ok(pi.client.post("/validate/check", content=body, headers=headers))["result"]["value"]
    pi.clock.advance(30)
    # Anyone else's "%41" is decoded once more, to "A": not carol's PIN.
    body = "user=carol&pass=p%2541t" + code(pi.clock)
    assert not _ok(pi.client.post("/validate/check", content=body, headers=FORM))["result"]["value"]


def test_user_at_realm_and_realm_parameter(pi: Pi) -> None:
    assert _ok(pi.check(user="alice@otpgate", **{"pass": pi.good()}))["result"]["value"] is True
    pi.clock.advance(30)
    body = _ok(pi.check(user="alice", realm="OTPGATE", **{"pass": pi.good()}))
    assert body["result"]["value"] is True


def test_an_unknown_realm_is_user_not_found(pi: Pi) -> None:
    r = pi.check(user="alice", realm="other", **{"pass": pi.good()})
    assert r.status_code == 400
    body = r.json()
    assert body["result"]["status"] is False
    assert body["result"]["error"]["code"] == 904
    # privacyIDEA 3.14's words, as it answered them here.
    assert body["result"]["error"]["message"] == "ERR904: User <alice@other> does not exist."
    assert "value" not in body["result"]


def test_an_unknown_user_is_rejected_like_a_wrong_code(pi: Pi) -> None:
    unknown = _ok(pi.check(user="mallory", **{"pass": PIN + "123456"}))
    wrong = _ok(pi.check(user="alice", **{"pass": PIN + "123456"}))
    assert unknown["result"] == wrong["result"]
    assert unknown["detail"].keys() == wrong["detail"].keys()


def test_no_user_is_905_as_privacyidea_words_it(pi: Pi) -> None:
    r = pi.check(**{"pass": "1234123456"})
    message = "ERR905: You need to specify a serial, user or credential_id."
    assert r.json()["result"]["error"]["message"] == message


@pytest.mark.parametrize(
    "params",
    [
        {"pass": "1234123456"},
        {"user": "", "pass": "1234123456"},
        {"serial": "OATH0001", "pass": "1234123456"},
        {"user": "alice", "otponly": "1", "pass": "123456"},
        {"user": "a\x00b", "pass": "1234123456"},
        {"user": "x" * 300, "pass": "1234123456"},
    ],
)
def test_parameter_errors_are_905(pi: Pi, params: dict[str, str]) -> None:
    r = pi.check(**params)
    assert r.status_code == 400
    assert r.json()["result"]["error"]["code"] == 905
    assert r.json()["result"]["status"] is False


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"user": ["alice"], "pass": "1"}', "application/json"),
        (b"[" * 100_000, "application/json"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b"user=%ff%fe&pass=\xff", "application/x-www-form-urlencoded"),
        (b"&".join(b"a%d=1" % i for i in range(100)), "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_are_errors_never_accepts(pi: Pi, body: bytes, ctype: str) -> None:
    r = pi.client.post("/validate/check", content=body, headers={"content-type": ctype})
    assert r.status_code in (200, 400, 413), r.text
    assert r.json()["result"].get("value") is not True


def test_a_huge_body_is_refused_unread(pi: Pi) -> None:
    big = "user=alice&pass=" + "1" * 200_000
    r = pi.client.post(
        "/validate/check",
        content=big,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    assert r.json()["result"]["error"]["code"] == 905


def test_a_huge_password_is_rejected_without_a_decision(pi: Pi) -> None:
    r = pi.check(user="alice", **{"pass": "1" * 5000})
    assert _ok(r)["result"]["value"] is False
    assert pi.metrics().decisions("privacyidea", "malformed") == 1


def test_an_empty_password_never_logs_the_user_out(pi: Pi) -> None:
    assert _ok(pi.check(user="alice", **{"pass": pi.good()}))["result"]["value"] is True
    assert _ok(pi.check(user="alice", **{"pass": ""}))["result"]["value"] is False
    assert pi.metrics().decisions("privacyidea", "logout") == 0


def test_the_decision_is_counted_as_privacyidea(pi: Pi) -> None:
    pi.check(user="alice", **{"pass": pi.good()})
    pi.check(user="alice", **{"pass": PIN + "000000"})
    assert pi.metrics().decisions("privacyidea", "otp") == 1
    assert pi.metrics().decisions("privacyidea", "no_match") == 1


def test_off_by_default(make_gate: Any) -> None:
    g = make_gate()
    r = g.client.post("/validate/check", data={"user": "alice", "pass": "1"})
    assert r.status_code == 404


def test_under_a_prefix(make_pi: Any) -> None:
    pi = make_pi(prefix="/pi")
    assert pi.client.post("/validate/check", data={"user": "a", "pass": "b"}).status_code == 404
    assert _ok(pi.check(user="alice", **{"pass": pi.good()}))["result"]["value"] is True


def test_a_store_error_is_902_never_an_accept(pi: Pi, monkeypatch: pytest.MonkeyPatch) -> None:
    from otpgate.errors import StoreError

    def broken(name: str) -> None:
        raise StoreError("down")

    monkeypatch.setattr(pi.store, "get", broken)
    r = pi.check(user="alice", **{"pass": pi.good()})
    assert r.status_code == 500
    body = r.json()
    assert body["result"]["status"] is False
    assert body["result"]["error"]["code"] == 902


def test_radiuscheck_answers_with_the_status_alone(make_pi: Any) -> None:
    pi: Pi = make_pi(challenge_response=True)
    good = pi.client.post("/validate/radiuscheck", data={"user": "alice", "pass": pi.good()})
    assert (good.status_code, good.content) == (204, b"")
    for form in (
        {"user": "alice", "pass": PIN + "000000"},  # refused (challenged, here)
        {"user": "alice", "pass": PIN},  # a challenge is no accept
        {"user": "alice", "realm": "other", "pass": pi.good()},  # an error
        {"pass": "1"},
    ):
        r = pi.client.post("/validate/radiuscheck", data=form)
        assert (r.status_code, r.content) == (400, b""), form


def test_each_decision_is_one_log_line_of_its_own_frontend(
    pi: Pi, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="otpgate.decision"):
        pi.check(user="alice", **{"pass": pi.good()})
        pi.check(user="alice", transaction_id="1" * 20, **{"pass": "123456"})
    fields = [r.otpgate for r in caplog.records if r.name == "otpgate.decision"]  # type: ignore[attr-defined]
    assert [(f["frontend"], f["result"], f["reason"]) for f in fields] == [
        ("privacyidea", "accept", "otp"),
        ("privacyidea", "reject", "no_transaction"),
    ]
    # No traceback, nothing logged as an error on the way.
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
