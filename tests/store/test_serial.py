"""Token serials with control characters are refused by every store.

The attack (issue 9, item 8): ``--serial`` accepted newlines and terminal
escapes, the store kept them, and ``user show``/``list`` printed them raw.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from otpgate.errors import StoreError
from otpgate.otp.tokens import parse_token_type
from otpgate.store.records import Pin, UserRecord

from .conftest import BACKENDS, Opener

pytestmark = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)

BAD_SERIALS = ["S-1\nX-Admin: 1", "\x1b]0;owned\x07", "S\r2", "tab\there", "S\x85"]


def record(serial: str | None) -> UserRecord:
    return UserRecord("alice", parse_token_type("HOTP/T30"), b"k" * 20, Pin("none"), serial=serial)


@pytest.mark.parametrize("serial", BAD_SERIALS)
def test_add_refuses_control_characters_in_a_serial(opener: Opener, serial: str) -> None:
    store = opener()
    with pytest.raises(StoreError, match="serial") as info:
        store.add(record(serial))
    assert serial not in str(info.value)  # the message shows it escaped, not raw
    assert store.get("alice") is None


@pytest.mark.parametrize("serial", BAD_SERIALS)
def test_replace_refuses_control_characters_in_a_serial(opener: Opener, serial: str) -> None:
    store = opener()
    store.add(record("S-1"))
    current = store.get("alice")
    assert current is not None
    with pytest.raises(StoreError, match="serial"):
        store.replace(replace(current, serial=serial))
    after = store.get("alice")
    assert after is not None and after.serial == "S-1"


def test_printable_serials_are_kept(opener: Opener) -> None:
    store = opener()
    store.add(record("YubiKey 5 #1234 ü"))
    got = store.get("alice")
    assert got is not None and got.serial == "YubiKey 5 #1234 ü"
