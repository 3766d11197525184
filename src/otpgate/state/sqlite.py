"""The throttle shared by the processes of one host, in a small SQLite file.

For one machine without Redis: ``otpgate serve --workers N`` and Apache's
children (mod_wsgi) each hold a throttle table of their own, so a guesser
spread over N processes would get N times the free guesses.  One SQLite file
in WAL mode, which every process opens, makes them count as one.  Only the
backoff tables and single-use entries live here: lingering credentials are already shared through
the store (at the cost of one PIN check per process), and a revocation takes
effect after ``auth.state_ttl`` as before.

Cost: a read per attempt that is not answered from memory and a short write
transaction per failure (docs/benchmarks.md), never on the lingering or
session hot path.  A file that cannot be used (disk full, locked too long)
is treated like an unreachable Redis: logged once, throttling per process.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Final

from .base import Backoff, NothingShared
from .breaker import Breaker, BreakerHooks

__all__ = ["SqliteState"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS backoff (
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last REAL NOT NULL,
    blocked REAL NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS backoff_expires ON backoff (expires);
CREATE TABLE IF NOT EXISTS single (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID;
"""
# One failure in this many also deletes expired rows (the file stays small).
_PRUNE_EVERY: Final = 256


class SqliteState(BreakerHooks, NothingShared):
    """Backoff tables in an SQLite file shared by the processes of one host.

    Args:
        path: the file (created 0600 if missing, with its directory's
            permissions deciding who else may open it).
        timeout: seconds to wait for another process's write.
        clock: monotonic time, for the circuit breaker.

    Raises:
        ConfigError: the file cannot be created or opened.
    """

    shared = True
    shares_credentials = False

    def __init__(
        self, path: str, *, timeout: float = 0.25, clock: Callable[[], float] = time.monotonic
    ) -> None:
        from ..errors import ConfigError

        self.path = path
        self.timeout = timeout
        self.breaker = Breaker(f"the throttle file {path}", (sqlite3.Error, OSError), 1.0, clock)
        self._local = threading.local()
        self._count = 0
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            conn = self._connect()
            try:
                conn.executescript(_SCHEMA)
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"state.url: cannot open {path}: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # A lost failure after a power cut is acceptable; an fsync per failure is not.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    # -- backoff tables ----------------------------------------------------

    def retry_after(self, table: str, key: str, now: float) -> float | None:
        def read() -> float | None:
            row = (
                self._conn()
                .execute("SELECT blocked FROM backoff WHERE tbl = ? AND key = ?", (table, key))
                .fetchone()
            )
            return float(row[0]) if row is not None else None

        blocked = self.breaker.call("read", read, None)
        return blocked - now if blocked is not None and now < blocked else None

    def failure(self, table: str, key: str, now: float, rule: Backoff) -> float | None:
        return self.breaker.call("failure", lambda: self._failure(table, key, now, rule), None)

    def _failure(self, table: str, key: str, now: float, rule: Backoff) -> float | None:
        conn = self._conn()
        # IMMEDIATE: take the write lock before reading, so two processes'
        # failures are counted one after the other.
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT failures, last, blocked FROM backoff WHERE tbl = ? AND key = ?",
                (table, key),
            ).fetchone()
            failures, last, blocked = (0, now, now) if row is None else row
            if now >= blocked and now - last >= rule.cap:
                failures, blocked = 0, now  # quiet long enough: forgotten
            failures += 1
            delay = rule.delay(failures)
            if delay is not None:
                blocked = max(blocked, now + delay)
            expires = max(blocked, now + rule.cap)
            conn.execute(
                "INSERT OR REPLACE INTO backoff VALUES (?, ?, ?, ?, ?, ?)",
                (table, key, failures, now, blocked, expires),
            )
            self._count += 1
            if self._count % _PRUNE_EVERY == 0:
                conn.execute("DELETE FROM backoff WHERE expires < ?", (now,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return delay if delay is None or math.isfinite(delay) else rule.cap

    def clear(self, table: str, key: str) -> None:
        self.breaker.call(
            "clear",
            lambda: self._conn().execute(
                "DELETE FROM backoff WHERE tbl = ? AND key = ?", (table, key)
            ),
            None,
        )

    # -- single-use entries --------------------------------------------------

    def put_single(self, digest: bytes, value: bytes, ttl: float, now: float) -> bool:
        def put() -> bool:
            conn = self._conn()
            conn.execute(
                "INSERT OR REPLACE INTO single VALUES (?, ?, ?)", (digest, value, now + ttl)
            )
            self._count += 1
            if self._count % _PRUNE_EVERY == 0:
                conn.execute("DELETE FROM single WHERE expires <= ?", (now,))
            return True

        return self.breaker.call("put_single", put, False)

    def take_single(self, digest: bytes, now: float) -> bytes | None:
        def take() -> bytes | None:
            # One statement: two processes taking the same key cannot both get it.
            row = (
                self._conn()
                .execute("DELETE FROM single WHERE key = ? RETURNING value, expires", (digest,))
                .fetchone()
            )
            return bytes(row[0]) if row is not None and row[1] > now else None

        return self.breaker.call("take_single", take, None)

    def problem(self) -> str | None:
        return self.breaker.problem()

    def check(self) -> str | None:
        ping = self._conn().execute
        self.breaker.call("read", lambda: ping("SELECT 1").fetchone(), None, force=True)
        return self.problem()

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
