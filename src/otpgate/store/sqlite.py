"""``sqlite:///PATH``: the embedded default store.

One database file (WAL mode, so readers never wait for the writer), a busy
timeout instead of "database is locked" errors, and one short transaction per
operation.  Each thread gets its own connection (sqlite3 connections must not
be shared between threads); several processes may open the same file.
``synchronous=FULL`` because a counter that moves backwards after a power cut
would let a used code through again.

The schema version is SQLite's ``user_version`` pragma; migrations from
:mod:`otpgate.store._sql` run inside one ``BEGIN IMMEDIATE`` transaction, so
two processes starting at once cannot both apply them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, Final

from ..errors import StoreError, UnknownUser
from . import _sql, query
from ._sql_invitations import invitation_params, pending_params, row_to_invitation
from .crypto import KeyRing
from .invitations import Invitation
from .query import Role, UserFilter
from .records import UserRecord, UserState

__all__ = ["SQLiteStore"]

_BUSY_TIMEOUT_MS: Final = 10_000


class SQLiteStore:
    """Users and tokens in one SQLite file; OTP keys AES-GCM encrypted."""

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

    def _read(self, sql: str, params: dict[str, Any]) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from None

    @contextlib.contextmanager
    def _write(self, what: str = "SQLite store") -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed, or rolled back on any error."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"{what} {self.path}: {exc}") from None

    def _migrate(self) -> None:
        with self._write("cannot prepare SQLite store") as conn:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            newest = _sql.MIGRATIONS[-1][0]
            if current > newest:
                raise StoreError(
                    f"SQLite store {self.path} has schema version {current}; this otpgate "
                    f"knows up to {newest} (upgrade otpgate)"
                )
            for version, statements in _sql.migration_statements("sqlite", current):
                for statement in statements:
                    conn.execute(statement)
                if version == _sql.TAG_MIGRATION:
                    rows = conn.execute(_sql.SQL["last_otps"]).fetchall()
                    conn.executemany(
                        _sql.SQL["set_last_otp"], _sql.tag_plain_otps(rows, self._keys)
                    )
                conn.execute(f"PRAGMA user_version = {int(version)}")

    def schema_version(self) -> int:
        """The schema version of the file (``PRAGMA user_version``)."""
        version: int = self._read("PRAGMA user_version", {})[0][0]
        return version

    # -- the Store protocol ------------------------------------------------

    def otp_tag(self, username: str, otp: str) -> str:
        """The last OTP as stored: a keyed digest (see :mod:`otpgate.store._sql`)."""
        return _sql.otp_tag(self._keys, username, otp)

    def get(self, username: str) -> UserRecord | None:
        rows = self._read(_sql.SQL["get"], {"username": username})
        return _sql.row_to_record(rows[0], self._keys) if rows else None

    def list_users(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int | None = None,
        filters: UserFilter | None = None,
    ) -> Iterator[UserRecord]:
        sql, params = query.sql_page(_sql.SELECT, "sqlite", prefix, after, limit, filters)
        rows = self._read(sql, params)
        return iter([_sql.row_to_record(row, self._keys) for row in rows])

    def count_users(self, now: float) -> dict[str, int]:
        return query.counts_of_row(self._read(query.COUNT_SQL, query.count_params(now))[0])

    def get_role(self, username: str) -> Role:
        rows = self._read(_sql.SQL["role_get"], {"username": username})
        return "admin" if rows and rows[0][0] == "admin" else "user"

    def set_role(self, username: str, role: Role) -> None:
        role = query.check_role(role)
        with self._write() as conn:
            if not conn.execute(_sql.SQL["exists"], {"username": username}).fetchall():
                raise UnknownUser(username)
            conn.execute(_sql.SQL["role_delete"], {"username": username})
            if role == "admin":
                conn.execute(_sql.SQL["role_insert"], {"username": username, "role": role})

    def add(self, record: UserRecord) -> None:
        params = _sql.record_params(record, self._keys)
        params["version"] = 1
        try:
            self._conn().execute(_sql.SQL["insert"], params)
        except sqlite3.IntegrityError:
            raise StoreError(f"user {record.username!r} already exists") from None
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from None

    def replace(self, record: UserRecord) -> None:
        params = _sql.record_params(record, self._keys)
        try:
            cur = self._conn().execute(_sql.SQL["replace"], params)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from None
        if cur.rowcount == 0:
            raise UnknownUser(record.username)

    def remove(self, username: str) -> bool:
        with self._write() as conn:
            conn.execute(_sql.SQL["remove_codes"], {"username": username})
            conn.execute(_sql.SQL["role_delete"], {"username": username})
            conn.execute(_sql.SQL["inv_revoke_user"], {"username": username})
            cur = conn.execute(_sql.SQL["remove"], {"username": username})
        return cur.rowcount > 0

    def compare_and_set(
        self, username: str, expected_version: object, state: UserState
    ) -> UserRecord | None:
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            return None
        params = _sql.state_params(state, self._keys, username)
        params.update(username=username, expected=expected_version)
        conn = self._conn()
        try:
            # One statement is one (autocommitted) transaction: the version
            # check and the write cannot be separated by another writer.
            rows = conn.execute(_sql.SQL["cas"], params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from None
        return _sql.row_to_record(rows[0], self._keys) if rows else None

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        with self._write() as conn:
            if not conn.execute(_sql.SQL["exists"], {"username": username}).fetchall():
                raise UnknownUser(username)
            conn.execute(_sql.SQL["remove_codes"], {"username": username})
            conn.executemany(
                _sql.SQL["insert_code"],
                [{"username": username, "digest": d} for d in dict.fromkeys(digests)],
            )

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        rows = self._read(_sql.SQL["consume_code"], {"username": username, "digest": digest})
        return bool(rows)

    def count_recovery_codes(self, username: str) -> int:
        return int(self._read(_sql.SQL["count_codes"], {"username": username})[0][0])

    def add_invitation(self, invitation: Invitation) -> None:
        params = invitation_params(invitation, self._keys)
        try:
            self._conn().execute(_sql.SQL["inv_insert"], params)
        except sqlite3.IntegrityError:
            raise StoreError("an invitation with this token exists") from None
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from None

    def get_invitation(self, digest: str) -> Invitation | None:
        rows = self._read(_sql.SQL["inv_get"], {"digest": digest})
        return row_to_invitation(rows[0], self._keys) if rows else None

    def list_invitations(self) -> list[Invitation]:
        return [row_to_invitation(r, self._keys) for r in self._read(_sql.SQL["inv_list"], {})]

    def update_invitation(
        self, digest: str, expected_version: object, invitation: Invitation
    ) -> Invitation | None:
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            return None
        params = pending_params(invitation, self._keys)
        params.update(digest=digest, expected=expected_version)
        rows = self._read(_sql.SQL["inv_cas"], params)
        return row_to_invitation(rows[0], self._keys) if rows else None

    def stamp(self) -> object:
        """``None``: no change token costs no query; a read stands for ``state_ttl``."""
        return None

    def ping(self) -> None:
        self._read("SELECT count(*) FROM users", {})

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            # Closing is best effort; the OS releases the file anyway.
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    # -- administration ----------------------------------------------------

    def reencrypt_keys(self) -> int:
        """Re-encrypt every OTP key made with an older key-file key.

        Returns:
            How many rows were rewritten.

        Raises:
            StoreError: a key does not decrypt, or the database failed.
        """

        def rekey(statement: str, params: dict[str, Any]) -> int:
            try:
                return self._conn().execute(_sql.SQL[statement], params).rowcount
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path}: {exc}") from None

        return _sql.reencrypt_all(self._keys, lambda name: self._read(_sql.SQL[name], {}), rekey)
