"""The ``passkeys`` table: one row per WebAuthn credential (schema version 6).

Every method but a removal is one statement: a new passkey is inserted only if its user
exists (``INSERT ... SELECT ... FROM users``), a sign-in's new counter is
written only over the count it read (``UPDATE ... WHERE sign_count = ...``).
A removal is a transaction with the user's row locked, which refuses the
user's last authenticator of any kind (their OTP tokens count too).
The rows go with their user (``ON DELETE CASCADE``, and
:meth:`SQLStore.remove` deletes them too).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final

from ...errors import LastAuthenticator, UnknownUser
from ..passkeys import Passkey
from .transaction import Transaction

__all__ = ["MIGRATION", "SQL", "SQLPasskeys"]

MIGRATION: Final[Sequence[str]] = (
    """CREATE TABLE passkeys (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
        credential_id {blob} NOT NULL UNIQUE,
        public_key {blob} NOT NULL,
        sign_count {bigint} NOT NULL,
        transports TEXT NOT NULL,
        aaguid TEXT NOT NULL,
        name TEXT NOT NULL,
        created {float} NOT NULL,
        last_used {float}
    )""",
    "CREATE INDEX passkeys_by_user ON passkeys (username)",
)

_COLUMNS: Final = (
    "id, username, credential_id, public_key, sign_count, transports, aaguid, name, "
    "created, last_used"
)

_SELECT: Final = "SELECT " + _COLUMNS + " FROM passkeys WHERE "  # noqa: S608 (constant columns)

SQL: Final[Mapping[str, str]] = {
    "pk_insert": (
        "INSERT INTO passkeys (" + _COLUMNS + ") SELECT :id, username, :credential_id, "
        ":public_key, :sign_count, :transports, :aaguid, :name, :created, :last_used "
        "FROM users WHERE username = :username"
    ),
    "pk_of_user": _SELECT + "username = :username ORDER BY created, id",
    "pk_find": _SELECT + "credential_id = :credential_id",
    "pk_use": (
        "UPDATE passkeys SET sign_count = :new, last_used = :now "
        "WHERE id = :id AND sign_count = :expected"
    ),
    "pk_rename": "UPDATE passkeys SET name = :name WHERE id = :id AND username = :username",
    "pk_remove": "DELETE FROM passkeys WHERE id = :id AND username = :username",
    "pk_remove_user": "DELETE FROM passkeys WHERE username = :username",
    "pk_owned": "SELECT 1 FROM passkeys WHERE id = :id AND username = :username",
    "pk_count": "SELECT count(*) FROM passkeys WHERE username = :username",
}


def row_to_passkey(row: Sequence[Any]) -> Passkey:
    """A ``passkeys`` row (columns in :data:`_COLUMNS`' order) as a :class:`Passkey`."""
    transports = tuple(t for t in str(row[5]).split(",") if t)
    last_used = None if row[9] is None else float(row[9])
    return Passkey(
        str(row[0]),
        str(row[1]),
        bytes(row[2]),
        bytes(row[3]),
        int(row[4]),
        transports,
        str(row[6]),
        str(row[7]),
        float(row[8]),
        last_used,
    )


class SQLPasskeys(abc.ABC):
    """:class:`~otpgate.store.passkeys.PasskeyStore` for :class:`~.store.SQLStore`."""

    _sql: Mapping[str, str]

    @abc.abstractmethod
    def _execute(
        self, sql: str, params: Mapping[str, Any], *, taken: str | None = None
    ) -> tuple[list[Any], int]: ...

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[Transaction]: ...

    def add_passkey(self, passkey: Passkey) -> None:
        params = {
            "id": passkey.id,
            "username": passkey.user,
            "credential_id": passkey.credential_id,
            "public_key": passkey.public_key,
            "sign_count": passkey.sign_count,
            "transports": ",".join(passkey.transports),
            "aaguid": passkey.aaguid,
            "name": passkey.name,
            "created": passkey.created,
            "last_used": passkey.last_used,
        }
        taken = "this passkey is registered already"
        if self._execute(self._sql["pk_insert"], params, taken=taken)[1] == 0:
            raise UnknownUser(passkey.user)

    def passkeys(self, username: str) -> list[Passkey]:
        rows = self._execute(self._sql["pk_of_user"], {"username": username})[0]
        return [row_to_passkey(r) for r in rows]

    def find_passkey(self, credential_id: bytes) -> Passkey | None:
        rows = self._execute(self._sql["pk_find"], {"credential_id": credential_id})[0]
        return row_to_passkey(rows[0]) if rows else None

    def use_passkey(self, passkey_id: str, expected_count: int, new_count: int, now: float) -> bool:
        params = {"id": passkey_id, "expected": expected_count, "new": new_count, "now": now}
        return self._execute(self._sql["pk_use"], params)[1] == 1

    def rename_passkey(self, username: str, passkey_id: str, name: str) -> bool:
        params = {"id": passkey_id, "username": username, "name": name}
        return self._execute(self._sql["pk_rename"], params)[1] == 1

    def remove_passkey(self, username: str, passkey_id: str) -> bool:
        params = {"id": passkey_id, "username": username}
        with self._transaction() as tx:
            # The user's row first (PostgreSQL locks it; SQLite's BEGIN IMMEDIATE
            # holds the file): a concurrent removal of their last token waits.
            if not tx.rows("lock_user", params) or not tx.rows("pk_owned", params):
                return False
            if int(tx.rows("pk_count", params)[0][0]) <= 1 and not tx.rows("tokens_of", params):
                raise LastAuthenticator(f"{passkey_id!r} is the last authenticator of {username!r}")
            return tx.count("pk_remove", params) == 1
