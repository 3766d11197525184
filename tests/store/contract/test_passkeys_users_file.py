"""The users file (mod_authn_otp's format) cannot keep passkeys: it says so clearly."""

from __future__ import annotations

import pytest

from otpgate.errors import LastAuthenticator, StoreError
from otpgate.store.passkeys import PasskeysUnsupported
from otpgate.store.records import Pin, UserRecord

from .conftest import Opener, user
from .test_passkeys import key

pytestmark = pytest.mark.parametrize("store_url", ["users-file"], indirect=True)


def test_the_users_file_refuses_passkeys_clearly(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    with pytest.raises(PasskeysUnsupported, match="users file"):
        s.add_passkey(key())  # type: ignore[attr-defined]
    assert s.passkeys("alice") == []  # type: ignore[attr-defined]
    assert s.find_passkey(b"\x01" * 16) is None  # type: ignore[attr-defined]


def test_the_users_file_refuses_a_user_with_no_token_clearly(opener: Opener) -> None:
    """A passkey-only user cannot be written there (one token per line, no passkeys)."""
    s = opener()
    with pytest.raises(StoreError, match="holds no OTP token"):
        s.add(UserRecord.passkeys_only("pat", Pin("plain", "1234")))
    assert s.get("pat") is None
    s.add(user("alice"))
    alice = s.get("alice")
    assert alice is not None
    with pytest.raises(StoreError, match="holds no OTP token"):
        s.replace(alice.without_tokens())
    with pytest.raises(LastAuthenticator):
        s.remove_token("alice", alice.first().meta.id)
    assert s.get("alice") is not None and len(s.get("alice").tokens()) == 1  # type: ignore[union-attr]
