"""The administrator's user query and roles, run against every backend.

Pages are keyset pages in code-point order, the same on every backend; a
prefix is a range; filters hold on every record returned and miss none.
"""

from __future__ import annotations

import math
import random

import pytest

from otpgate.errors import UnknownUser
from otpgate.otp.tokens import parse_token_type
from otpgate.store.query import MAX_PAGE, UserFilter, page_of, prefix_end, token_kind
from otpgate.store.records import Pin, UserRecord, UserState

from .conftest import BACKENDS, Opener

every_backend = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
NOW = 1_800_000_000.0
TYPES = {
    "totp": parse_token_type("HOTP/T30"),
    "hotp": parse_token_type("HOTP/E"),
    "motp": parse_token_type("MOTP"),
}


def rec(name: str, kind: str = "totp", **state: object) -> UserRecord:
    return UserRecord(
        name,
        TYPES[kind],
        b"\x11" * 8 if kind == "motp" else KEY,
        Pin("none"),
        UserState(**state),  # type: ignore[arg-type]
    )


def names(records: object) -> list[str]:
    return [r.username for r in records]  # type: ignore[attr-defined]


# Names chosen so that a locale collation would order them differently:
# upper case before lower, "." and "-" before letters, a prefix before its extensions.
NAMES = ["Zed", "a", "a-b", "a.b", "ab", "aB", "abc", "abd", "b", "b_", "ba", "z9", "z@x"]


def fill(s: object) -> None:
    for n in NAMES:
        s.add(rec(n))  # type: ignore[attr-defined]


@every_backend
def test_pages_walk_every_user_once_in_code_point_order(opener: Opener) -> None:
    s = opener()
    fill(s)
    seen: list[str] = []
    after = None
    while True:
        page = names(s.list_users(after=after, limit=4))
        assert len(page) <= 4
        if not page:
            break
        seen += page
        after = page[-1]
    assert seen == sorted(NAMES)
    assert names(s.list_users()) == sorted(NAMES)


@every_backend
@pytest.mark.parametrize("prefix", ["a", "ab", "a.", "b", "z", "Z", "abc", "q", "abcd"])
def test_a_prefix_finds_exactly_the_names_starting_with_it(opener: Opener, prefix: str) -> None:
    s = opener()
    fill(s)
    want = sorted(n for n in NAMES if n.startswith(prefix))
    assert names(s.list_users(prefix)) == want
    # and pages through them
    first = names(s.list_users(prefix, limit=1))
    assert first == want[:1]
    if want:
        assert names(s.list_users(prefix, after=want[0], limit=MAX_PAGE)) == want[1:]


@every_backend
def test_filters_hold_on_every_record_and_miss_none(opener: Opener) -> None:
    s = opener()
    rng = random.Random(7)
    for i in range(40):
        kind = rng.choice(list(TYPES))
        lock = rng.choice([None, math.inf, NOW + 60, NOW - 60])
        seen = rng.choice([None, NOW - 3600])
        s.add(rec(f"u{i:02d}", kind, locked_until=lock, last_auth=seen, last_ip="192.0.2.1"))
    everyone = list(s.list_users())
    cases = [
        UserFilter(locked=True),
        UserFilter(throttled=True, now=NOW),
        UserFilter(never_signed_in=True),
        UserFilter(kind="totp"),
        UserFilter(kind="hotp"),
        UserFilter(kind="motp"),
        UserFilter(locked=True, never_signed_in=True, kind="totp"),
    ]
    for f in cases:
        want = [r.username for r in everyone if f.matches(r)]
        assert want, f  # the data exercises every filter
        assert names(s.list_users(filters=f)) == want, f
        assert (
            names(s.list_users("u1", filters=f, limit=3))
            == [n for n in want if n.startswith("u1")][:3]
        )
    # The two kinds of lock are told apart.
    locked = set(names(s.list_users(filters=UserFilter(locked=True))))
    throttled = set(names(s.list_users(filters=UserFilter(throttled=True, now=NOW))))
    assert not locked & throttled
    assert all(s.get(n).state.locked_until == math.inf for n in locked)  # type: ignore[union-attr]
    # A failure lock that has run out is not "throttled now".
    assert not any(s.get(n).state.locked_until == NOW - 60 for n in throttled)  # type: ignore[union-attr]
    counts = s.count_users(NOW)
    assert counts == {
        "total": 40,
        "locked": len(locked),
        "throttled": len(throttled),
        "never_signed_in": sum(r.state.last_auth is None for r in everyone),
    }


@every_backend
def test_bad_pages_are_refused(opener: Opener) -> None:
    s = opener()
    for limit in (0, -1, MAX_PAGE + 1):
        with pytest.raises(ValueError):
            list(s.list_users(limit=limit))
    with pytest.raises(ValueError):
        list(s.list_users("a\0"))
    with pytest.raises(ValueError):
        UserFilter(kind="sms")


@every_backend
def test_roles_are_kept_reopened_and_go_with_the_user(opener: Opener) -> None:
    s = opener()
    fill(s)
    assert s.get_role("a") == "user"
    assert s.get_role("nobody") == "user"
    before = s.get("a")
    assert before is not None
    s.set_role("a", "admin")
    # A role is not part of the login state: a login racing with it still wins.
    assert s.compare_and_set("a", before.version, UserState(failures=1)) is not None
    s.set_role("b", "admin")
    s.set_role("b", "user")
    s.set_role("b", "user")  # twice is fine
    s2 = opener()
    assert s2.get_role("a") == "admin" and s2.get_role("b") == "user"
    with pytest.raises(UnknownUser):
        s2.set_role("nobody", "admin")
    with pytest.raises(ValueError):
        s2.set_role("a", "root")  # type: ignore[arg-type]
    # A role survives logins (compare-and-set) and admin replaces.
    r = s2.get("a")
    assert r is not None
    s2.compare_and_set("a", r.version, UserState(failures=3))
    assert s2.get_role("a") == "admin"
    # A removed and re-added user starts as a user.
    assert s2.remove("a")
    assert s2.get_role("a") == "user"
    s2.add(rec("a"))
    assert s2.get_role("a") == "user"


def test_prefix_end_bounds_every_extension() -> None:
    for prefix in ["a", "az", "a\U0010ffff", "\ud7ff", "\U0010ffff"]:
        end = prefix_end(prefix)
        if end is None:
            assert set(prefix) == {"\U0010ffff"}
            continue
        assert prefix < end
        assert prefix + "\U0010ffff" * 3 < end
        assert all(not (0xD800 <= ord(c) <= 0xDFFF) for c in end)


def test_page_of_stops_at_the_end_of_the_prefix() -> None:
    # page_of reads a sorted iterable: it must stop, not read to the end.
    read: list[str] = []

    def records() -> object:
        for n in ["aa", "ab", "b", "c", "d"]:
            read.append(n)
            yield rec(n)

    assert names(page_of(records(), "a")) == ["aa", "ab"]  # type: ignore[arg-type]
    assert read == ["aa", "ab", "b"]
    assert token_kind(TYPES["motp"]) == "motp"


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"prefix": "ab"},
        {"after": "m"},
        {"filters": UserFilter(locked=True)},
        {"filters": UserFilter(throttled=True, now=NOW)},
        {"filters": UserFilter(never_signed_in=True)},
    ],
)
def test_sqlite_answers_pages_from_an_index_without_sorting(
    tmp_path: object, key_file: str, args: dict[str, object]
) -> None:
    # What keeps a page fast with a million users: an index in name order,
    # so SQLite neither sorts nor reads the rows the page does not hold.
    from otpgate.store import _sql, open_store
    from otpgate.store.query import sql_page

    s = open_store(f"sqlite:///{tmp_path}/q.db", key_file=key_file)
    sql, params = sql_page(_sql.SELECT, "sqlite", limit=50, **args)  # type: ignore[arg-type]
    plan = " | ".join(str(r[-1]) for r in s._query("EXPLAIN QUERY PLAN " + sql, params))  # type: ignore[attr-defined]
    s.close()
    assert "TEMP B-TREE" not in plan, plan
    assert "INDEX" in plan, plan
