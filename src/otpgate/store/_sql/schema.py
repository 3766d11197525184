"""The SQL schema: every table's migrations in order, and the statements in each dialect.

Statements are written once with ``:name`` placeholders (SQLite's named
style) and translated to ``%(name)s`` for psycopg, so both backends run the
same SQL; only the type names differ (:data:`DIALECTS`).  Each backend keeps
its schema version its own way (SQLite's ``user_version``, a PostgreSQL
table) and runs :func:`migrate` inside one transaction under its own lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from ...errors import StoreError
from . import invitations, passkeys, recovery_codes, roles, users

if TYPE_CHECKING:
    from ..crypto import KeyRing
    from .transaction import Transaction

__all__ = [
    "DIALECTS",
    "MIGRATIONS",
    "SQL",
    "TAG_MIGRATION",
    "migrate",
    "migration_statements",
    "statements",
    "to_pyformat",
]

# The migration that replaced plain last OTPs by their tags (a data step).
TAG_MIGRATION: Final = 3

# Type names differ between the two databases; everything else is shared.
DIALECTS: Final[Mapping[str, Mapping[str, str]]] = {
    "sqlite": {"blob": "BLOB", "float": "REAL", "bigint": "INTEGER", "c_name": "username"},
    "postgresql": {
        "blob": "BYTEA",
        "float": "DOUBLE PRECISION",
        "bigint": "BIGINT",
        "c_name": 'username COLLATE "C"',
    },
}

# (version, statements).  Append only: a released migration is never edited.
MIGRATIONS: Final[Sequence[tuple[int, Sequence[str]]]] = (
    (1, (users.TABLE, recovery_codes.TABLE)),
    (2, invitations.MIGRATION),
    # Data only: users.tag_plain_otps() runs after it (it needs the key file).
    (TAG_MIGRATION, ()),
    (4, roles.MIGRATION),
    (5, invitations.RECORD_MIGRATION),
    (6, passkeys.MIGRATION),
)

# Every table's statements by name, with ``:name`` placeholders.
SQL: Final[Mapping[str, str]] = {
    **users.SQL,
    **recovery_codes.SQL,
    **invitations.SQL,
    **roles.SQL,
    **passkeys.SQL,
}

_NAMED: Final = re.compile(r":([a-z_][a-z0-9_]*)")


def to_pyformat(sql: str) -> str:
    """``:name`` -> ``%(name)s`` (psycopg's named placeholders)."""
    return _NAMED.sub(r"%(\1)s", sql)


def statements(dialect: str) -> dict[str, str]:
    """:data:`SQL` as ``dialect``'s driver takes it.

    SQLite's ``BEGIN IMMEDIATE`` holds the whole database for a transaction;
    PostgreSQL locks the user's row (``lock_user ... FOR UPDATE``) instead.
    """
    if dialect == "sqlite":
        return dict(SQL)
    translated = {name: to_pyformat(sql) for name, sql in SQL.items()}
    translated["lock_user"] += " FOR UPDATE"
    return translated


def migration_statements(dialect: str, after: int) -> list[tuple[int, list[str]]]:
    """The migrations newer than schema version ``after``, typed for ``dialect``."""
    types = DIALECTS[dialect]
    return [
        (version, [statement.format_map(types) for statement in migration])
        for version, migration in MIGRATIONS
        if version > after
    ]


def migrate(
    tx: Transaction,
    dialect: str,
    current: int,
    keys: KeyRing,
    *,
    store: str,
    applied: Callable[[int], None],
) -> None:
    """Apply the migrations newer than ``current`` in ``tx``; ``applied(version)`` after each.

    Raises:
        StoreError: the schema is newer than this program (``store`` names it).
    """
    newest = MIGRATIONS[-1][0]
    if current > newest:
        raise StoreError(
            f"{store} has schema version {current}; this otpgate knows up to {newest} "
            "(upgrade otpgate)"
        )
    for version, migration in migration_statements(dialect, current):
        for statement in migration:
            tx.script(statement)
        if version == TAG_MIGRATION:
            updates = users.tag_plain_otps(tx.rows("last_otps", {}), keys)
            if updates:
                tx.many("set_last_otp", updates)
        applied(version)
