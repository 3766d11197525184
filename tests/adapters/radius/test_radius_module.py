"""otpgate.adapters.radius in this process: the mapping from decisions to RADIUS replies.

The same functions FreeRADIUS calls, without FreeRADIUS (its ``radiusd``
module does not exist here, so ``instantiate`` reads no ``config`` section
and these tests set the module's settings through ``open_authenticator_for``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.adapters import radius
from otpgate.login.authenticator import Attempt, Authenticator, Decision
from otpgate.login.reasons import Reason
from otpgate.store import open_store
from otpgate.store.passkeys import Passkey, PasskeyStore

from ..gate_users import audit, code, make_gate


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[Path]:
    config = make_gate(tmp_path, {"alice": "1234"})
    radius._authenticator = radius.open_authenticator_for(str(config))
    try:
        yield tmp_path
    finally:
        radius.detach()


@pytest.mark.parametrize("reason", list(Reason))
def test_every_refusal_is_a_reject_with_one_message(reason: Reason) -> None:
    if reason.accepted:
        assert radius.reply_for(Decision(True, "u", reason)) == (radius.RLM_MODULE_OK, {})
        return
    code_, reply = radius.reply_for(Decision(False, None, reason))
    if reason == Reason.STORE_ERROR:
        assert code_ == radius.RLM_MODULE_FAIL
        assert "not possible right now" in reply["reply"][0][1]
    else:
        # Nothing tells a guesser which factor, or whether the user, was wrong.
        assert (code_, reply) == (
            radius.RLM_MODULE_REJECT,
            {"reply": (("Reply-Message", radius.REFUSED),)},
        )


def test_a_wait_is_told_in_whole_seconds() -> None:
    code_, reply = radius.reply_for(Decision(False, None, Reason.THROTTLED, retry_after=0.2))
    assert code_ == radius.RLM_MODULE_REJECT
    assert reply["reply"] == (
        ("Reply-Message", "Too many failed attempts: try again in 1 seconds."),
    )


def test_unknown_user_is_notfound_only_with_fall_through() -> None:
    unknown = Decision(False, None, Reason.UNKNOWN_USER)
    assert radius.reply_for(unknown)[0] == radius.RLM_MODULE_REJECT
    assert radius.reply_for(unknown, fall_through=True) == (radius.RLM_MODULE_NOTFOUND, {})


@pytest.mark.parametrize(
    "reason",
    [Reason.BAD_PIN, Reason.NO_MATCH, Reason.REPLAYED, Reason.MALFORMED, Reason.LOCKED,
     Reason.LOGOUT, Reason.THROTTLED],
)  # fmt: skip
def test_fall_through_passes_on_what_mod_authn_otp_passes_on(reason: Reason) -> None:
    # As the module with OTPAuthFallThrough On: a wrong PIN, length, a lock, a
    # logout (and, since otpgate does not tell the PIN from the code, a wrong
    # or used code; and a throttled attempt, where nothing was checked).
    decision = Decision(False, None, reason, retry_after=5.0 if reason == "throttled" else None)
    assert radius.reply_for(decision)[0] == radius.RLM_MODULE_REJECT
    assert radius.reply_for(decision, fall_through=True) == (radius.RLM_MODULE_NOTFOUND, {})
    failed = Decision(False, None, Reason.STORE_ERROR)
    assert radius.reply_for(failed, fall_through=True)[0] == radius.RLM_MODULE_FAIL


def test_client_address_prefers_calling_station_id() -> None:
    both = {"Calling-Station-Id": "198.51.100.4", "NAS-IP-Address": "10.0.0.1"}
    assert radius.client_address(both) == "198.51.100.4"
    assert radius.client_address({"NAS-IP-Address": "10.0.0.1"}) == "10.0.0.1"
    assert radius.client_address(
        {"Calling-Station-Id": " ", "NAS-IPv6-Address": "2001:db8::1"}
    ) == ("2001:db8::1")
    assert radius.client_address({"Calling-Station-Id": "x" * 1000}) == "x" * 128
    assert radius.client_address({}) == "unknown"


def test_authenticate_both_calling_conventions(configured: Path) -> None:
    otp = code("alice")
    request = (("User-Name", "alice"), ("User-Password", "1234" + otp))
    assert radius.authenticate({"request": request})[0] == radius.RLM_MODULE_OK
    # The tuple form (pass_all_vps_dict off); the same code again is a replay.
    assert radius.authenticate(request)[0] == radius.RLM_MODULE_REJECT
    assert [e["reason"] for e in audit(configured, "alice")] == ["otp", "replayed"]


def test_no_password_is_refused_without_asking(configured: Path) -> None:
    reply = radius.authenticate({"request": (("User-Name", "alice"), ("CHAP-Password", "x"))})
    assert reply[0] == radius.RLM_MODULE_REJECT
    assert audit(configured, "alice") == []


@pytest.mark.parametrize("junk", [None, 42, "text", {"request": 7}, ((1, 2),)])
def test_junk_input_is_refused(configured: Path, junk: object) -> None:
    assert radius.authenticate(junk)[0] == radius.RLM_MODULE_REJECT


def test_not_instantiated_fails() -> None:
    radius.detach()
    request = {"request": (("User-Name", "alice"), ("User-Password", "1234123456"))}
    assert radius.authenticate(request)[0] == radius.RLM_MODULE_FAIL


def test_instantiate_refuses_to_start_on_bad_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outside FreeRADIUS there is no config section: the default path is used,
    # which does not exist here.
    monkeypatch.setattr(radius, "_DEFAULT_CONFIG", str(tmp_path / "missing.toml"))
    assert radius.instantiate(None) == -1
    with pytest.raises(ValueError, match="linger"):
        radius._settings({"linger": "-1"})
    assert radius._settings({"config_file": "/x.toml", "linger": "30"}) == ("/x.toml", 30.0, False)


def test_pending_challenges_once_per_state_user_and_time() -> None:
    pending = radius.PendingChallenges(ttl=120, size=3)
    state = pending.add("alice", "1234", now=1000.0)
    assert state.startswith("0x") and len(state) == 34
    assert pending.take(state, "mallory", now=1001.0) is None  # another user: gone too
    state = pending.add("alice", "1234", now=1000.0)
    assert pending.take(state.upper().replace("0X", "0x"), "alice", now=1001.0) == "1234"
    assert pending.take(state, "alice", now=1002.0) is None  # used
    late = pending.add("alice", "1234", now=1000.0)
    assert pending.take(late, "alice", now=1121.0) is None  # expired
    states = [pending.add(f"u{i}", "1", now=1000.0) for i in range(5)]
    assert len(pending) == 3  # bounded: the oldest went first
    assert pending.take(states[0], "u0", now=1000.0) is None
    assert pending.take(states[4], "u4", now=1000.0) == "1"


def test_challenge_setting() -> None:
    assert radius._settings({"challenge": "yes"})[2] is True
    assert radius._settings({})[2] is False
    with pytest.raises(ValueError, match="challenge"):
        radius._settings({"challenge": "maybe"})


def test_a_lingering_code_is_answered_from_memory_as_the_web_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `linger` set for a NAS that re-authenticates: the one entry
    # (Authenticator.login) answers the re-sent PIN+code from memory, no decide().
    config = make_gate(tmp_path, {"alice": "1234"})
    radius._authenticator = radius.open_authenticator_for(str(config), linger=600)
    fresh: list[str] = []
    real = Authenticator.decide

    def counting(self: Authenticator, attempt: Attempt, **kwargs: Any) -> Decision:
        fresh.append(attempt.user)
        return real(self, attempt, **kwargs)

    monkeypatch.setattr(Authenticator, "decide", counting)
    try:
        request = (("User-Name", "alice"), ("User-Password", "1234" + code("alice")))
        assert radius.authenticate(request)[0] == radius.RLM_MODULE_OK
        assert radius.authenticate(request)[0] == radius.RLM_MODULE_OK
        assert fresh == ["alice"]
    finally:
        radius.detach()


def test_a_user_with_passkeys_only_is_refused_like_a_wrong_code(tmp_path: Path) -> None:
    """Issue 20: pat's only token went (pat keeps a passkey); RADIUS cannot carry a passkey."""
    config = make_gate(tmp_path, {"pat": "1234"})
    store = open_store(f"sqlite:///{tmp_path}/otpgate.db", key_file=str(tmp_path / "otpgate.key"))
    try:
        assert isinstance(store, PasskeyStore)
        cred = b"\x04" * 16
        store.add_passkey(Passkey("pk-pat", "pat", cred, cred, 0, (), "0" * 36, "Key", 1.0))
        record = store.get("pat")
        assert record is not None and store.remove_token("pat", record.first().meta.id)
    finally:
        store.close()
    radius._authenticator = radius.open_authenticator_for(str(config))
    try:
        request = (("User-Name", "pat"), ("User-Password", "1234" + code("pat")))
        assert radius.authenticate({"request": request})[0] == radius.RLM_MODULE_REJECT
        assert [e["reason"] for e in audit(tmp_path, "pat")] == ["no_match"]
    finally:
        radius.detach()
