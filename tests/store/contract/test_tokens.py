"""TokenStore: a user's several OTP tokens, on every backend (issue 20).

Memory, SQLite and PostgreSQL hold any number; the users file holds one per
user (mod_authn_otp's format has no room for more) and refuses a second with
a clear error.  Every change of a user's tokens gives the record a new
version, so a login decided on the record as it was cannot be written.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from otpgate.errors import LastAuthenticator, StoreError, UnknownUser
from otpgate.otp.verify import TokenState
from otpgate.store import Store
from otpgate.store.authenticators import OtpToken, TokenMeta
from otpgate.store.base import TokenStore
from otpgate.store.query import UserFilter
from otpgate.store.records import UserState

from .conftest import BACKENDS, HOTP, KEY, TYPES, Opener, every_backend, user

# Several tokens: every backend but the users file, which holds one (tested at the end).
several = pytest.mark.parametrize(
    "store_url", [b for b in BACKENDS if b != "users-file"], indirect=True
)

SPARE_KEY = bytes(range(40, 60))


def spare(name: str = "spare", **meta: object) -> OtpToken:
    return OtpToken(HOTP, SPARE_KEY, TokenMeta(name=name, **meta), serial="HW-1")  # type: ignore[arg-type]


@every_backend
def test_every_backend_is_a_token_store(opener: Opener) -> None:
    assert isinstance(opener(), TokenStore)


@every_backend
def test_a_new_user_has_one_token_with_an_id_and_a_name(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    got = s.get("alice")
    assert got is not None
    [info] = got.authenticators()
    assert info.id and info.kind == "TOTP" and info.name == "token"
    assert got.find(info.id) == got.first()
    if backend != "users-file":
        assert info.created > 0


@several
def test_add_a_second_token_and_sign_with_either(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    before = s.get("alice")
    assert before is not None
    kept = s.add_token("alice", spare())
    assert kept.meta.id and kept.meta.id != before.meta.id and kept.meta.created > 0
    got = s.get("alice")
    assert got is not None and got.version != before.version
    first, second = got.tokens()
    assert (first.key, second.key) == (KEY, SPARE_KEY)
    assert (second.token_type, second.serial, second.meta.name) == (HOTP, "HW-1", "spare")
    assert [a.kind for a in got.authenticators()] == ["TOTP", "HOTP"]
    # Reopened (another process): the same tokens in the same order.
    again = opener().get("alice")
    assert again is not None and [t.meta.id for t in again.tokens()] == [
        first.meta.id,
        second.meta.id,
    ]


@several
def test_token_ids_are_unique_in_the_store(opener: Opener, backend: str) -> None:
    s = opener()
    ids = set()
    for name in ("alice", "bob", "carol"):
        s.add(user(name))
        ids.add(s.add_token(name, spare()).meta.id)
        ids |= {t.meta.id for t in s.get(name).tokens()}  # type: ignore[union-attr]
    assert len(ids) == 6
    taken = next(iter(ids))
    with pytest.raises(StoreError):
        s.add_token("alice", spare(id=taken))


@several
def test_compare_and_set_writes_the_token_that_matched(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice", state=UserState(TokenState(0, 100))))
    s.add_token("alice", spare())
    seen = s.get("alice")
    assert seen is not None
    other = seen.more[0]
    used = replace(
        other,
        state=TokenState(5),
        meta=replace(other.meta, last_used=1_800_000_000.0, last_otp="755224"),
    )
    state = replace(seen.state, last_auth=1_800_000_000.0, last_otp="755224")
    new = s.compare_and_set("alice", seen.version, state, used)
    assert new is not None
    got = s.get("alice")
    assert got is not None
    # The token that matched moved; the first did not.
    assert got.state.token == TokenState(0, 100)
    assert got.more[0].state == TokenState(5) and got.more[0].meta.last_used == 1_800_000_000.0
    assert got.more[0].meta.last_otp == s.otp_tag("alice", "755224")
    assert got.first().meta.last_used is None
    # A stale version writes nothing, also with a token.
    assert s.compare_and_set("alice", seen.version, state, used) is None


@every_backend
def test_compare_and_set_of_the_first_token_keeps_the_state_s(opener: Opener) -> None:
    s = opener()
    s.add(user("alice"))
    seen = s.get("alice")
    assert seen is not None
    first = replace(seen.first(), state=TokenState(0, 200))
    state = replace(seen.state, token=TokenState(0, 200), last_auth=1_800_000_000.0)
    new = s.compare_and_set("alice", seen.version, state, first)
    assert new is not None and new.state.token == TokenState(0, 200)
    got = s.get("alice")
    assert got is not None and got.first().state == TokenState(0, 200)


@several
def test_a_removed_token_cannot_be_written_back(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    s.add_token("alice", spare())
    seen = s.get("alice")
    assert seen is not None
    gone = seen.more[0]
    assert s.remove_token("alice", gone.meta.id) is True
    # A login decided before the removal: its version is stale, its token gone.
    moved = replace(gone, state=TokenState(9))
    assert s.compare_and_set("alice", seen.version, seen.state, moved) is None
    now = s.get("alice")
    assert now is not None and now.more == ()
    assert s.compare_and_set("alice", now.version, now.state, moved) is None
    assert s.get("alice").more == ()  # type: ignore[union-attr]


@every_backend
def test_never_the_last_token(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    only = s.get("alice")
    assert only is not None
    with pytest.raises(LastAuthenticator):
        s.remove_token("alice", only.meta.id)
    assert s.get("alice") == only
    assert s.remove_token("alice", "no-such-id") is False
    assert s.remove_token("ghost", only.meta.id) is False


@several
def test_removing_the_first_makes_the_next_one_first(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    s.add_token("alice", spare())
    first = s.get("alice").first()  # type: ignore[union-attr]
    assert s.remove_token("alice", first.meta.id) is True
    got = s.get("alice")
    assert got is not None and (got.key, got.token_type, got.more) == (SPARE_KEY, HOTP, ())
    with pytest.raises(LastAuthenticator):
        s.remove_token("alice", got.meta.id)


@several
def test_rename(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    kept = s.add_token("alice", spare())
    before = s.get("alice")
    assert s.rename_token("alice", kept.meta.id, "Yubikey im Schrank") is True
    got = s.get("alice")
    assert got is not None and got.more[0].meta.name == "Yubikey im Schrank"
    assert before is not None and got.version != before.version
    assert s.rename_token("alice", "nope", "x") is False
    for bad in ("", "   ", "x" * 65, "evil\nline", "\x1b[2J"):
        with pytest.raises(StoreError):
            s.rename_token("alice", kept.meta.id, bad)


@every_backend
def test_add_token_to_nobody(opener: Opener) -> None:
    with pytest.raises(UnknownUser):
        opener().add_token("ghost", spare())


@several
def test_a_token_s_serial_and_name_are_checked(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    with pytest.raises(StoreError):
        s.add_token("alice", replace(spare(), serial="S\n1"))
    with pytest.raises(StoreError):
        s.add_token("alice", spare(name="bad\x07name"))
    assert s.get("alice").more == ()  # type: ignore[union-attr]


@several
def test_replace_keeps_exactly_the_record_s_tokens(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    s.add_token("alice", spare())
    seen = s.get("alice")
    assert seen is not None
    s.replace(replace(seen, serial="NEW"))  # an admin change of the first: the spare stays
    got = s.get("alice")
    assert got is not None and got.serial == "NEW" and len(got.tokens()) == 2
    assert got.more[0].meta.id == seen.more[0].meta.id
    s.replace(user("alice"))  # a record with one token: the user now has one
    assert len(s.get("alice").tokens()) == 1  # type: ignore[union-attr]


@several
def test_removing_a_user_removes_their_tokens(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    s.add_token("alice", spare())
    assert s.remove("alice") is True
    s.add(user("alice"))
    assert len(s.get("alice").tokens()) == 1  # type: ignore[union-attr]


@several
def test_the_user_list_carries_every_token_and_filters_by_any(opener: Opener, backend: str) -> None:
    s: Store = opener()
    for i, name in enumerate(["a1", "a2", "a3", "a4"]):
        s.add(user(name, token_type=TYPES["totp"]))
        if i % 2:
            s.add_token(name, spare())
    listed = {r.username: len(r.tokens()) for r in s.list_users()}
    assert listed == {"a1": 1, "a2": 2, "a3": 1, "a4": 2}
    hotp = [r.username for r in s.list_users(filters=UserFilter(kind="hotp"))]
    assert hotp == ["a2", "a4"]
    page = list(s.list_users(after="a1", limit=2))
    assert [(r.username, len(r.tokens())) for r in page] == [("a2", 2), ("a3", 1)]


@pytest.mark.parametrize("store_url", ["users-file"], indirect=True)
def test_the_users_file_holds_one_token_and_says_so(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(user("alice"))
    with pytest.raises(StoreError, match="one token per user"):
        s.add_token("alice", spare())
    seen = s.get("alice")
    assert seen is not None
    with pytest.raises(StoreError, match="one token per user"):
        s.replace(seen.with_tokens([*seen.tokens(), spare()]))
    with pytest.raises(StoreError):
        s.rename_token("alice", seen.meta.id, "phone")
    # Its one token has an id that stays the same whoever reads the file.
    assert opener().get("alice").meta.id == seen.meta.id  # type: ignore[union-attr]
