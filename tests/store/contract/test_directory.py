"""DirectoryStore: pages of users, counts and roles, on every backend.

Pages are keyset pages in code-point order, the same on every backend; a
prefix is a range; filters hold on every record returned and miss none.
"""

from __future__ import annotations

import math
import random

import pytest

from otpgate.errors import UnknownUser
from otpgate.store import DirectoryStore
from otpgate.store.query import MAX_PAGE, UserFilter
from otpgate.store.records import UserState

from .conftest import NOW, TYPES, Opener, every_backend, rec

pytestmark = every_backend


def names(records: object) -> list[str]:
    return [r.username for r in records]  # type: ignore[attr-defined]


# Names chosen so that a locale collation would order them differently:
# upper case before lower, "." and "-" before letters, a prefix before its extensions.
NAMES = ["Zed", "a", "a-b", "a.b", "ab", "aB", "abc", "abd", "b", "b_", "ba", "z9", "z@x"]


def fill(s: object) -> None:
    for n in NAMES:
        s.add(rec(n))  # type: ignore[attr-defined]


def test_every_backend_is_a_directory_store(opener: Opener) -> None:
    assert isinstance(opener(), DirectoryStore)


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


def test_bad_pages_are_refused(opener: Opener) -> None:
    s = opener()
    for limit in (0, -1, MAX_PAGE + 1):
        with pytest.raises(ValueError):
            list(s.list_users(limit=limit))
    with pytest.raises(ValueError):
        list(s.list_users("a\0"))
    with pytest.raises(ValueError):
        UserFilter(kind="sms")


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
