"""Never the last authenticator, over every kind (issue 20), on every backend with passkeys.

A user's OTP tokens and passkeys count together: removing the last of them
(``remove_token`` or ``remove_passkey``) is refused with
:class:`~otpgate.errors.LastAuthenticator`, atomically, so two removals at
once (the last token from one page, the last passkey from another) leave
exactly one.  Removing the only token of a user who has a passkey is allowed:
they sign in with the passkey, and their record holds no OTP token.
"""

from __future__ import annotations

import threading

import pytest

from otpgate.errors import LastAuthenticator
from otpgate.otp.tokens import parse_token_type
from otpgate.store import Store
from otpgate.store.passkeys import Passkey, PasskeyStore, new_passkey_id
from otpgate.store.records import Pin, UserRecord, UserState

from .conftest import BACKENDS, NOW, Opener, user

pytestmark = pytest.mark.parametrize(
    "store_url", [b for b in BACKENDS if b != "users-file"], indirect=True
)

ROUNDS = 12


def passkey(owner: str, cred: bytes) -> Passkey:
    return Passkey(
        new_passkey_id(), owner, cred, b"\xa5\x01" + cred, 0, ("internal",), "0" * 36, "Key", NOW
    )


def _store(opener: Opener) -> Store:
    s = opener()
    assert isinstance(s, PasskeyStore)
    return s


def count(s: Store, name: str) -> int:
    record = s.get(name)
    assert record is not None and isinstance(s, PasskeyStore)
    return len(record.tokens()) + len(s.passkeys(name))


def token_and_passkey(s: Store, name: str, n: int = 0) -> tuple[str, str]:
    """``name`` with one OTP token and one passkey: (token id, passkey id)."""
    s.add(user(name))
    record = s.get(name)
    assert record is not None and isinstance(s, PasskeyStore)
    key = passkey(name, bytes([n % 256, n // 256]) * 8)
    s.add_passkey(key)
    return record.first().meta.id, key.id


def test_the_only_token_of_a_user_with_a_passkey_may_go(opener: Opener) -> None:
    s = _store(opener)
    token_id, key_id = token_and_passkey(s, "alice")
    assert s.remove_token("alice", token_id)
    record = s.get("alice")
    assert record is not None and record.tokens() == () and not record.has_token
    assert record.authenticators() == []
    # The passkey is now the last: it stays.
    assert isinstance(s, PasskeyStore)
    with pytest.raises(LastAuthenticator):
        s.remove_passkey("alice", key_id)
    assert [p.id for p in s.passkeys("alice")] == [key_id]


def test_the_only_passkey_of_a_user_with_a_token_may_go(opener: Opener) -> None:
    s = _store(opener)
    token_id, key_id = token_and_passkey(s, "alice")
    assert isinstance(s, PasskeyStore)
    assert s.remove_passkey("alice", key_id)
    with pytest.raises(LastAuthenticator):
        s.remove_token("alice", token_id)
    assert count(s, "alice") == 1


def test_another_users_or_no_such_authenticator_is_false_not_last(opener: Opener) -> None:
    s = _store(opener)
    token_id, key_id = token_and_passkey(s, "alice")
    s.add(user("bob"))
    assert isinstance(s, PasskeyStore)
    assert not s.remove_passkey("bob", key_id)
    assert not s.remove_token("bob", token_id)
    assert not s.remove_passkey("alice", "nope")
    assert not s.remove_token("alice", "nope")
    assert not s.remove_passkey("nobody", key_id)
    assert count(s, "alice") == 2


def test_a_user_with_no_token_is_kept_and_read_back(opener: Opener) -> None:
    s = _store(opener)
    s.add(UserRecord.passkeys_only("pat", Pin("none"), UserState(failures=2)))
    got = s.get("pat")
    assert got is not None and got.tokens() == () and got.state.failures == 2
    assert [r.username for r in s.list_users()] == ["pat"]
    assert isinstance(s, PasskeyStore)
    s.add_passkey(passkey("pat", b"\x09" * 16))
    # A token added later (a reset link, token add) is the record's first.
    kept = s.add_token("pat", user("x").first())
    got = s.get("pat")
    assert got is not None and [t.meta.id for t in got.tokens()] == [kept.meta.id]
    # A replace back to no token (what the SQL stores' rows allow, too).
    s.replace(got.without_tokens())
    again = s.get("pat")
    assert again is not None and again.tokens() == ()


def _race(s1: Store, s2: Store, name: str, token_id: str, key_id: str) -> list[str]:
    """Remove the token (through ``s1``) and the passkey (``s2``) at once; what each did."""
    barrier = threading.Barrier(2)
    out: list[str] = []

    def run(remove: object) -> None:
        barrier.wait()
        try:
            out.append("removed" if remove() else "absent")  # type: ignore[operator]
        except LastAuthenticator:
            out.append("last")

    assert isinstance(s2, PasskeyStore)
    threads = [
        threading.Thread(target=run, args=(lambda: s1.remove_token(name, token_id),)),
        threading.Thread(target=run, args=(lambda: s2.remove_passkey(name, key_id),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(out)


def test_two_removals_at_once_leave_exactly_one(opener: Opener, backend: str) -> None:
    """The last token and the last passkey removed at once: one goes, one is refused.

    Two store objects: for SQLite and PostgreSQL two connections (the memory
    store is one object shared by two threads).
    """
    s1 = _store(opener)
    s2 = s1 if backend == "memory" else _store(opener)
    for n in range(ROUNDS):
        name = f"u{n}"
        token_id, key_id = token_and_passkey(s1, name, n)
        assert _race(s1, s2, name, token_id, key_id) == ["last", "removed"]
        assert count(s1, name) == 1


def test_a_token_of_a_type_the_user_lacked_restores_codes(opener: Opener) -> None:
    """From passkeys only back to a code token: its codes are the record's again."""
    s = _store(opener)
    s.add(UserRecord.passkeys_only("pat", Pin("none")))
    hotp = parse_token_type("HOTP/E")
    s.replace(UserRecord("pat", hotp, b"\x01" * 20, Pin("none")))
    got = s.get("pat")
    assert got is not None and got.has_token and got.token_type == hotp
