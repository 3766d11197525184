"""Reading the audit log back, newest first, without loading it whole.

The log only grows (logrotate aside), so the admin's audit view reads the
file backwards in blocks from the end (or from where the previous page
stopped) and stops as soon as a page is full, the time range is left behind
(lines are appended in time order), or a byte budget is spent.  A search that
spends its budget says where it stopped, so the next page continues there:
no request ever reads more than ``max_bytes`` of a log of any size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["AuditQuery", "Found", "lines_backwards", "search"]

BLOCK: Final = 64 * 1024
MAX_BYTES: Final = 8 * 1024 * 1024
# A longer line is not one the writer made (its fields are bounded); skip it.
MAX_LINE: Final = 64 * 1024
RESULTS: Final = ("accept", "reject", "admin")


def lines_backwards(
    path: str, end: int | None = None, *, block: int = BLOCK, max_bytes: int = MAX_BYTES
) -> Iterator[tuple[int, bytes]]:
    """(offset, line) pairs from ``end`` (default: the end of the file) backwards.

    ``offset`` is where the line starts, so reading again with ``end=offset``
    continues with the line before it.  At most ``max_bytes`` are read.

    Raises:
        OSError: the file cannot be opened.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        pos = size if end is None else max(0, min(end, size))
        budget = max_bytes
        tail = b""  # the start of a line whose beginning is further back
        while pos > 0 and budget > 0:
            step = min(block, pos, budget)
            pos -= step
            budget -= step
            f.seek(pos)
            chunk = f.read(step) + tail
            parts = chunk.split(b"\n")
            tail = parts[0]
            at = pos + len(tail) + 1
            found: list[tuple[int, bytes]] = []
            for part in parts[1:]:
                if part:
                    found.append((at, part))
                at += len(part) + 1
            yield from reversed(found)
            if len(tail) > MAX_LINE:
                tail = b""  # not a line of ours: forget it rather than grow
        if pos == 0 and tail:
            yield 0, tail


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What to look for; every set condition must hold.

    Attributes:
        user: exactly this user name (the user acted on, for admin lines).
        result: ``accept`` or ``reject`` (logins), ``admin`` (administrative actions).
        since: ISO time (``2026-12-01T08:00``), inclusive, UTC.
        until: ISO time, exclusive, UTC.
    """

    user: str = ""
    result: str = ""
    since: str = ""
    until: str = ""

    def __post_init__(self) -> None:
        if self.result and self.result not in RESULTS:
            raise ValueError(f"unknown result {self.result!r}")

    def matches(self, line: dict[str, Any]) -> bool:
        if self.user and line.get("user") != self.user:
            return False
        if self.result == "admin":
            if line.get("kind") != "admin":
                return False
        elif self.result and (line.get("kind") == "admin" or line.get("result") != self.result):
            return False
        ts = str(line.get("ts", ""))
        return not (self.until and ts >= self.until)


@dataclass(slots=True)
class Found:
    """A page of lines, newest first, and where the next page starts (``None``: the start)."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    next_end: int | None = None
    exhausted_budget: bool = False


def search(
    path: str,
    query: AuditQuery,
    *,
    end: int | None = None,
    limit: int = 50,
    max_bytes: int = MAX_BYTES,
) -> Found:
    """Up to ``limit`` matching lines, newest first, reading at most ``max_bytes``.

    A missing or unreadable file gives an empty page: the admin pages must not
    fail for the log's sake.
    """
    found = Found()
    last = end
    try:
        for offset, raw in lines_backwards(path, end, max_bytes=max_bytes):
            last = offset
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # a foreign or cut line
            if not isinstance(line, dict):
                continue
            if query.since and str(line.get("ts", "")) < query.since:
                return found  # older than the range: nothing further back matches
            if query.matches(line):
                found.lines.append(line)
                if len(found.lines) >= limit:
                    found.next_end = offset
                    return found
    except OSError:
        return found
    if last is not None and last > 0:
        # The byte budget ran out before the start of the file.
        found.next_end = last
        found.exhausted_budget = True
    return found
