"""Challenge-response: the PIN alone, then the code with the transaction id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otpgate.state import open_state

from .conftest import PIN, Pi, code


def _first(pi: Pi, user: str = "alice", pin: str = PIN) -> dict[str, Any]:
    r = pi.check(user=user, **{"pass": pin})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _second(pi: Pi, tid: str, otp: str, user: str = "alice", key: str = "transaction_id") -> bool:
    r = pi.check(user=user, **{"pass": otp, key: tid})
    assert r.status_code == 200, r.text
    value: bool = r.json()["result"]["value"]
    return value


@pytest.fixture
def cr(make_pi: Any) -> Pi:
    pi: Pi = make_pi(challenge_response=True)
    return pi


def test_the_pin_alone_answers_a_challenge(cr: Pi) -> None:
    body = _first(cr)
    assert body["result"] == {"status": True, "value": False, "authentication": "CHALLENGE"}
    detail = body["detail"]
    tid = detail["transaction_id"]
    assert len(tid) == 20 and tid.isdigit()
    assert detail["transaction_ids"] == [tid]
    assert detail["client_mode"] == detail["preferred_client_mode"] == "interactive"
    [one] = detail["multi_challenge"]
    assert one["transaction_id"] == tid
    assert one["client_mode"] == "interactive"
    assert one["message"] == detail["message"] == "please enter otp: "
    assert {"serial", "type"} <= one.keys()
    assert _second(cr, tid, code(cr.clock)) is True


def test_state_is_the_legacy_name(cr: Pi) -> None:
    tid = _first(cr)["detail"]["transaction_id"]
    assert _second(cr, tid, code(cr.clock), key="state") is True


def test_pin_and_code_together_still_work(cr: Pi) -> None:
    assert cr.check(user="alice", **{"pass": cr.good()}).json()["result"]["value"] is True


def test_a_transaction_is_single_use(cr: Pi) -> None:
    tid = _first(cr)["detail"]["transaction_id"]
    assert _second(cr, tid, code(cr.clock)) is True
    cr.clock.advance(30)
    assert _second(cr, tid, code(cr.clock)) is False


def test_a_wrong_code_uses_the_transaction_up(cr: Pi) -> None:
    tid = _first(cr)["detail"]["transaction_id"]
    assert _second(cr, tid, "000000") is False
    assert _second(cr, tid, code(cr.clock)) is False


def test_a_transaction_is_bound_to_its_user(make_pi: Any) -> None:
    from otpgate.otp.tokens import TokenType
    from otpgate.store.records import Pin, UserRecord

    from ..conftest import UNICODE_KEY, make_store

    store = make_store()
    # bob has alice's PIN: only the binding keeps alice's first leg from being bob's.
    store.add(UserRecord("bob", TokenType("HOTP", 30, 6), UNICODE_KEY, Pin("plain", PIN)))
    pi: Pi = make_pi(challenge_response=True, store=store)
    tid = _first(pi)["detail"]["transaction_id"]
    assert _second(pi, tid, code(pi.clock, UNICODE_KEY), user="bob") is False
    # ... and the attempt took it: alice cannot use it either.
    assert _second(pi, tid, code(pi.clock)) is False


def test_a_transaction_expires(make_pi: Any) -> None:
    pi: Pi = make_pi(challenge_response=True, challenge_ttl=60)
    tid = _first(pi)["detail"]["transaction_id"]
    pi.clock.advance(61)
    assert _second(pi, tid, code(pi.clock)) is False


def test_a_made_up_transaction_is_rejected(cr: Pi) -> None:
    for tid in ["1" * 20, "", "x" * 20, "1" * 5000]:
        r = cr.check(user="alice", **{"pass": code(cr.clock), "transaction_id": tid})
        assert r.json()["result"].get("value") is not True


def test_a_wrong_pin_is_challenged_too_and_refused_with_the_code(cr: Pi) -> None:
    # The first leg is no oracle for the PIN: a wrong one is challenged alike.
    wrong, right = _first(cr, pin="9999"), _first(cr)
    assert wrong["result"] == right["result"]
    assert wrong["detail"].keys() == right["detail"].keys()
    assert _second(cr, wrong["detail"]["transaction_id"], code(cr.clock)) is False


def test_an_unknown_user_is_challenged_alike(cr: Pi) -> None:
    unknown, known = _first(cr, user="mallory"), _first(cr)
    assert unknown["result"] == known["result"]
    assert unknown["detail"]["type"] == known["detail"]["type"]
    assert _second(cr, unknown["detail"]["transaction_id"], "123456", user="mallory") is False


def test_off_the_pin_alone_is_rejected(pi: Pi) -> None:
    body = _first(pi)
    assert body["result"]["authentication"] == "REJECT"
    assert "transaction_id" not in body.get("detail", {})


def test_the_pin_is_not_stored_in_clear(tmp_path: Path, make_pi: Any) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'state.db'}"
    pi: Pi = make_pi(challenge_response=True, state=open_state(url))
    _first(pi, pin="secret-pin-1234")
    with sqlite3.connect(tmp_path / "state.db") as conn:
        rows = conn.execute("SELECT key, value FROM single").fetchall()
    assert len(rows) == 1
    assert b"secret-pin" not in rows[0][1] and b"alice" not in rows[0][1]


def test_the_second_leg_may_reach_another_gate(tmp_path: Path, make_pi: Any) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    a: Pi = make_pi(challenge_response=True, state=open_state(url))
    b: Pi = make_pi(challenge_response=True, state=open_state(url), clock=a.clock, store=a.store)
    tid = _first(a)["detail"]["transaction_id"]
    assert _second(b, tid, code(b.clock)) is True
    assert _second(a, tid, code(a.clock)) is False


@pytest.mark.redis
def test_the_second_leg_may_reach_another_host(
    redis_server_url: str, redis_prefix: str, make_pi: Any
) -> None:
    a: Pi = make_pi(challenge_response=True, state=open_state(redis_server_url, redis_prefix))
    b: Pi = make_pi(
        challenge_response=True,
        state=open_state(redis_server_url, redis_prefix),
        clock=a.clock,
        store=a.store,
    )
    tid = _first(a)["detail"]["transaction_id"]
    assert _second(b, tid, code(b.clock)) is True
    assert _second(a, tid, code(a.clock)) is False


def test_another_secret_cannot_read_a_transaction(tmp_path: Path, make_pi: Any) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    a: Pi = make_pi(challenge_response=True, state=open_state(url))
    other = {"session_secrets": ["o" * 40]}
    b: Pi = make_pi(
        challenge_response=True, state=open_state(url), clock=a.clock, store=a.store, web=other
    )
    tid = _first(a)["detail"]["transaction_id"]
    assert _second(b, tid, code(b.clock)) is False


def test_a_locked_user_gets_no_challenge(cr: Pi) -> None:
    import dataclasses

    record = cr.store.get("alice")
    assert record is not None
    locked = dataclasses.replace(record.state, locked_until=float("inf"))
    assert cr.store.compare_and_set("alice", record.version, locked) is not None
    body = _first(cr)
    assert body["result"]["authentication"] == "REJECT"
    assert "transaction_id" not in body.get("detail", {})


def test_a_store_error_in_the_first_leg_gets_no_challenge(
    cr: Pi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otpgate.errors import StoreError

    def broken(name: str) -> None:
        raise StoreError("down")

    monkeypatch.setattr(cr.store, "get", broken)
    r = cr.check(user="alice", **{"pass": PIN})
    assert r.status_code == 500
    assert r.json()["result"]["error"]["code"] == 902
