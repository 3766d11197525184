"""A user who enrolled with a passkey holds no OTP key (issue 20).

The invitation page may have shown the invitation's pending key as a QR code
before the user chose a passkey instead: that key must not become a live
factor the user does not know about.  Such a user holds no OTP token at all;
a code sent for them is refused like a wrong code.  An administrator's reset
link gives them a code token again.
"""

from __future__ import annotations

import io

import pytest

from otpgate.accounts.administration import Actor, Administration, CannotResync
from otpgate.accounts.passkey_enrolment import confirm_with_passkey
from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import SelfService
from otpgate.audit.writer import AuditLog
from otpgate.errors import LastAuthenticator, UnknownUser
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.pins import PinHasher
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import parse_token_type
from otpgate.store.authenticators import OtpToken
from otpgate.store.invitations import digest
from otpgate.store.memory import MemoryStore
from otpgate.store.passkeys import Passkey, new_passkey_id
from otpgate.store.records import Pin, UserRecord

T0 = 1_800_000_000.0
TOTP = parse_token_type("HOTP/T30")
PIN = "735191"
HOUR = 3600.0


def passkey(user: str = "dora") -> Passkey:
    cred = b"\x07" * 16
    return Passkey(
        new_passkey_id(), user, cred, b"\xa5\x01" + cred, 0, ("internal",), "0" * 32, "Laptop", T0
    )


@pytest.fixture
def svc() -> SelfService:
    hasher = PinHasher(time_cost=1, memory_cost=8)
    return SelfService(
        MemoryStore(), policy=PinPolicy(), hasher=hasher, audit=AuditLog(io.StringIO())
    )


def enrolled_with_passkey(svc: SelfService) -> bytes:
    """Enrol dora from an invitation with a passkey; the key the invitation page could show."""
    token = svc.invite("dora", TOTP, expires_in=HOUR, reset=False, now=T0)
    assert svc.choose_pin(token, PIN, PIN, T0 + 10) == []
    inv = svc.store.get_invitation(digest(token))
    assert inv is not None and inv.pending_key is not None
    store = svc.store
    assert isinstance(store, MemoryStore)
    confirm_with_passkey(svc, store, token, passkey(), "192.0.2.1", T0 + 20)
    return inv.pending_key


def test_the_invitations_pending_key_is_no_live_factor(svc: SelfService) -> None:
    shown = enrolled_with_passkey(svc)
    auth = Authenticator(svc.store, AuthSettings(max_linger=0))
    for now in (T0 + 30, T0 + 60, T0 + 90):
        got = auth.login(auth.attempt("dora", PIN + totp(shown, now), "192.0.2.1"), now=now)
        assert not got.ok
        assert got.reason == "no_match"  # exactly what a wrong code gets
    record = svc.store.get("dora")
    assert record is not None and record.tokens() == () and not record.has_token
    assert record.authenticators() == []


def test_a_code_for_a_passkey_only_user_is_a_wrong_code_in_every_way() -> None:
    """The same reason, the same failure count and no PIN check, as a wrong code of a real token."""
    store = MemoryStore()
    store.add(UserRecord.passkeys_only("dora", Pin("delegated")))
    erins = b"\x01" * 20
    store.add(UserRecord("erin", TOTP, erins, Pin("delegated")))
    checked: list[str] = []

    class Checker:
        def check(self, user: str, pin: str) -> bool:
            checked.append(user)
            return pin == PIN

    auth = Authenticator(store, AuthSettings(max_linger=0), pin_checker=Checker())
    answers = []
    for user in ("dora", "erin"):
        got = auth.login(auth.attempt(user, PIN + "123456", "192.0.2.9"), now=T0 + 40)
        record = store.get(user)
        assert record is not None
        answers.append((got.ok, got.reason, record.state.failures))
        # Not digits: malformed for both.
        bad = auth.login(auth.attempt(user, PIN + "12345x", "192.0.2.9"), now=T0 + 41)
        answers.append((bad.ok, bad.reason))
    assert answers[0:2] == answers[2:4] == [(False, "no_match", 1), (False, "malformed")]
    assert checked == []  # neither answer cost a PIN check
    # (The check is counted: erin's right code asks it.)
    assert auth.login(auth.attempt("erin", PIN + totp(erins, T0 + 90), "x"), now=T0 + 90).ok
    assert checked == ["erin"]


def test_an_administrators_reset_link_gives_a_code_token_again(svc: SelfService) -> None:
    enrolled_with_passkey(svc)
    token = svc.invite("dora", TOTP, expires_in=HOUR, reset=True, now=T0 + 100)
    svc.keep_pin(token, T0 + 110)
    inv = svc.store.get_invitation(digest(token))
    assert inv is not None and inv.pending_key is not None
    svc.confirm(token, totp(inv.pending_key, T0 + 120), "192.0.2.1", T0 + 120)
    record = svc.store.get("dora")
    assert record is not None and record.has_token and record.key == inv.pending_key
    store = svc.store
    assert isinstance(store, MemoryStore) and len(store.passkeys("dora")) == 1
    auth = Authenticator(store, AuthSettings(max_linger=0))
    got = auth.login(auth.attempt("dora", PIN + totp(inv.pending_key, T0 + 180), "x"), now=T0 + 180)
    assert got.ok


def test_the_administration_resyncs_nothing_and_removes_by_kind(svc: SelfService) -> None:
    enrolled_with_passkey(svc)
    store = svc.store
    assert isinstance(store, MemoryStore)
    log = io.StringIO()
    admin = Administration(store, AuditLog(log), svc)
    root = Actor("root", "web", "192.0.2.7")
    with pytest.raises(CannotResync, match="no OTP token"):
        admin.resync(root, "dora", "123456", "654321", T0 + 50)
    [key] = store.passkeys("dora")
    with pytest.raises(LastAuthenticator):
        admin.remove_token(root, "dora", key.id, T0 + 60)
    store.add_token("dora", OtpToken(TOTP, b"\x02" * 20))
    admin.remove_token(root, "dora", key.id, T0 + 70)
    assert store.passkeys("dora") == []
    assert f'"detail":"WEBAUTHN {key.id}"' in log.getvalue()
    with pytest.raises(UnknownUser):
        admin.remove_token(root, "dora", key.id, T0 + 80)
