"""The users file (mod_authn_otp's format) cannot keep passkeys: it says so clearly."""

from __future__ import annotations

import pytest

from otpgate.store.passkeys import PasskeysUnsupported

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
