"""The store contract over SQL, written once for SQLite and PostgreSQL.

:class:`SQLStore` implements the protocols of :mod:`otpgate.store.base` with
the shared statements (:mod:`.schema`); a backend only connects: it runs one
statement on its own (:meth:`SQLStore._execute`) or several in one
transaction (:meth:`SQLStore._transaction`), turning its driver's errors
into :class:`~otpgate.errors.StoreError`, and pings and closes its
connections.  Every decision is one statement
(compare-and-set is ``UPDATE ... WHERE version = ... RETURNING``, a recovery
code is consumed by ``DELETE ... RETURNING``), so two processes can never
both accept one code: the row's version decides.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Final

from ...errors import LastAuthenticator, StoreError, UnknownUser
from .. import query
from ..authenticators import OtpToken, check_token_name
from ..base import check_serial, new_token, stamped
from ..crypto import KeyRing
from ..invitations import Invitation
from ..query import Role, UserFilter
from ..records import UserRecord, UserState
from . import invitations, rotation, schema, tokens, users
from .passkeys import SQLPasskeys
from .transaction import Transaction

__all__ = ["SQLStore"]

_INT64: Final = 1 << 63


def _is_version(value: object) -> bool:
    """Whether ``value`` may be a row's version: a 64-bit int (``True`` is not one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return -_INT64 <= value < _INT64


class _Gone(Exception):
    """The token a compare-and-set names is not the user's: roll the write back."""


class SQLStore(query.UserPages, SQLPasskeys):
    """Users, codes, invitations and roles in an SQL database; OTP keys encrypted.

    A subclass sets :attr:`url`, ``_keys`` (the key ring), ``_dialect`` and
    ``_sql`` (:func:`.schema.statements` of the dialect), and provides
    :meth:`_execute`, :meth:`_transaction`, ``ping`` and ``close``.
    """

    url: str
    _keys: KeyRing
    _dialect: str
    _sql: Mapping[str, str]

    @abc.abstractmethod
    def _execute(
        self, sql: str, params: Mapping[str, Any], *, taken: str | None = None
    ) -> tuple[list[Any], int]:
        """Run one statement on its own: (the rows it returns, the rows it changed).

        Raises:
            StoreError: the database failed; with the message ``taken`` if
                the statement broke a unique key and ``taken`` is given.
        """

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[Transaction]:
        """Several statements in one transaction: committed, or rolled back on any error."""

    def _rows(self, name: str, params: Mapping[str, Any]) -> list[Any]:
        return self._execute(self._sql[name], params)[0]

    # -- UserStore -----------------------------------------------------------

    def otp_tag(self, username: str, otp: str) -> str:
        """The last OTP as stored: a keyed digest (see :mod:`.users`)."""
        return users.otp_tag(self._keys, username, otp)

    def get(self, username: str) -> UserRecord | None:
        records = users.records_of(self._rows("get", {"username": username}), self._keys)
        return records[0] if records else None

    def stamp(self) -> object:
        """``None``: no change token costs no query; a read stands for ``state_ttl``."""
        return None

    def _write_tokens(self, tx: Transaction, record: UserRecord) -> None:
        """Insert the record's tokens (ids given where missing, unique in the store)."""
        record = stamped(record, lambda i: bool(tx.rows("token_id_taken", {"id": i})))
        tx.many("token_insert", users.token_rows(record, self._keys))

    def add(self, record: UserRecord) -> None:
        params = users.record_params(record, self._keys)
        params["version"] = 1
        with self._transaction() as tx:
            if tx.rows("lock_user", {"username": record.username}):
                raise StoreError(f"user {record.username!r} already exists")
            tx.count("insert", params)
            self._write_tokens(tx, record)

    def replace(self, record: UserRecord) -> None:
        params = users.record_params(record, self._keys)
        with self._transaction() as tx:
            if tx.count("replace", params) == 0:
                raise UnknownUser(record.username)
            tx.count("tokens_delete_user", {"username": record.username})
            self._write_tokens(tx, record)

    def remove(self, username: str) -> bool:
        # The user's links are revoked in the same transaction.  Codes, tokens and
        # role cascade with the row; deleting them too keeps that true if a
        # connection ever ran without foreign keys (SQLite's are per connection).
        params = {"username": username}
        with self._transaction() as tx:
            tx.count("inv_revoke_user", params)
            tx.count("tokens_delete_user", params)
            removed = tx.count("remove", params) > 0
            tx.count("remove_codes", params)
            tx.count("role_delete", params)
            tx.count("pk_remove_user", params)
        return removed

    def compare_and_set(
        self,
        username: str,
        expected_version: object,
        state: UserState,
        token: OtpToken | None = None,
    ) -> UserRecord | None:
        if not _is_version(expected_version):
            return None
        params = users.state_params(state, self._keys, username)
        params.update(username=username, expected=expected_version)
        try:
            # The version check and the writes are one transaction: no other
            # writer comes between them.
            with self._transaction() as tx:
                if tx.count("cas", params) == 0:
                    return None
                if token is not None:
                    last = users.stored_otp(self._keys, username, token.meta.last_otp)
                    if tx.count("token_cas", tokens.state_params(token, last, username)) == 0:
                        raise _Gone
                # The first token's state is the user's state's (also when it matched).
                tx.count("token_first_state", tokens.first_state_params(state, username))
                rows = tx.rows("get", {"username": username})
        except _Gone:
            return None
        return users.records_of(rows, self._keys)[0]

    # -- TokenStore ------------------------------------------------------------

    def add_token(self, username: str, token: OtpToken) -> OtpToken:
        params = {"username": username}
        with self._transaction() as tx:
            if not tx.rows("lock_user", params):
                raise UnknownUser(username)
            position = int(tx.rows("token_next_position", params)[0][0])

            def taken(token_id: str) -> bool:
                return bool(tx.rows("token_id_taken", {"id": token_id}))

            if token.meta.id and taken(token.meta.id):
                raise StoreError(f"token id {token.meta.id!r} is taken")
            token = new_token(token, taken)
            record = UserRecord(username, token.token_type, token.key, meta=token.meta)
            check_serial(record.with_tokens([token]))
            last = users.stored_otp(self._keys, username, token.meta.last_otp)
            row = tokens.token_params(token, position, username, self._keys, last)
            tx.count("token_insert", row)
            tx.count("bump", params)
        return token

    def rename_token(self, username: str, token_id: str, name: str) -> bool:
        try:
            check_token_name(name)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        params = {"username": username, "id": token_id, "name": name}
        with self._transaction() as tx:
            if not tx.rows("lock_user", params) or tx.count("token_rename", params) == 0:
                return False
            tx.count("bump", params)
        return True

    def remove_token(self, username: str, token_id: str) -> bool:
        params = {"username": username, "id": token_id}
        with self._transaction() as tx:
            # The user's row first: PostgreSQL locks it, so two removals of a
            # user's last two tokens run one after the other.
            # Passkeys count as well: of a last token and a last passkey removed
            # at once, the second removal sees the first and is refused.
            if not tx.rows("lock_user", params):
                return False
            mine = [t[0] for t in tx.rows("tokens_of", params)]
            if token_id not in mine:
                return False
            if len(mine) == 1 and int(tx.rows("pk_count", params)[0][0]) == 0:
                raise LastAuthenticator(f"{token_id!r} is the last authenticator of {username!r}")
            tx.count("token_unlinger", params)
            if tx.count("token_delete", params) == 0:
                return False
            tx.count("bump", params)
        return True

    # -- RecoveryCodeStore ---------------------------------------------------

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        params = {"username": username}
        with self._transaction() as tx:
            if not tx.rows("lock_user", params):
                raise UnknownUser(username)
            tx.count("remove_codes", params)
            tx.many("insert_code", [{**params, "digest": d} for d in dict.fromkeys(digests)])

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        return bool(self._rows("consume_code", {"username": username, "digest": digest}))

    def count_recovery_codes(self, username: str) -> int:
        return int(self._rows("count_codes", {"username": username})[0][0])

    # -- InvitationStore -----------------------------------------------------

    def add_invitation(self, invitation: Invitation) -> None:
        params = invitations.invitation_params(invitation, self._keys)
        self._execute(self._sql["inv_insert"], params, taken="an invitation with this token exists")

    def get_invitation(self, digest: str) -> Invitation | None:
        rows = self._rows("inv_get", {"digest": digest})
        return invitations.row_to_invitation(rows[0], self._keys) if rows else None

    def list_invitations(self) -> list[Invitation]:
        return [invitations.row_to_invitation(r, self._keys) for r in self._rows("inv_list", {})]

    def update_invitation(
        self, digest: str, expected_version: object, invitation: Invitation
    ) -> Invitation | None:
        if not _is_version(expected_version):
            return None
        params = invitations.pending_params(invitation, self._keys)
        params.update(digest=digest, expected=expected_version)
        rows = self._rows("inv_cas", params)
        return invitations.row_to_invitation(rows[0], self._keys) if rows else None

    # -- DirectoryStore ------------------------------------------------------

    def _query(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """Rows of a statement made up for one call (``:name`` placeholders)."""
        if self._dialect == "postgresql":
            sql = schema.to_pyformat(sql)
        return self._execute(sql, params)[0]

    def _page(
        self, prefix: str, after: str | None, limit: int | None, filters: UserFilter | None
    ) -> list[UserRecord]:
        sql, params = query.sql_page(users.SELECT, self._dialect, prefix, after, limit, filters)
        order = 'u.username COLLATE "C"' if self._dialect == "postgresql" else "u.username"
        return users.records_of(self._query(users.joined(sql, order), params), self._keys)

    def count_users(self, now: float) -> dict[str, int]:
        return query.counts_of_row(self._query(query.COUNT_SQL, query.count_params(now))[0])

    def get_role(self, username: str) -> Role:
        rows = self._rows("role_get", {"username": username})
        return "admin" if rows and rows[0][0] == "admin" else "user"

    def set_role(self, username: str, role: Role) -> None:
        role = query.check_role(role)
        params = {"username": username, "role": role}
        with self._transaction() as tx:
            if not tx.rows("lock_user", params):
                raise UnknownUser(username)
            tx.count("role_delete", params)
            if role == "admin":
                tx.count("role_insert", params)

    # -- KeyRotation ---------------------------------------------------------

    def reencrypt_keys(self) -> int:
        """Re-encrypt every OTP key made with an older key-file key.

        Returns:
            How many rows were rewritten.

        Raises:
            StoreError: a key does not decrypt, or the database failed.
        """
        return rotation.reencrypt_all(
            self._keys,
            lambda name: self._rows(name, {}),
            lambda name, params: self._execute(self._sql[name], params)[1],
        )
