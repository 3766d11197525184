"""UserStore: users, their tokens and the state logins write, on every backend.

What a backend cannot keep is part of the contract too: the users file
refuses hashed PINs, the SQL stores refuse plain PINs, and those refusals are
tested here next to the round trips.  So is the serial rule (issue 9, item
8): ``--serial`` accepted newlines and terminal escapes, the store kept them,
and ``user show``/``list`` printed them raw; every store now refuses them.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import pytest

from otpgate.errors import StoreError, UnknownUser
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import TokenState
from otpgate.store import UserStore
from otpgate.store.records import Pin, UserState

from .conftest import (
    HASH_PIN_OK,
    HOTP,
    KEY,
    PERSISTENT,
    PLAIN_PIN_OK,
    Opener,
    every_backend,
    kept,
    same,
    user,
)

pytestmark = every_backend

BAD_SERIALS = ["S-1\nX-Admin: 1", "\x1b]0;owned\x07", "S\r2", "tab\there", "S\x85"]


def test_every_backend_is_a_user_store(opener: Opener) -> None:
    assert isinstance(opener(), UserStore)


def test_add_get_list(opener: Opener) -> None:
    s = opener()
    bob = user("bob", token_type=HOTP, pin=Pin("delegated"), serial="TOK-0001")
    alice = user("alice")
    s.add(bob)
    s.add(alice)
    same(s.get("alice"), alice)
    same(s.get("bob"), bob)
    assert [r.username for r in s.list_users()] == ["alice", "bob"]
    assert s.get("carol") is None


def test_duplicate_add_is_an_error_and_changes_nothing(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    with pytest.raises(StoreError) as info:
        s.add(user("alice", token_type=HOTP, key=b"\x01" * 20))
    assert not isinstance(info.value, UnknownUser)
    assert "alice" in str(info.value)
    same(s.get("alice"), user("alice"))
    assert len(list(s.list_users())) == 1


def test_replace(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    new = user(
        "alice",
        token_type=parse_token_type("HOTP/E/8"),
        key=b"\x42" * 20,
        pin=Pin("delegated"),
        serial="S2",
        state=UserState(TokenState(17), failures=2),
    )
    s.replace(new)
    same(s.get("alice"), new)
    with pytest.raises(UnknownUser):
        s.replace(user("nobody"))
    assert s.get("nobody") is None


def test_remove(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    s.add(user("bob"))
    s.set_recovery_codes("alice", ["d1"])
    assert s.remove("alice") is True
    assert s.remove("alice") is False
    assert s.get("alice") is None
    assert [r.username for r in s.list_users()] == ["bob"]
    # A user re-created under the old name does not inherit the old codes.
    s.add(user("alice"))
    assert s.count_recovery_codes("alice") == 0
    assert s.consume_recovery_code("alice", "d1") is False


def test_compare_and_set_wins_once(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    first = s.get("alice")
    assert first is not None
    state = UserState(TokenState(1, 1234), last_otp="123456", last_auth=1_700_000_000.0)
    new = s.compare_and_set("alice", first.version, state)
    assert new is not None
    assert new.state == kept(s, "alice", state)
    assert new.version != first.version
    same(s.get("alice"), new)
    # The same expected version again: stale, refused, and nothing changes.
    assert s.compare_and_set("alice", first.version, UserState(failures=9)) is None
    same(s.get("alice"), new)
    # The version returned by the winner is current.
    newer = s.compare_and_set("alice", new.version, replace(state, failures=1))
    assert newer is not None and newer.state.failures == 1


def test_compare_and_set_loses_after_admin_change(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    seen = s.get("alice")
    assert seen is not None
    s.replace(user("alice", serial="NEW"))
    assert s.compare_and_set("alice", seen.version, UserState(failures=1)) is None
    after = s.get("alice")
    assert after is not None and after.serial == "NEW" and after.state.failures == 0


def test_compare_and_set_unknown_user_or_bogus_version(opener: Opener) -> None:
    s = opener()
    assert s.compare_and_set("ghost", 1, UserState()) is None
    s.add(user("alice"))
    # 64 bits and more: no row holds such a version (SQLite raised OverflowError).
    for bogus in (None, "x", -1, 10**6, b"\x00", True, 1.0, 1 << 63, -(1 << 63) - 1, 1 << 64):
        assert s.compare_and_set("alice", bogus, UserState(failures=5)) is None
    got = s.get("alice")
    assert got is not None and got.state.failures == 0


def test_removed_user_cannot_be_written_back(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    seen = s.get("alice")
    assert seen is not None
    s.remove("alice")
    assert s.compare_and_set("alice", seen.version, UserState(failures=1)) is None
    assert s.get("alice") is None


@pytest.mark.parametrize(
    "state",
    [
        UserState(),
        UserState(
            TokenState(-3, 56_666_666),
            failures=4,
            last_otp="287082",
            last_auth=1_700_000_123.0,
            last_ip="192.0.2.7",
            locked_until=1_700_000_999.5,
            revoked_before=1_700_000_100.25,
        ),
        UserState(TokenState(2, None), failures=0, locked_until=math.inf),
        UserState(
            TokenState(0, 56_666_667),
            last_otp="000001",
            last_auth=1_700_000_010.75,
            last_ip="2001:db8::1",
        ),
    ],
)
def test_every_state_field_round_trips(opener: Opener, backend: str, state: UserState) -> None:
    s = opener()
    s.add(user("alice", state=state))
    same(s.get("alice"), user("alice", state=kept(s, "alice", state)))
    s.add(user("bob"))
    bob = s.get("bob")
    assert bob is not None
    assert s.compare_and_set("bob", bob.version, state) is not None
    same(s.get("bob"), user("bob", state=kept(s, "bob", state)))
    if backend in PERSISTENT:
        again = opener()
        same(again.get("alice"), user("alice", state=kept(s, "alice", state)))
        same(again.get("bob"), user("bob", state=kept(s, "bob", state)))
    # A state read back and written again keeps its tag (not a tag of the tag).
    bob = s.get("bob")
    assert bob is not None
    assert s.compare_and_set("bob", bob.version, bob.state) is not None
    same(s.get("bob"), user("bob", state=kept(s, "bob", state)))


@pytest.mark.parametrize(
    "text", ["HOTP", "HOTP/E/8", "HOTP/T60/7", "MOTP", "MOTP/E", "E", "T", "hotp/T30/6"]
)
def test_token_types_round_trip(opener: Opener, text: str) -> None:
    s = opener()
    tt = parse_token_type(text)
    key = bytes(range(8)) if tt.kind == "MOTP" else KEY
    s.add(user("alice", token_type=tt, key=key))
    got = s.get("alice")
    assert got is not None
    assert got.token_type == tt and got.key == key


def test_sha2_extension_round_trips(opener: Opener, backend: str) -> None:
    s = opener()
    tt = parse_token_type("HOTP-SHA256/T30/8")
    s.add(user("alice", token_type=tt, key=bytes(range(32))))
    got = s.get("alice")
    assert got is not None and got.token_type == tt and got.key == bytes(range(32))


def test_plain_pin(opener: Opener, backend: str) -> None:
    s = opener()
    rec = user("alice", pin=Pin("plain", "1234"))
    if backend in PLAIN_PIN_OK:
        s.add(rec)
        same(s.get("alice"), rec)
    else:
        with pytest.raises(StoreError, match="plain"):
            s.add(rec)
        assert s.get("alice") is None


def test_hashed_pin(opener: Opener, backend: str) -> None:
    s = opener()
    rec = user("alice", pin=Pin("hash", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"))
    if backend in HASH_PIN_OK:
        s.add(rec)
        same(s.get("alice"), rec)
    else:
        with pytest.raises(StoreError, match="hash"):
            s.add(rec)
        assert s.get("alice") is None


def test_one_version_wins_once_across_threads(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    seen = s.get("alice")
    assert seen is not None
    barrier = threading.Barrier(8)
    wins: list[int] = []
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            if s.compare_and_set("alice", seen.version, UserState(failures=i + 1)):
                wins.append(i + 1)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(wins) == 1
    final = s.get("alice")
    assert final is not None and final.state.failures == wins[0]


@pytest.mark.parametrize("serial", BAD_SERIALS)
def test_add_refuses_control_characters_in_a_serial(opener: Opener, serial: str) -> None:
    store = opener()
    with pytest.raises(StoreError, match="serial") as info:
        store.add(user(serial=serial))
    assert serial not in str(info.value)  # the message shows it escaped, not raw
    assert store.get("alice") is None


@pytest.mark.parametrize("serial", BAD_SERIALS)
def test_replace_refuses_control_characters_in_a_serial(opener: Opener, serial: str) -> None:
    store = opener()
    store.add(user(serial="S-1"))
    current = store.get("alice")
    assert current is not None
    with pytest.raises(StoreError, match="serial"):
        store.replace(replace(current, serial=serial))
    after = store.get("alice")
    assert after is not None and after.serial == "S-1"


def test_printable_serials_are_kept(opener: Opener) -> None:
    store = opener()
    store.add(user(serial="YubiKey 5 #1234 ü"))
    got = store.get("alice")
    assert got is not None and got.serial == "YubiKey 5 #1234 ü"
