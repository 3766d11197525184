"""The ``recovery_codes`` table: one row per unused code's digest (schema version 1).

A code is consumed by ``DELETE ... RETURNING``: one statement, so of two
logins with one code only one finds it.  The rows go with their user
(``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["SQL", "TABLE"]

# Part of migration 1 (after the users table it refers to).
TABLE: Final = """CREATE TABLE recovery_codes (
                username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                PRIMARY KEY (username, digest)
            )"""

SQL: Final[Mapping[str, str]] = {
    "remove_codes": "DELETE FROM recovery_codes WHERE username = :username",
    "insert_code": "INSERT INTO recovery_codes (username, digest) VALUES (:username, :digest)",
    "consume_code": (
        "DELETE FROM recovery_codes WHERE username = :username AND digest = :digest "
        "RETURNING digest"
    ),
    "count_codes": "SELECT count(*) FROM recovery_codes WHERE username = :username",
}
