"""Roles and the user list's indexes in the SQL stores (schema version 4).

Only administrators have a row in ``roles``; everybody else is a user.  The
row goes with the user (``ON DELETE CASCADE``).  The partial indexes keep the
administrator's filters (locked, throttled, never signed in) fast when few of
a million users match; in PostgreSQL an index on the name in the ``"C"``
collation gives every backend the same order whatever the database's locale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

__all__ = ["MIGRATION", "SQL"]

MIGRATION: Final[Sequence[str]] = (
    """CREATE TABLE roles (
        username TEXT PRIMARY KEY REFERENCES users (username) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('admin'))
    )""",
    "CREATE INDEX users_by_name ON users ({c_name})",
    "CREATE INDEX users_locked ON users ({c_name}) WHERE locked_until IS NOT NULL",
    "CREATE INDEX users_never_signed_in ON users ({c_name}) WHERE last_auth IS NULL",
)

SQL: Final[Mapping[str, str]] = {
    "role_get": "SELECT role FROM roles WHERE username = :username",
    "role_delete": "DELETE FROM roles WHERE username = :username",
    "role_insert": "INSERT INTO roles (username, role) VALUES (:username, :role)",
}
