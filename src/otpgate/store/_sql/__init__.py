"""What the SQLite and PostgreSQL stores share: schema, statements, row mapping, the methods."""

from __future__ import annotations

from .schema import (
    MIGRATIONS,
    SQL,
    TAG_MIGRATION,
    TOKENS_MIGRATION,
    migration_statements,
    statements,
    to_pyformat,
)
from .store import SQLStore
from .transaction import Transaction
from .users import COLUMNS, SELECT, otp_tag, record_params, records_of, state_params

__all__ = [
    "COLUMNS",
    "MIGRATIONS",
    "SELECT",
    "SQL",
    "TAG_MIGRATION",
    "TOKENS_MIGRATION",
    "SQLStore",
    "Transaction",
    "migration_statements",
    "otp_tag",
    "record_params",
    "records_of",
    "state_params",
    "statements",
    "to_pyformat",
]
