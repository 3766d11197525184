"""The user query's own rules (prefix bounds, early stops) and SQLite's query plans.

What every backend answers (pages, filters, counts, roles) is in
``contract/test_directory.py``.
"""

from __future__ import annotations

import pytest

from otpgate.store.query import UserFilter, page_of, prefix_end, token_kind

from .contract.conftest import NOW, TYPES, rec


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

    assert [r.username for r in page_of(records(), "a")] == ["aa", "ab"]  # type: ignore[arg-type]
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
