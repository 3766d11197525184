"""PasskeyStore: users' WebAuthn credentials, on every backend (the users file refuses them)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from otpgate.errors import StoreError, UnknownUser
from otpgate.store.authenticators import AuthenticatorInfo
from otpgate.store.passkeys import (
    Passkey,
    PasskeyStore,
    check_passkey_name,
    new_passkey_id,
)

from .conftest import BACKENDS, NOW, PERSISTENT, Opener, user

# The users file cannot keep passkeys: test_passkeys_users_file.py shows it refuses them.
PASSKEY_BACKENDS = [b for b in BACKENDS if b != "users-file"]
pytestmark = pytest.mark.parametrize("store_url", PASSKEY_BACKENDS, indirect=True)


def key(owner: str = "alice", cred: bytes = b"\x01" * 16, **kw: object) -> Passkey:
    fields: dict[str, object] = {
        "id": new_passkey_id(),
        "user": owner,
        "credential_id": cred,
        "public_key": b"\xa5\x01\x02" + cred,
        "sign_count": 0,
        "transports": ("internal", "hybrid"),
        "aaguid": "00000000-0000-0000-0000-000000000000",
        "name": "Laptop",
        "created": NOW,
    }
    fields.update(kw)
    return Passkey(**fields)  # type: ignore[arg-type]


def test_every_backend_is_a_passkey_store(opener: Opener) -> None:
    assert isinstance(opener(), PasskeyStore)


def _store(opener: Opener, backend: str) -> PasskeyStore:
    s = opener()
    s.add(user("alice"))
    s.add(user("bob"))
    assert isinstance(s, PasskeyStore)
    return s


def test_passkeys_are_kept_listed_and_found(opener: Opener, backend: str) -> None:
    s = _store(opener, backend)
    first = key(created=NOW, last_used=None)
    second = key(cred=b"\x02" * 32, created=NOW + 5, name="Phone", transports=())
    s.add_passkey(second)
    s.add_passkey(first)
    s.add_passkey(key("bob", cred=b"\x03" * 16))
    again = opener() if backend in PERSISTENT else s
    assert isinstance(again, PasskeyStore)
    assert again.passkeys("alice") == [first, second]  # oldest first, every field kept
    assert again.find_passkey(b"\x02" * 32) == second
    assert again.find_passkey(b"\x02" * 31) is None
    assert again.passkeys("nobody") == []
    assert first.info() == AuthenticatorInfo(first.id, "WEBAUTHN", "Laptop", NOW, None)


def test_a_credential_id_is_registered_once(opener: Opener, backend: str) -> None:
    s = _store(opener, backend)
    s.add_passkey(key())
    with pytest.raises(StoreError, match="registered already"):
        s.add_passkey(key("bob"))  # the same credential for another user
    assert s.passkeys("bob") == []
    with pytest.raises(UnknownUser):
        s.add_passkey(key("ghost", cred=b"\x09" * 16))
    assert s.find_passkey(b"\x09" * 16) is None


def test_the_sign_count_is_compare_and_set(opener: Opener, backend: str) -> None:
    s = _store(opener, backend)
    pk = key(sign_count=5)
    s.add_passkey(pk)
    assert s.use_passkey(pk.id, 4, 9, NOW + 1) is False  # not what was read
    assert s.use_passkey(pk.id, 5, 6, NOW + 2) is True
    assert s.use_passkey(pk.id, 5, 7, NOW + 3) is False  # the count moved on
    assert s.use_passkey("nope", 6, 7, NOW + 3) is False
    (now,) = s.passkeys("alice")
    assert (now.sign_count, now.last_used) == (6, NOW + 2)


def test_one_assertion_wins_once_across_threads(opener: Opener, backend: str) -> None:
    s = _store(opener, backend)
    pk = key(sign_count=1)
    s.add_passkey(pk)
    wins: list[bool] = []
    start = threading.Barrier(8)

    def race() -> None:
        start.wait()
        wins.append(s.use_passkey(pk.id, 1, 2, NOW))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_rename_and_remove_only_the_users_own(opener: Opener, backend: str) -> None:
    s = _store(opener, backend)
    pk = key()
    s.add_passkey(pk)
    assert s.rename_passkey("bob", pk.id, "Mine now") is False
    assert s.remove_passkey("bob", pk.id) is False
    assert s.rename_passkey("alice", pk.id, "Work laptop") is True
    assert s.passkeys("alice") == [replace(pk, name="Work laptop")]
    assert s.remove_passkey("alice", pk.id) is True
    assert s.remove_passkey("alice", pk.id) is False
    assert s.passkeys("alice") == []


def test_removing_the_user_removes_their_passkeys(opener: Opener, backend: str) -> None:
    s = _store(opener, backend)
    s.add_passkey(key())
    assert s.remove("alice")  # type: ignore[attr-defined]
    assert s.find_passkey(b"\x01" * 16) is None
    s.add(user("alice"))  # type: ignore[attr-defined]
    assert s.passkeys("alice") == []


def test_names_are_checked(store_url: str) -> None:
    assert check_passkey_name("  Laptop ") == "Laptop"
    for bad in ("", "   ", "x" * 65, "a\nb", "\x1b[2J"):
        with pytest.raises(ValueError, match="name"):
            check_passkey_name(bad)
    assert len({new_passkey_id() for _ in range(100)}) == 100
