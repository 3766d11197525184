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
same moment apply them once.  The SQL, the row mapping and every store method
are shared with the SQLite store (:class:`otpgate.store._sql.SQLStore`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import StoreError
from ._sql import SQLStore, Transaction, schema
from ._urls import redact
from .crypto import KeyRing

__all__ = ["PostgresStore"]

# pg_advisory_xact_lock key: any fixed 64-bit number, "otpgate" in ASCII.
_MIGRATION_LOCK: Final = 0x6F74_7067_6174_65


class PostgresStore(SQLStore):
    """Users and tokens in PostgreSQL; OTP keys AES-GCM encrypted."""

    _dialect = "postgresql"
    _sql = schema.statements("postgresql")

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
            tx = Transaction(conn, self._sql)
            tx.script("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            tx.script(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            schema.migrate(
                tx,
                "postgresql",
                int(tx.first("SELECT coalesce(max(version), 0) FROM schema_migrations")),
                self._keys,
                store="the PostgreSQL store",
                applied=lambda version: tx.script(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                ),
            )

    def _execute(
        self, sql: str, params: Mapping[str, Any], *, taken: str | None = None
    ) -> tuple[list[Any], int]:
        try:
            with self._get_pool().connection() as conn:
                cur = conn.execute(sql, params)
                return (cur.fetchall() if cur.description is not None else []), cur.rowcount
        except psycopg.errors.UniqueViolation as exc:
            raise StoreError(taken or f"PostgreSQL store: {_why(exc)}") from None
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        try:
            with self._get_pool().connection() as conn, conn.transaction():
                yield Transaction(conn, self._sql)
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"PostgreSQL store: {_why(exc)}") from None

    def schema_version(self) -> int:
        """The newest migration applied."""
        rows = self._execute("SELECT max(version) FROM schema_migrations", {})[0]
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

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


def _why(exc: BaseException) -> str:
    """A one-line reason that never echoes the connection string (it may hold a password)."""
    if isinstance(exc, PoolTimeout):
        return "no connection within the timeout (is the server up and the URL right?)"
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    lines = str(exc).strip().splitlines()
    text = primary or (lines[0] if lines else "no details")
    return f"{type(exc).__name__}: {text}"
