"""A passkey sign-in goes through the Authenticator's throttle, PIN check and audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otpgate.audit.writer import AuditLog
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.passkey_login import PasskeyLogin
from otpgate.login.passkeys import Ceremonies
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import parse_token_type
from otpgate.state import LocalState
from otpgate.state.challenges import Challenges
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from soft_authenticator import UP, SoftAuthenticator, challenge_of

from .test_passkeys import NOW, RP
from .test_single_use import KEY

IP = "192.0.2.7"


@pytest.fixture
def gate(tmp_path: Path) -> tuple[PasskeyLogin, SoftAuthenticator, Path]:
    store = MemoryStore()
    store.add(UserRecord("alice", parse_token_type("HOTP/T30"), KEY, Pin("plain", "4711")))
    audit = tmp_path / "audit.log"
    settings = AuthSettings(throttle_free_failures=2)
    auth = Authenticator(store, settings, clock=lambda: NOW, audit=AuditLog(str(audit)))
    cer = Ceremonies(RP, Challenges(LocalState()), store)
    soft = SoftAuthenticator()
    handle, options = cer.registration_options("alice", NOW)
    cer.register("alice", handle, soft.create(challenge_of(options)), "Laptop", NOW)
    return PasskeyLogin(auth, cer), soft, audit


def sign_in(
    login: PasskeyLogin, soft: SoftAuthenticator, user: str | None, pin: str = "", **kw: object
) -> Reason:
    handle, options = login.ceremonies.authentication_options(user, NOW)
    answer = soft.get(challenge_of(options), **kw)  # type: ignore[arg-type]
    decision = login.sign_in(user, pin, handle, answer, IP, NOW)
    assert decision.ok is (decision.reason is Reason.PASSKEY)
    assert decision.user == ("alice" if decision.ok else None)
    return decision.reason


def lines(audit: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


def test_user_name_pin_and_passkey(gate: tuple[PasskeyLogin, SoftAuthenticator, Path]) -> None:
    login, soft, audit = gate
    assert sign_in(login, soft, "alice", "4711", flags=UP) is Reason.PASSKEY
    assert sign_in(login, soft, "alice", "0000") is Reason.BAD_PIN
    assert sign_in(login, soft, None) is Reason.PASSKEY  # the passkey alone, user verified
    assert sign_in(login, soft, None, flags=UP) is Reason.PASSKEY_REFUSED
    got = [(x["user"], x["result"], x["reason"]) for x in lines(audit)]
    assert got == [
        ("alice", "accept", "passkey"),
        ("alice", "reject", "bad_pin"),
        ("alice", "accept", "passkey"),
        ("alice", "reject", "passkey_refused"),
    ]


def test_failures_are_throttled_like_codes(
    gate: tuple[PasskeyLogin, SoftAuthenticator, Path],
) -> None:
    login, soft, _ = gate
    for _ in range(3):
        assert sign_in(login, soft, "alice", "0000") is Reason.BAD_PIN
    # Past the free failures: refused without looking, even with the right PIN.
    assert sign_in(login, soft, "alice", "4711") is Reason.THROTTLED
    assert login.auth.throttle.retry_after("alice", IP, NOW) is not None


def test_a_cloned_passkey_is_refused_and_audited(
    gate: tuple[PasskeyLogin, SoftAuthenticator, Path],
) -> None:
    login, soft, audit = gate
    assert sign_in(login, soft, "alice", "4711", step=10) is Reason.PASSKEY
    clone = SoftAuthenticator(credential_id=soft.credential_id, key=soft.key, count=3)
    assert sign_in(login, clone, "alice", "4711") is Reason.PASSKEY_CLONED
    assert sign_in(login, clone, None) is Reason.PASSKEY_CLONED
    alerts = [x for x in lines(audit) if x["result"] == "alert"]
    assert len(alerts) == 2
    assert alerts[0]["reason"] == "passkey_cloned" and alerts[0]["user"] == "alice"
    assert "sign count 4 after 10" in str(alerts[0]["detail"])
    assert sign_in(login, soft, "alice", "4711") is Reason.PASSKEY  # the original goes on


def test_unknown_credentials_and_users(gate: tuple[PasskeyLogin, SoftAuthenticator, Path]) -> None:
    login, soft, _ = gate
    stranger = SoftAuthenticator()
    assert sign_in(login, stranger, None) is Reason.PASSKEY_REFUSED
    assert sign_in(login, stranger, "alice", "4711") is Reason.PASSKEY_REFUSED
    assert sign_in(login, soft, "ghost", "4711") is Reason.PASSKEY_REFUSED
    decision = login.sign_in(None, "", "nohandle", "{", IP, NOW)
    assert not decision.ok and decision.reason is Reason.PASSKEY_REFUSED


def test_the_store_counts_failures_and_a_sign_in_clears_them(
    gate: tuple[PasskeyLogin, SoftAuthenticator, Path],
) -> None:
    login, soft, _ = gate
    store = login.auth.store
    assert sign_in(login, soft, "alice", "0000") is Reason.BAD_PIN
    assert sign_in(login, soft, "alice", "1111") is Reason.BAD_PIN
    state = store.get("alice").state  # type: ignore[union-attr]
    assert state.failures == 2 and state.last_auth is None
    login.auth.throttle.success("alice", IP)  # the throttle aside: the store's count
    assert sign_in(login, soft, "alice", "4711") is Reason.PASSKEY
    state = store.get("alice").state  # type: ignore[union-attr]
    assert (state.failures, state.last_auth, state.last_ip) == (0, NOW, IP)


def test_a_locked_user_is_refused_with_a_right_passkey(
    gate: tuple[PasskeyLogin, SoftAuthenticator, Path],
) -> None:
    from dataclasses import replace

    login, soft, _ = gate
    store = login.auth.store
    record = store.get("alice")
    assert record is not None
    locked = replace(record.state, locked_until=float("inf"))
    assert store.compare_and_set("alice", record.version, locked) is not None
    assert sign_in(login, soft, None) is Reason.LOCKED
    assert sign_in(login, soft, "alice", "4711") is Reason.LOCKED
