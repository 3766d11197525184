"""Reading the audit log backwards: every line once, newest first, within a byte budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otpgate.audit.reader import AuditQuery, lines_backwards, search
from otpgate.audit.writer import AuditLog

T0 = 1_800_000_000.0


def write_log(path: Path, n: int) -> list[dict[str, object]]:
    log = AuditLog(str(path))
    for i in range(n):
        if i % 5 == 4:
            log.admin(T0 + i, actor="root", via="cli", action="lock", user=f"u{i % 3}")
        else:
            log.write(
                T0 + i,
                user=f"u{i % 3}",
                ip="192.0.2.1",
                result="accept" if i % 2 else "reject",
                reason="otp",
            )
    log.close()
    return [json.loads(x) for x in path.read_text().splitlines()]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    st.integers(1, 50),
)
def test_every_line_comes_back_once_newest_first(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], block: int
) -> None:
    path = tmp_path_factory.mktemp("a") / "log"
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    got = list(lines_backwards(str(path), block=block))
    assert [x for _, x in got] == [x for x in reversed(lines) if x]
    data = path.read_bytes()
    for offset, line in got:
        assert data[offset : offset + len(line)] == line


def test_filters_pages_and_the_time_range(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    everything = write_log(path, 200)
    newest_first = list(reversed(everything))
    q = AuditQuery(user="u1", result="reject")
    want = [
        x
        for x in newest_first
        if x.get("user") == "u1" and x.get("result") == "reject" and "kind" not in x
    ]
    page1 = search(str(path), q, limit=10)
    assert page1.lines == want[:10] and page1.next_end is not None
    page2 = search(str(path), q, end=page1.next_end, limit=10)
    assert page2.lines == want[10:20]
    admin = search(str(path), AuditQuery(result="admin"), limit=1000)
    assert admin.lines == [x for x in newest_first if x.get("kind") == "admin"]
    assert admin.next_end is None
    since, until = everything[50]["ts"], everything[60]["ts"]
    ranged = search(str(path), AuditQuery(since=str(since), until=str(until)), limit=1000)
    assert ranged.lines == newest_first[140:150]


def test_a_search_reads_at_most_its_budget_and_says_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    everything = write_log(path, 2000)
    # Nothing matches: the whole budget is spent, and the next page resumes there.
    q = AuditQuery(user="nobody")
    found = search(str(path), q, max_bytes=10_000)
    assert found.lines == [] and found.exhausted_budget
    assert found.next_end is not None and path.stat().st_size - found.next_end <= 10_000
    # Resuming covers the rest without gaps: a match at the very start is found.
    q = AuditQuery(user=str(everything[0]["user"]), since=str(everything[0]["ts"]))
    end, seen = None, []
    for _ in range(100):
        page = search(str(path), q, end=end, max_bytes=10_000, limit=1000)
        seen += page.lines
        if page.next_end is None:
            break
        end = page.next_end
    assert everything[0] in seen


def test_a_missing_file_or_foreign_lines_do_not_fail(tmp_path: Path) -> None:
    assert search(str(tmp_path / "none"), AuditQuery()).lines == []
    path = tmp_path / "log"
    path.write_bytes(b"not json\n[1,2]\n" + b"x" * 200_000 + b'\n{"ts":"2026","user":"a"}\n')
    assert search(str(path), AuditQuery()).lines == [{"ts": "2026", "user": "a"}]
    with pytest.raises(ValueError):
        AuditQuery(result="maybe")
