"""What the SQL stores ask of a driver's connection: run their statements by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Transaction"]


class Transaction:
    """Named statements on one connection inside one transaction.

    Both drivers' connections have ``execute(sql, params)`` returning a
    cursor, and cursors with ``executemany``; that is all this needs.
    """

    __slots__ = ("_conn", "_sql")

    def __init__(self, conn: Any, statements: Mapping[str, str]) -> None:
        self._conn = conn
        self._sql = statements

    def rows(self, name: str, params: Mapping[str, Any]) -> list[Any]:
        """The rows the statement ``name`` returns."""
        rows: list[Any] = self._conn.execute(self._sql[name], params).fetchall()
        return rows

    def count(self, name: str, params: Mapping[str, Any]) -> int:
        """How many rows the statement ``name`` changed."""
        changed: int = self._conn.execute(self._sql[name], params).rowcount
        return changed

    def many(self, name: str, params: list[dict[str, Any]]) -> None:
        """Run the statement ``name`` once for each of ``params``."""
        cur = self._conn.cursor()
        try:
            cur.executemany(self._sql[name], params)
        finally:
            cur.close()

    def script(self, sql: str, params: tuple[Any, ...] | None = None) -> None:
        """Run ``sql`` as written, not by name (a migration's DDL, a schema version)."""
        if params is None:
            self._conn.execute(sql)
        else:
            self._conn.execute(sql, params)

    def first(self, sql: str) -> Any:
        """The first column of the first row of ``sql`` as written (a schema version)."""
        return self._conn.execute(sql).fetchone()[0]
