"""Looking users up a page at a time: name prefix, filters, keyset pagination; and roles.

An administrator's user list must stay fast with a million users, so it never
counts or skips rows: a page is "the next ``limit`` users whose name sorts
after ``after``" (keyset pagination), which the SQL stores answer from the
primary-key index, and a name prefix is a range on that same index.  Names
sort by code point everywhere (Python's ``sorted``, SQLite's ``BINARY``,
PostgreSQL's ``COLLATE "C"``), so every backend returns the same pages.

The filters that have a partial index in the SQL stores (locked, throttled,
never signed in) stay fast when few users match; a token-type filter reads
users in name order until a page is full.  ``limit=None`` means every match.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..otp.tokens import TokenType
from .records import UserRecord

__all__ = [
    "COUNT_SQL",
    "MAX_PAGE",
    "ROLES",
    "TOKEN_KINDS",
    "RecordPages",
    "Role",
    "UserFilter",
    "UserPages",
    "check_role",
    "count",
    "count_params",
    "counts_of_row",
    "page_of",
    "prefix_end",
    "sql_page",
    "token_kind",
]

Role = Literal["admin", "user"]
ROLES: Final = ("admin", "user")
TOKEN_KINDS: Final = ("totp", "hotp", "motp")
MAX_PAGE: Final = 1000
# A lock "until" beyond this is an administrator's lock (infinity); below it,
# the failure limit's lock that ends on its own.
FAR: Final = 1e300


def check_role(role: str) -> Role:
    """``role`` if it is one; ValueError otherwise."""
    if role == "admin":
        return "admin"
    if role == "user":
        return "user"
    raise ValueError(f"unknown role {role!r} (admin or user)")


def token_kind(token_type: TokenType) -> str:
    """``totp``, ``hotp`` or ``motp``."""
    if token_type.kind == "MOTP":
        return "motp"
    return "hotp" if token_type.is_event else "totp"


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Which users a page holds; every set condition must hold.

    Attributes:
        locked: locked until an administrator unlocks them.
        throttled: locked by the failure limit now, until a time that comes by itself.
        never_signed_in: no successful sign-in recorded.
        kind: the token's kind, ``totp``, ``hotp`` or ``motp``; ``""`` for any.
        now: Unix time that "now" means for ``throttled``.
    """

    locked: bool = False
    throttled: bool = False
    never_signed_in: bool = False
    kind: str = ""
    now: float = 0.0

    def __post_init__(self) -> None:
        if self.kind and self.kind not in TOKEN_KINDS:
            raise ValueError(f"unknown token kind {self.kind!r}")
        if not math.isfinite(self.now):
            raise ValueError("now must be finite")

    def matches(self, record: UserRecord) -> bool:
        s = record.state
        until = s.locked_until
        if self.locked and (until is None or until <= FAR):
            return False
        if self.throttled and (until is None or until > FAR or until <= self.now):
            return False
        if self.never_signed_in and s.last_auth is not None:
            return False
        return not self.kind or any(token_kind(t.token_type) == self.kind for t in record.tokens())


def _check_page(prefix: str, after: str | None, limit: int | None) -> None:
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"a page holds 1 to {MAX_PAGE} users")
    if "\0" in prefix or (after is not None and "\0" in after):
        raise ValueError("a name holds no NUL")


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (``None``: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if 0xD800 <= last <= 0xDFFF:
            last = 0xE000  # surrogates cannot be stored
        if last <= 0x10FFFF:
            return "".join(chars) + chr(last)
    return None


def page_of(
    records: Iterable[UserRecord],
    prefix: str = "",
    after: str | None = None,
    limit: int | None = None,
    filters: UserFilter | None = None,
) -> list[UserRecord]:
    """One page from records sorted by name (the memory and users-file stores)."""
    _check_page(prefix, after, limit)
    out: list[UserRecord] = []
    for record in records:
        name = record.username
        if after is not None and name <= after:
            continue
        if not name.startswith(prefix):
            if name > prefix:
                break
            continue
        if filters is None or filters.matches(record):
            out.append(record)
            if len(out) == limit:
                break
    return out


def sql_page(
    select: str,
    dialect: str,
    prefix: str = "",
    after: str | None = None,
    limit: int | None = None,
    filters: UserFilter | None = None,
) -> tuple[str, dict[str, Any]]:
    """The statement (``:name`` placeholders) and parameters for one page.

    Args:
        select: ``SELECT <columns> FROM users``.
        dialect: ``sqlite`` or ``postgresql`` (for the collation).
    """
    _check_page(prefix, after, limit)
    name = 'username COLLATE "C"' if dialect == "postgresql" else "username"
    where: list[str] = []
    params: dict[str, Any] = {}
    if prefix:
        where.append(f"{name} >= :prefix")
        params["prefix"] = prefix
        end = prefix_end(prefix)
        if end is not None:
            where.append(f"{name} < :prefix_end")
            params["prefix_end"] = end
    if after is not None:
        where.append(f"{name} > :after")
        params["after"] = after
    if filters is not None:
        where += _sql_filters(filters, params)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    tail = ""
    if limit is not None:
        tail = " LIMIT :limit"
        params["limit"] = limit
    return f"{select}{clause} ORDER BY {name}{tail}", params


def _sql_filters(f: UserFilter, params: dict[str, Any]) -> list[str]:
    # Each condition repeats the partial index's own term (``... IS NOT NULL``)
    # so that SQLite's planner sees the index applies.
    where: list[str] = []
    if f.locked or f.throttled:
        where.append("locked_until IS NOT NULL")
        params["far"] = FAR
    if f.locked:
        where.append("locked_until > :far")
    if f.throttled:
        where.append("locked_until <= :far AND locked_until > :now")
        params["now"] = f.now
    if f.never_signed_in:
        where.append("last_auth IS NULL")
    if f.kind:
        where.append(_KIND_SQL[f.kind])
    return where


# substr, not LIKE: psycopg would read LIKE's "%" as a placeholder.
_MOTP: Final = "substr(upper(t.token_type), 1, 4) = 'MOTP'"
_TIME_HOTP: Final = "(upper(t.token_type) = 'T' OR substr(upper(t.token_type), 1, 6) = 'HOTP/T')"
# A user matches when any of their tokens is of the kind.
_ANY: Final = "EXISTS (SELECT 1 FROM tokens t WHERE t.username = users.username AND {})"
_KIND_SQL: Final = {
    "motp": _ANY.format(_MOTP),
    "totp": _ANY.format(_TIME_HOTP),
    "hotp": _ANY.format(f"NOT ({_MOTP} OR {_TIME_HOTP})"),
}

# One pass over the table for the status page's counts.
COUNT_SQL: Final = (
    "SELECT count(*), "
    "sum(CASE WHEN locked_until > :far THEN 1 ELSE 0 END), "
    "sum(CASE WHEN locked_until <= :far AND locked_until > :now THEN 1 ELSE 0 END), "
    "sum(CASE WHEN last_auth IS NULL THEN 1 ELSE 0 END) FROM users"
)


def count_params(now: float) -> dict[str, Any]:
    return {"far": FAR, "now": now}


def counts_of_row(row: Any) -> dict[str, int]:
    total, locked, throttled, never = (int(v or 0) for v in row)
    return {"total": total, "locked": locked, "throttled": throttled, "never_signed_in": never}


def count(records: Iterable[UserRecord], now: float) -> dict[str, int]:
    """Users by state: ``total``, ``locked``, ``throttled``, ``never_signed_in``."""
    out = dict.fromkeys(("total", "locked", "throttled", "never_signed_in"), 0)
    locked, throttled = UserFilter(locked=True), UserFilter(throttled=True, now=now)
    for record in records:
        out["total"] += 1
        out["locked"] += locked.matches(record)
        out["throttled"] += throttled.matches(record)
        out["never_signed_in"] += record.state.last_auth is None
    return out


class UserPages(abc.ABC):
    """``list_users`` in one place; a backend answers :meth:`_page`."""

    @abc.abstractmethod
    def _page(
        self, prefix: str, after: str | None, limit: int | None, filters: UserFilter | None
    ) -> list[UserRecord]:
        """One page of records (see :meth:`list_users`)."""

    def list_users(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int | None = None,
        filters: UserFilter | None = None,
    ) -> Iterator[UserRecord]:
        return iter(self._page(prefix, after, limit, filters))


class RecordPages(UserPages):
    """Pages and counts over every record at hand (the memory store, the users file)."""

    @abc.abstractmethod
    def _all_users(self) -> list[UserRecord]:
        """Every record, in name order."""

    def _page(
        self, prefix: str, after: str | None, limit: int | None, filters: UserFilter | None
    ) -> list[UserRecord]:
        return page_of(self._all_users(), prefix, after, limit, filters)

    def count_users(self, now: float) -> dict[str, int]:
        return count(self._all_users(), now)
