"""What the SQLite and PostgreSQL stores share: schema, migrations, SQL and row mapping.

Statements are written once with ``:name`` placeholders (SQLite's named
style) and translated to ``%(name)s`` for psycopg, so both backends run the
same SQL.  A record's ``version`` is an integer incremented by every write;
compare-and-set is ``UPDATE ... WHERE username = :username AND version =
:expected``.

``last_otp`` is kept as :func:`otp_tag`, a keyed digest under the key file,
never as the code: with read access to the database and a PIN cracked from
its hash, a stored code would be a live credential while it lingers.  The
Authenticator compares tags (``Store.otp_tag``); a plain code handed to
:func:`state_params` is tagged on the way in, and migration 3 tagged the
codes older versions stored.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from ..errors import StoreError
from ..otp.tokens import parse_token_type
from ..otp.verify import TokenState
from . import _sql_invitations, _sql_roles
from .base import check_serial
from .crypto import KeyRing
from .records import Pin, UserRecord, UserState

__all__ = [
    "COLUMNS",
    "MIGRATIONS",
    "SELECT",
    "SQL",
    "migration_statements",
    "otp_tag",
    "record_params",
    "reencrypt",
    "reencrypt_all",
    "row_to_record",
    "state_params",
    "to_pyformat",
]

_INT64: Final = 1 << 63
# Marks a tagged last OTP; a code (digits or hex) never holds a '$'.
TAG_PREFIX: Final = "$t1$"
# The migration that replaced plain last OTPs by their tags (a data step).
TAG_MIGRATION: Final = 3

# Column order of every SELECT/RETURNING; row_to_record reads rows in this order.
COLUMNS: Final = (
    "username",
    "token_type",
    "t0",
    "key_enc",
    "pin_kind",
    "pin_value",
    "serial",
    "counter",
    "last_step",
    "failures",
    "last_otp",
    "last_auth",
    "last_ip",
    "locked_until",
    "revoked_before",
    "version",
)
_COLS: Final = ", ".join(COLUMNS)

# Type names differ between the two databases; everything else is shared.
DIALECTS: Final[Mapping[str, Mapping[str, str]]] = {
    "sqlite": {"blob": "BLOB", "float": "REAL", "bigint": "INTEGER", "c_name": "username"},
    "postgresql": {
        "blob": "BYTEA",
        "float": "DOUBLE PRECISION",
        "bigint": "BIGINT",
        "c_name": 'username COLLATE "C"',
    },
}

# (version, statements).  Append only: a released migration is never edited.
MIGRATIONS: Final[Sequence[tuple[int, Sequence[str]]]] = (
    (
        1,
        (
            """CREATE TABLE users (
                username TEXT PRIMARY KEY,
                token_type TEXT NOT NULL,
                t0 {bigint} NOT NULL DEFAULT 0,
                key_enc {blob} NOT NULL,
                pin_kind TEXT NOT NULL CHECK (pin_kind IN ('none', 'delegated', 'hash')),
                pin_value TEXT NOT NULL DEFAULT '',
                serial TEXT,
                counter {bigint} NOT NULL DEFAULT 0,
                last_step {bigint},
                failures {bigint} NOT NULL DEFAULT 0,
                last_otp TEXT,
                last_auth {float},
                last_ip TEXT,
                locked_until {float},
                revoked_before {float},
                version {bigint} NOT NULL
            )""",
            """CREATE TABLE recovery_codes (
                username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                PRIMARY KEY (username, digest)
            )""",
        ),
    ),
    (2, _sql_invitations.MIGRATION),
    # Data only: tag_plain_otps() runs after it (it needs the key file).
    (TAG_MIGRATION, ()),
    (4, _sql_roles.MIGRATION),
    (5, _sql_invitations.RECORD_MIGRATION),
)

_STATE_SET: Final = (
    "counter = :counter, last_step = :last_step, failures = :failures, "
    "last_otp = :last_otp, last_auth = :last_auth, last_ip = :last_ip, "
    "locked_until = :locked_until, revoked_before = :revoked_before"
)

# S608: these f-strings join constant column names; no input ever reaches them.
SELECT: Final = f"SELECT {_COLS} FROM users"  # noqa: S608
_VALUES: Final = ", ".join(f":{c}" for c in COLUMNS)
_INSERT: Final = f"INSERT INTO users ({_COLS}) VALUES ({_VALUES})"  # noqa: S608

SQL: Final[Mapping[str, str]] = {
    "get": f"{SELECT} WHERE username = :username",
    "list": f"{SELECT} ORDER BY username",
    "insert": _INSERT,
    "replace": (
        "UPDATE users SET token_type = :token_type, t0 = :t0, key_enc = :key_enc, "  # noqa: S608
        "pin_kind = :pin_kind, pin_value = :pin_value, serial = :serial, "
        f"{_STATE_SET}, version = version + 1 WHERE username = :username"
    ),
    "cas": (
        f"UPDATE users SET {_STATE_SET}, version = version + 1 "  # noqa: S608
        f"WHERE username = :username AND version = :expected RETURNING {_COLS}"
    ),
    "remove": "DELETE FROM users WHERE username = :username",
    "remove_codes": "DELETE FROM recovery_codes WHERE username = :username",
    "exists": "SELECT 1 FROM users WHERE username = :username",
    "insert_code": "INSERT INTO recovery_codes (username, digest) VALUES (:username, :digest)",
    "consume_code": (
        "DELETE FROM recovery_codes WHERE username = :username AND digest = :digest "
        "RETURNING digest"
    ),
    "count_codes": "SELECT count(*) FROM recovery_codes WHERE username = :username",
    "keys": "SELECT username, key_enc FROM users ORDER BY username",
    "last_otps": "SELECT username, last_otp FROM users WHERE last_otp IS NOT NULL",
    "set_last_otp": "UPDATE users SET last_otp = :last_otp WHERE username = :username",
    "rekey": (
        "UPDATE users SET key_enc = :new_key WHERE username = :username AND key_enc = :old_key"
    ),
    **_sql_invitations.SQL,
    **_sql_roles.SQL,
}

_NAMED: Final = re.compile(r":([a-z_][a-z0-9_]*)")


def to_pyformat(sql: str) -> str:
    """``:name`` -> ``%(name)s`` (psycopg's named placeholders)."""
    return _NAMED.sub(r"%(\1)s", sql)


def migration_statements(dialect: str, after: int) -> list[tuple[int, list[str]]]:
    """The migrations newer than schema version ``after``, typed for ``dialect``."""
    types = DIALECTS[dialect]
    return [
        (version, [s.format_map(types) for s in statements])
        for version, statements in MIGRATIONS
        if version > after
    ]


def _check_int64(name: str, value: int | None) -> None:
    if value is not None and not -_INT64 <= value < _INT64:
        raise StoreError(f"{name} {value} does not fit in a 64-bit database column")


def otp_tag(keys: KeyRing, username: str, otp: str) -> str:
    """The stored form of a user's last OTP: an HMAC under the key file, not the code."""
    return TAG_PREFIX + keys.digest("last-otp", username, otp).hex()


def _stored_otp(keys: KeyRing, username: str, value: str | None) -> str | None:
    if value is None or value.startswith(TAG_PREFIX):
        return value
    return otp_tag(keys, username, value)


def tag_plain_otps(rows: Iterable[Sequence[Any]], keys: KeyRing) -> list[dict[str, Any]]:
    """``set_last_otp`` parameters for every (username, last_otp) row still in the clear."""
    return [
        {"username": username, "last_otp": otp_tag(keys, username, value)}
        for username, value in rows
        if value is not None and not value.startswith(TAG_PREFIX)
    ]


def state_params(state: UserState, keys: KeyRing, username: str) -> dict[str, Any]:
    """The columns a compare-and-set writes (a plain last OTP as its tag).

    Raises:
        StoreError: a number is out of the database's range.
    """
    _check_int64("counter", state.token.counter)
    _check_int64("last_step", state.token.last_step)
    _check_int64("failures", state.failures)
    return {
        "counter": state.token.counter,
        "last_step": state.token.last_step,
        "failures": state.failures,
        "last_otp": _stored_otp(keys, username, state.last_otp),
        "last_auth": state.last_auth,
        "last_ip": state.last_ip,
        "locked_until": state.locked_until,
        "revoked_before": state.revoked_before,
    }


def record_params(record: UserRecord, keys: KeyRing) -> dict[str, Any]:
    """Every column of a record, with the OTP key encrypted.

    Raises:
        StoreError: the record cannot be kept in a database (a plain PIN, an
            empty user name, a number out of range).
    """
    if not record.username:
        raise StoreError("the user name is empty")
    check_serial(record)
    if record.pin.kind == "plain":
        raise StoreError(
            f"refusing to store a plain-text PIN for {record.username!r}: SQL stores keep "
            "only argon2id hashes (Pin('hash', ...)); plain PINs exist only in users files"
        )
    params = state_params(record.state, keys, record.username)
    params.update(
        username=record.username,
        token_type=str(record.token_type),
        t0=record.token_type.t0,
        key_enc=keys.encrypt(record.key, record.username),
        pin_kind=record.pin.kind,
        pin_value=record.pin.value,
        serial=record.serial,
    )
    return params


def row_to_record(row: Sequence[Any], keys: KeyRing) -> UserRecord:
    """Build a record from a row in :data:`COLUMNS` order.

    Raises:
        StoreError: the row is damaged or its key does not decrypt.
    """
    (
        username,
        token_type,
        t0,
        key_enc,
        pin_kind,
        pin_value,
        serial,
        counter,
        last_step,
        failures,
        last_otp,
        last_auth,
        last_ip,
        locked_until,
        revoked_before,
        version,
    ) = row
    try:
        with warnings.catch_warnings():
            # Short codes were warned about when the user was imported or added.
            warnings.simplefilter("ignore")
            ttype = parse_token_type(token_type, allow_short=True)
        if t0:
            ttype = replace(ttype, t0=int(t0))
        pin = Pin(pin_kind, pin_value or "")
    except ValueError as exc:
        raise StoreError(f"the stored record of {username!r} is damaged: {exc}") from None
    state = UserState(
        token=TokenState(int(counter), None if last_step is None else int(last_step)),
        failures=int(failures),
        last_otp=last_otp,
        last_auth=None if last_auth is None else float(last_auth),
        last_ip=last_ip,
        locked_until=None if locked_until is None else float(locked_until),
        revoked_before=None if revoked_before is None else float(revoked_before),
    )
    return UserRecord(
        username=username,
        token_type=ttype,
        key=keys.decrypt(bytes(key_enc), username),
        pin=pin,
        state=state,
        serial=serial,
        version=int(version),
    )


def reencrypt(
    keys: KeyRing, rows: Iterable[Sequence[Any]], rekey: Callable[[dict[str, Any]], int]
) -> int:
    """Re-encrypt every (username, key blob) row not made with the newest key.

    ``rekey`` runs the ``rekey`` statement and returns the rows it changed:
    0 when a concurrent key change (admin replace) already wrote a new blob.
    """
    done = 0
    for username, raw in rows:
        blob = bytes(raw)
        if keys.key_id_of(blob) == keys.newest_id:
            continue
        new = keys.encrypt(keys.decrypt(blob, username), username)
        done += rekey({"username": username, "old_key": blob, "new_key": new})
    return done


# Each table that holds encrypted OTP keys: the statement that reads them, the one
# that rewrites one (users, then the pending keys of invitations).
_KEYED_TABLES: Final = (("keys", "rekey"), ("inv_keys", "inv_rekey"))


def reencrypt_all(
    keys: KeyRing,
    read: Callable[[str], Iterable[Sequence[Any]]],
    write: Callable[[str, dict[str, Any]], int],
) -> int:
    """Re-encrypt the OTP keys of every table that holds them (see :func:`reencrypt`).

    ``read(name)`` runs the statement ``SQL[name]`` and returns its rows;
    ``write(name, params)`` runs ``SQL[name]`` and returns the rows it changed.
    """
    done = 0
    for select, update in _KEYED_TABLES:
        done += reencrypt(keys, read(select), functools.partial(write, update))
    return done
