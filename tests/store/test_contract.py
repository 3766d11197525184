"""The store contract, run against every backend.

What a backend cannot keep is part of the contract too: the users file
refuses hashed PINs, the SQL stores refuse plain PINs, and those refusals are
tested here next to the round trips.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import pytest

from otpgate.errors import StoreError, UnknownUser
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import TokenState
from otpgate.store import Store
from otpgate.store.records import Pin, UserRecord, UserState

from .conftest import BACKENDS, Opener

pytestmark = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
TOTP = parse_token_type("HOTP/T30")
HOTP = parse_token_type("HOTP/E")

PLAIN_PIN_OK = {"memory", "users-file"}
HASH_PIN_OK = {"memory", "sqlite", "postgresql"}
PERSISTENT = {"sqlite", "users-file", "postgresql"}


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.node.callspec.params["store_url"]
    return name


def user(name: str = "alice", **kw: object) -> UserRecord:
    fields: dict[str, object] = {
        "username": name,
        "token_type": TOTP,
        "key": KEY,
        "pin": Pin("none"),
        "state": UserState(),
    }
    fields.update(kw)
    return UserRecord(**fields)  # type: ignore[arg-type]


def kept(s: Store, name: str, state: UserState) -> UserState:
    """``state`` as the store keeps it: the last OTP as ``otp_tag`` (a digest in SQL)."""
    if state.last_otp is None:
        return state
    return replace(state, last_otp=s.otp_tag(name, state.last_otp))


def same(a: UserRecord | None, b: UserRecord) -> None:
    """Equal in everything but the store-owned version."""
    assert a is not None
    assert (a.username, a.token_type, a.key, a.pin, a.state, a.serial) == (
        b.username,
        b.token_type,
        b.key,
        b.pin,
        b.state,
        b.serial,
    )


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
    for bogus in (None, "x", -1, 10**6, b"\x00", True, 1.0):
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


def test_recovery_codes_are_consumed_exactly_once(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    s.add(user("bob"))
    assert s.count_recovery_codes("alice") == 0 and s.count_recovery_codes("nobody") == 0
    s.set_recovery_codes("alice", ["d1", "d2", "d1"])  # a repeated digest is one code
    s.set_recovery_codes("bob", ["d3"])
    assert (s.count_recovery_codes("alice"), s.count_recovery_codes("bob")) == (2, 1)
    assert s.consume_recovery_code("alice", "d3") is False  # bob's code
    assert s.consume_recovery_code("alice", "d1") is True
    assert s.consume_recovery_code("alice", "d1") is False
    assert s.count_recovery_codes("alice") == 1
    if backend in PERSISTENT:
        assert opener().consume_recovery_code("alice", "d1") is False
        assert opener().consume_recovery_code("alice", "d2") is True
    else:
        assert s.consume_recovery_code("alice", "d2") is True
    assert s.consume_recovery_code("alice", "d2") is False
    # A new set replaces the old one.
    s.set_recovery_codes("bob", ["d4"])
    assert s.consume_recovery_code("bob", "d3") is False
    assert s.consume_recovery_code("bob", "d4") is True
    assert s.consume_recovery_code("ghost", "d4") is False
    with pytest.raises(UnknownUser):
        s.set_recovery_codes("ghost", ["d5"])


def test_recovery_codes_leave_the_login_state_alone(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    before = s.get("alice")
    assert before is not None
    s.set_recovery_codes("alice", ["d1"])
    assert s.consume_recovery_code("alice", "d1") is True
    same(s.get("alice"), before)


def test_ping_and_url(opener: Opener, store_url: str) -> None:
    s = opener()
    assert isinstance(s, Store)
    s.ping()
    assert s.url == store_url


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
