"""``postgresql://...``: one database shared by several gate instances.

psycopg 3 with a small connection pool, opened on first use so that creating
the store (for example in a web app's start-up) never blocks on the network.
Connections run in autocommit mode: every decision is one statement
(compare-and-set is ``UPDATE ... WHERE version = ... RETURNING``, a recovery
code is consumed by ``DELETE ... RETURNING``), and the few multi-statement
operations use explicit transactions.  So replicas can never both accept one
code: the row's version decides.

The schema is versioned in a ``schema_migrations`` table; migrations run
under a transaction-scoped advisory lock, so gate instances that start at the
same moment apply them once.  The SQL and the row mapping are shared with the
SQLite store (:mod:`otpgate.store._sql`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any, Final

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import StoreError, UnknownUser
from . import _sql, query
from ._sql_invitations import invitation_params, pending_params, row_to_invitation
from ._urls import redact
from .crypto import KeyRing
from .invitations import Invitation
from .query import Role, UserFilter
from .records import UserRecord, UserState

__all__ = ["PostgresStore", "redact"]

# pg_advisory_xact_lock key: any fixed 64-bit number, "otpgate" in ASCII.
_MIGRATION_LOCK: Final = 0x6F74_7067_6174_65
_SQL: Final = {name: _sql.to_pyformat(sql) for name, sql in _sql.SQL.items()}


class PostgresStore:
    """Users and tokens in PostgreSQL; OTP keys AES-GCM encrypted."""

    def __init__(
        self,
        conninfo: str,
        keys: KeyRing,
        *,
        url: str | None = None,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 10.0,
    ) -> None:
        """Prepare the store; nothing connects until the first operation.

        Args:
            conninfo: a libpq connection URL.
            keys: the key ring from the key file.
            url: the URL it was opened by; :attr:`url` keeps it for messages,
                with any password replaced by ``***``.
            min_size: connections kept open.
            max_size: connections at most.
            timeout: seconds to wait for a connection.
        """
        self._conninfo = conninfo
        # url appears in messages and logs: never with the password.
        self.url = redact(url or conninfo)
        self._keys = keys
        self._sizes = (min_size, max_size)
        self._timeout = timeout
        self._pool: ConnectionPool | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._closed = False

    # -- connections -------------------------------------------------------

    def _get_pool(self) -> ConnectionPool:
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._closed:
                raise StoreError("the PostgreSQL store is closed")
            if self._pid != os.getpid():
                # Forked (a pre-forking server): the parent's pool and its
                # threads are not ours to use or close; start a new one.
                self._pool = None
                self._pid = os.getpid()
            if self._pool is None:
                pool = ConnectionPool(
                    self._conninfo,
                    min_size=self._sizes[0],
                    max_size=self._sizes[1],
                    timeout=self._timeout,
                    kwargs={"autocommit": True},
                    open=False,
                    name="otpgate",
                )
                try:
                    # One direct connection first: it fails fast with the real
                    # reason (the pool would retry until its timeout), and
                    # migrates before any pooled connection is used.
                    with psycopg.connect(
                        self._conninfo, autocommit=True, connect_timeout=int(self._timeout)
                    ) as conn:
                        self._migrate(conn)
                    pool.open(wait=True, timeout=self._timeout)
                except (PoolTimeout, psycopg.Error) as exc:
                    pool.close()
                    raise StoreError(f"cannot open the PostgreSQL store: {_why(exc)}") from None
                except BaseException:
                    pool.close()
                    raise
                self._pool = pool
            return self._pool

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            current = int(row[0]) if row else 0
            newest = _sql.MIGRATIONS[-1][0]
            if current > newest:
                raise StoreError(
                    f"the PostgreSQL store has schema version {current}; this otpgate knows up "
                    f"to {newest} (upgrade otpgate)"
                )
            for version, statements in _sql.migration_statements("postgresql", current):
                for statement in statements:
                    conn.execute(statement.encode())
                if version == _sql.TAG_MIGRATION:
                    rows = conn.execute(_SQL["last_otps"]).fetchall()
                    updates = _sql.tag_plain_otps(rows, self._keys)
                    if updates:
                        with conn.cursor() as cur:
                            cur.executemany(_SQL["set_last_otp"], updates)
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))

    def _run(self, name: str, params: dict[str, Any], sql: str | None = None) -> list[Any]:
        """Run one named statement (or ``sql``) in autocommit; rows if it returns any."""
        try:
            with self._get_pool().connection() as conn:
                cur = conn.execute(_SQL[name] if sql is None else sql, params)
                return cur.fetchall() if cur.description is not None else [cur.rowcount]
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    def schema_version(self) -> int:
        """The newest migration applied."""
        try:
            with self._get_pool().connection() as conn:
                row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None
        return int(row[0]) if row and row[0] is not None else 0

    # -- the Store protocol ------------------------------------------------

    def otp_tag(self, username: str, otp: str) -> str:
        """The last OTP as stored: a keyed digest (see :mod:`otpgate.store._sql`)."""
        return _sql.otp_tag(self._keys, username, otp)

    def get(self, username: str) -> UserRecord | None:
        rows = self._run("get", {"username": username})
        return _sql.row_to_record(rows[0], self._keys) if rows else None

    def list_users(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int | None = None,
        filters: UserFilter | None = None,
    ) -> Iterator[UserRecord]:
        sql, params = query.sql_page(_sql.SELECT, "postgresql", prefix, after, limit, filters)
        rows = self._run("list", params, _sql.to_pyformat(sql))
        return iter([_sql.row_to_record(row, self._keys) for row in rows])

    def count_users(self, now: float) -> dict[str, int]:
        sql = _sql.to_pyformat(query.COUNT_SQL)
        return query.counts_of_row(self._run("count", query.count_params(now), sql)[0])

    def get_role(self, username: str) -> Role:
        rows = self._run("role_get", {"username": username})
        return "admin" if rows and rows[0][0] == "admin" else "user"

    def set_role(self, username: str, role: Role) -> None:
        role = query.check_role(role)
        params = {"username": username, "role": role}
        try:
            with self._get_pool().connection() as conn, conn.transaction():
                found = conn.execute(
                    "SELECT 1 FROM users WHERE username = %(username)s FOR UPDATE", params
                ).fetchall()
                if not found:
                    raise UnknownUser(username)
                conn.execute(_SQL["role_delete"], params)
                if role == "admin":
                    conn.execute(_SQL["role_insert"], params)
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    def add(self, record: UserRecord) -> None:
        params = _sql.record_params(record, self._keys)
        params["version"] = 1
        try:
            with self._get_pool().connection() as conn:
                conn.execute(_SQL["insert"], params)
        except psycopg.errors.UniqueViolation:
            raise StoreError(f"user {record.username!r} already exists") from None
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    def replace(self, record: UserRecord) -> None:
        params = _sql.record_params(record, self._keys)
        if self._run("replace", params) == [0]:
            raise UnknownUser(record.username)

    def remove(self, username: str) -> bool:
        # recovery_codes and roles cascade on delete; the user's links are revoked
        # in the same transaction.
        params = {"username": username}
        try:
            with self._get_pool().connection() as conn, conn.transaction():
                conn.execute(_SQL["inv_revoke_user"], params)
                return conn.execute(_SQL["remove"], params).rowcount > 0
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    def compare_and_set(
        self, username: str, expected_version: object, state: UserState
    ) -> UserRecord | None:
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            return None
        if not -(1 << 63) <= expected_version < 1 << 63:
            return None
        params = _sql.state_params(state, self._keys, username)
        params.update(username=username, expected=expected_version)
        rows = self._run("cas", params)
        return _sql.row_to_record(rows[0], self._keys) if rows else None

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        try:
            with self._get_pool().connection() as conn, conn.transaction():
                # FOR UPDATE: a concurrent remove cannot slip in between.
                found = conn.execute(
                    "SELECT 1 FROM users WHERE username = %(username)s FOR UPDATE",
                    {"username": username},
                ).fetchall()
                if not found:
                    raise UnknownUser(username)
                conn.execute(_SQL["remove_codes"], {"username": username})
                with conn.cursor() as cur:
                    cur.executemany(
                        _SQL["insert_code"],
                        [{"username": username, "digest": d} for d in dict.fromkeys(digests)],
                    )
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        return bool(self._run("consume_code", {"username": username, "digest": digest}))

    def count_recovery_codes(self, username: str) -> int:
        return int(self._run("count_codes", {"username": username})[0][0])

    def add_invitation(self, invitation: Invitation) -> None:
        params = invitation_params(invitation, self._keys)
        try:
            with self._get_pool().connection() as conn:
                conn.execute(_SQL["inv_insert"], params)
        except psycopg.errors.UniqueViolation:
            raise StoreError("an invitation with this token exists") from None
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    def get_invitation(self, digest: str) -> Invitation | None:
        rows = self._run("inv_get", {"digest": digest})
        return row_to_invitation(rows[0], self._keys) if rows else None

    def list_invitations(self) -> list[Invitation]:
        return [row_to_invitation(r, self._keys) for r in self._run("inv_list", {})]

    def update_invitation(
        self, digest: str, expected_version: object, invitation: Invitation
    ) -> Invitation | None:
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            return None
        if not -(1 << 63) <= expected_version < 1 << 63:
            return None
        params = pending_params(invitation, self._keys)
        params.update(digest=digest, expected=expected_version)
        rows = self._run("inv_cas", params)
        return row_to_invitation(rows[0], self._keys) if rows else None

    def stamp(self) -> object:
        """``None``: no change token costs no query; a read stands for ``state_ttl``."""
        return None

    def ping(self) -> None:
        try:
            with self._get_pool().connection() as conn:
                conn.execute("SELECT 1")
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store unreachable: {_why(exc)}") from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # -- administration ----------------------------------------------------

    def reencrypt_keys(self) -> int:
        """Re-encrypt every OTP key made with an older key-file key.

        Returns:
            How many rows were rewritten.

        Raises:
            StoreError: a key does not decrypt, or the database failed.
        """
        return _sql.reencrypt_all(
            self._keys, lambda name: self._run(name, {}), lambda name, p: int(self._run(name, p)[0])
        )


def _why(exc: BaseException) -> str:
    """A one-line reason that never echoes the connection string (it may hold a password)."""
    if isinstance(exc, PoolTimeout):
        return "no connection within the timeout (is the server up and the URL right?)"
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    lines = str(exc).strip().splitlines()
    text = primary or (lines[0] if lines else "no details")
    return f"{type(exc).__name__}: {text}"
