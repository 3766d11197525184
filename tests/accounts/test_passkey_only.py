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

from otpgate.accounts.passkey_enrolment import confirm_with_passkey
from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import SelfService
from otpgate.audit.writer import AuditLog
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.pins import PinHasher
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import parse_token_type
from otpgate.store.invitations import digest
from otpgate.store.memory import MemoryStore
from otpgate.store.passkeys import Passkey, new_passkey_id

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
