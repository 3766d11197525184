"""``sqlite:///PATH``: the embedded default store.

One database file (WAL mode, so readers never wait for the writer), a busy
timeout instead of "database is locked" errors, and one short transaction per
operation.  Each thread gets its own connection (sqlite3 connections must not
be shared between threads); several processes may open the same file.
``synchronous=FULL`` because a counter that moves backwards after a power cut
would let a used code through again.

The schema version is SQLite's ``user_version`` pragma; migrations from
:mod:`otpgate.store._sql.schema` run inside one ``BEGIN IMMEDIATE`` transaction,
so two processes starting at once cannot both apply them.  Everything else
is :class:`~otpgate.store._sql.SQLStore`'s, shared with PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final

from ..errors import StoreError
from ._sql import SQLStore, Transaction, schema
from .crypto import KeyRing

__all__ = ["SQLiteStore"]

_BUSY_TIMEOUT_MS: Final = 10_000


class SQLiteStore(SQLStore):
    """Users and tokens in one SQLite file; OTP keys AES-GCM encrypted."""

    _dialect = "sqlite"
    _sql = schema.statements("sqlite")

    def __init__(self, path: str, keys: KeyRing, *, url: str | None = None) -> None:
        """Open (and create or migrate) the database.

        Args:
            path: the database file; created with mode 0600 if missing.
            keys: the key ring from the key file.
            url: the URL it was opened by (for messages).

        Raises:
            StoreError: the file cannot be created or opened, or its schema is
                newer than this program.
        """
        self.path = path
        self.url = url or f"sqlite:///{path}"
        self._keys = keys
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._create_file()
        self._migrate()

    # -- connections -------------------------------------------------------

    def _create_file(self) -> None:
        # SQLite creates its -wal and -shm files with the database's mode, so
        # making the main file 0600 first keeps all three private.
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot create SQLite store {self.path}: {exc.strerror}") from None

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"store {self.url} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        # A connection must not cross a fork (pre-forking servers): the child
        # opens its own and leaves the parent's alone.
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE),
            # so a read-modify-write never upgrades a read lock (deadlock-prone).
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreError(f"SQLite store {self.path} cannot use WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from None
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _execute(
        self, sql: str, params: Mapping[str, Any], *, taken: str | None = None
    ) -> tuple[list[Any], int]:
        try:
            cur = self._conn().execute(sql, params)
            return cur.fetchall(), cur.rowcount
        except sqlite3.IntegrityError as exc:
            raise StoreError(taken or f"SQLite store {self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from None

    @contextlib.contextmanager
    def _transaction(self, what: str = "SQLite store") -> Iterator[Transaction]:
        """One ``BEGIN IMMEDIATE`` transaction: committed, or rolled back on any error."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(conn, self._sql)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"{what} {self.path}: {exc}") from None

    def _migrate(self) -> None:
        with self._transaction("cannot prepare SQLite store") as tx:
            current = tx.first("PRAGMA user_version")
            schema.migrate(
                tx,
                "sqlite",
                current,
                self._keys,
                store=f"SQLite store {self.path}",
                applied=lambda version: tx.script(f"PRAGMA user_version = {int(version)}"),
            )

    def schema_version(self) -> int:
        """The schema version of the file (``PRAGMA user_version``)."""
        version: int = self._execute("PRAGMA user_version", {})[0][0][0]
        return version

    def ping(self) -> None:
        self._execute("SELECT count(*) FROM users", {})

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            # Closing is best effort; the OS releases the file anyway.
            with contextlib.suppress(sqlite3.Error):
                conn.close()
