"""Databases as older otpgate versions left them: the migrations up to a version, old rows.

A migration test starts from the real earlier schema (not a newer one cut
back), fills it with rows written the way that version wrote them, and lets
the store upgrade it on open.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otpgate.store import _sql
from otpgate.store.crypto import KeyRing

__all__ = ["OLD_USER_COLUMNS", "old_user", "postgres_at", "sqlite_at"]

# The users table's columns from schema version 1 to 6 (before the tokens table).
OLD_USER_COLUMNS = (
    "username",
    "token_type",
    "t0",
    "key_enc",
    "pin_kind",
    "pin_value",
    "serial",
    "counter",
    "last_step",
    "failures",
    "last_otp",
    "last_auth",
    "last_ip",
    "locked_until",
    "revoked_before",
    "version",
)


def _statements(dialect: str, version: int) -> list[str]:
    return [
        statement
        for v, migration in _sql.migration_statements(dialect, 0)
        if v <= version
        for statement in migration
    ]


def sqlite_at(path: str, version: int) -> sqlite3.Connection:
    """A new SQLite database at schema ``version`` (autocommit); the caller closes it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in _statements("sqlite", version):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {int(version)}")
    return conn


def postgres_at(url: str, version: int) -> Any:
    """An empty PostgreSQL database at ``url`` brought to schema ``version`` (a psycopg
    connection in autocommit mode; the caller closes it)."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for statement in _statements("postgresql", version):
        conn.execute(statement)
    for v in range(1, version + 1):
        conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (v,))
    return conn


def old_user(
    keys: KeyRing, username: str, token_type: str, key: bytes, **columns: Any
) -> dict[str, Any]:
    """One users row as versions before the tokens table wrote it (defaults: a fresh user)."""
    row: dict[str, Any] = dict.fromkeys(OLD_USER_COLUMNS)
    row.update(
        username=username,
        token_type=token_type,
        t0=0,
        key_enc=keys.encrypt(key, username),
        pin_kind="none",
        pin_value="",
        counter=0,
        failures=0,
        version=1,
    )
    row.update(columns)
    return row


def insert_sql(dialect: str) -> str:
    """The INSERT of :func:`old_user`'s rows in ``dialect``'s placeholders."""
    cols = ", ".join(OLD_USER_COLUMNS)
    if dialect == "sqlite":
        values = ", ".join(f":{c}" for c in OLD_USER_COLUMNS)
    else:
        values = ", ".join(f"%({c})s" for c in OLD_USER_COLUMNS)
    return f"INSERT INTO users ({cols}) VALUES ({values})"  # noqa: S608
