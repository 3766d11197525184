"""Self-service without HTTP: invitations, enrolment, PIN changes, recovery codes."""

from __future__ import annotations

import io
import json
import threading

import pytest

from otpgate.accounts.pin_policy import PinPolicy, PinProblem
from otpgate.accounts.selfservice import InvitationRefused, SelfService, WrongCode
from otpgate.audit.writer import AuditLog
from otpgate.login import recovery
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.pins import PinHasher
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import parse_token_type
from otpgate.store.invitations import digest
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord

T0 = 1_800_000_000.0
TOTP = parse_token_type("HOTP/T30")
OLD_KEY = b"12345678901234567890"
PIN = "735191"
HOUR = 3600.0


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def svc(log: io.StringIO) -> SelfService:
    store = MemoryStore()
    store.add(UserRecord("erin", TOTP, OLD_KEY, Pin("plain", "4321")))
    return SelfService(
        store, policy=PinPolicy(), hasher=PinHasher(time_cost=1, memory_cost=8), audit=AuditLog(log)
    )


def key_of(svc: SelfService, token: str) -> bytes:
    inv = svc.store.get_invitation(digest(token))
    assert inv is not None and inv.pending_key is not None
    return inv.pending_key


def enrol(svc: SelfService, user: str = "dora", *, reset: bool = False) -> tuple[str, bytes]:
    token = svc.invite(user, TOTP, expires_in=HOUR, reset=reset, now=T0)
    assert svc.choose_pin(token, PIN, PIN, T0 + 10) == []
    return token, key_of(svc, token)


def events(log: io.StringIO) -> list[tuple[str, str]]:
    return [(e["user"], e["reason"]) for e in map(json.loads, log.getvalue().splitlines())]


def test_a_new_user_enrols_once(svc: SelfService, log: io.StringIO) -> None:
    token, key = enrol(svc)
    assert svc.store.get("dora") is None  # nothing before the confirmation
    user, codes = svc.confirm(token, totp(key, T0 + 20), "192.0.2.1", T0 + 20)
    assert user == "dora" and len(codes) == 10
    record = svc.store.get("dora")
    assert record is not None and record.key == key and record.pin.kind == "hash"
    assert svc.store.consume_recovery_code("dora", recovery.digest("dora", codes[0]))
    # The confirming code is used up: it cannot sign in again.
    auth = Authenticator(svc.store, AuthSettings(max_linger=0))
    assert (
        auth.login(auth.attempt("dora", PIN + totp(key, T0 + 20), "192.0.2.1"), now=T0 + 25).reason
        == "replayed"
    )
    assert auth.login(auth.attempt("dora", PIN + totp(key, T0 + 50), "192.0.2.1"), now=T0 + 50).ok
    # The link is spent.
    for step in (
        lambda: svc.open(token, T0 + 30),
        lambda: svc.choose_pin(token, PIN, PIN, T0 + 30),
    ):
        with pytest.raises(InvitationRefused) as exc:
            step()
        assert exc.value.why == "used"
    with pytest.raises(InvitationRefused):
        svc.confirm(token, totp(key, T0 + 60), "192.0.2.1", T0 + 60)
    assert events(log) == [("dora", "invited"), ("dora", "enrolled")]
    assert key.hex() not in log.getvalue() and PIN not in log.getvalue()


def test_expired_and_revoked_links_are_refused(svc: SelfService) -> None:
    token = svc.invite("dora", TOTP, expires_in=HOUR, reset=False, now=T0)
    with pytest.raises(InvitationRefused) as exc:
        svc.open(token, T0 + HOUR)
    assert exc.value.why == "expired"
    token2, key = enrol(svc, "fred")
    assert svc.revoke("fred", T0 + 30) == 1
    with pytest.raises(InvitationRefused) as exc:
        svc.confirm(token2, totp(key, T0 + 30), "192.0.2.1", T0 + 30)
    assert exc.value.why == "revoked"
    assert svc.store.get("fred") is None
    for bad in ("", "x" * 43, token[:-1], "../../etc/passwd"):
        with pytest.raises(InvitationRefused) as exc:
            svc.open(bad, T0)
        assert exc.value.why == "unknown"


def test_a_wrong_code_does_not_activate(svc: SelfService) -> None:
    token, key = enrol(svc)
    for wrong in ("000000", totp(OLD_KEY, T0 + 20), "12345", "abcdef", "", "1" * 500):
        with pytest.raises(WrongCode):
            svc.confirm(token, wrong, "192.0.2.1", T0 + 20)
    assert svc.store.get("dora") is None
    assert svc.confirm(token, totp(key, T0 + 20), "192.0.2.1", T0 + 20)[0] == "dora"


def test_a_reset_keeps_the_old_token_until_confirmed(svc: SelfService) -> None:
    auth = Authenticator(svc.store, AuthSettings(max_linger=0))
    token, key = enrol(svc, "erin", reset=True)
    assert auth.login(
        auth.attempt("erin", "4321" + totp(OLD_KEY, T0 + 30), "192.0.2.1"), now=T0 + 30
    ).ok
    svc.confirm(token, totp(key, T0 + 60), "192.0.2.1", T0 + 60)
    assert not auth.login(
        auth.attempt("erin", "4321" + totp(OLD_KEY, T0 + 90), "192.0.2.1"), now=T0 + 90
    ).ok
    assert auth.login(auth.attempt("erin", PIN + totp(key, T0 + 120), "192.0.2.1"), now=T0 + 120).ok


def test_invite_checks_who(svc: SelfService) -> None:
    with pytest.raises(ValueError, match="exists"):
        svc.invite("erin", TOTP, expires_in=HOUR, reset=False, now=T0)
    with pytest.raises(ValueError, match="no user"):
        svc.invite("nobody", TOTP, expires_in=HOUR, reset=True, now=T0)
    with pytest.raises(ValueError, match="user names"):
        svc.invite("bad name", TOTP, expires_in=HOUR, reset=False, now=T0)
    with pytest.raises(ValueError, match="Mobile-OTP"):
        svc.invite("motp", parse_token_type("MOTP/T10/6"), expires_in=HOUR, reset=False, now=T0)


def test_pin_policy_is_applied_and_nothing_is_kept(svc: SelfService) -> None:
    token = svc.invite("dora", TOTP, expires_in=HOUR, reset=False, now=T0)
    assert svc.choose_pin(token, "123456", "123456", T0) == [PinProblem.SEQUENCE]
    assert svc.choose_pin(token, "dora-pin", "dora-pin", T0) == [PinProblem.USER_NAME]
    assert svc.choose_pin(token, PIN, "735192", T0) == [PinProblem.MISMATCH]
    inv = svc.open(token, T0)
    assert inv.status == "open" and inv.pending_key is None


def test_concurrent_confirmations_make_one_user(svc: SelfService) -> None:
    token, key = enrol(svc)
    code = totp(key, T0 + 20)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def go() -> None:
        barrier.wait()
        try:
            results.append(svc.confirm(token, code, "192.0.2.1", T0 + 20))
        except InvitationRefused as exc:
            results.append(exc.why)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert results.count("used") == 7


def test_change_pin_and_renew_codes(svc: SelfService, log: io.StringIO) -> None:
    assert svc.change_pin("erin", "1111", "1111", T0) == [PinProblem.TOO_SHORT, PinProblem.REPEATED]
    assert svc.change_pin("erin", "new-pin-9", "new-pin-9", T0) == []
    record = svc.store.get("erin")
    assert record is not None and record.state.revoked_before == T0
    first = svc.renew_codes("erin", T0)
    second = svc.renew_codes("erin", T0)
    assert not svc.store.consume_recovery_code("erin", recovery.digest("erin", first[0]))
    assert svc.store.consume_recovery_code("erin", recovery.digest("erin", second[0]))
    assert events(log) == [
        ("erin", "pin_changed"),
        ("erin", "recovery_renewed"),
        ("erin", "recovery_renewed"),
    ]
