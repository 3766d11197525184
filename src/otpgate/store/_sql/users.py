"""The ``users`` table: its columns, statements and row mapping (schema version 1).

Since schema version 7 a user's tokens are rows of their own
(:mod:`.tokens`); a record is read as the user's row joined with them.

A record's ``version`` is an integer incremented by every write;
compare-and-set is ``UPDATE ... WHERE username = :username AND version =
:expected``.

``last_otp`` is kept as :func:`otp_tag`, a keyed digest under the key file,
never as the code: with read access to the database and a PIN cracked from
its hash, a stored code would be a live credential while it lingers.  The
Authenticator compares tags (``UserStore.otp_tag``); a plain code handed to
:func:`state_params` is tagged on the way in, and migration 3 tagged the
codes older versions stored (:func:`tag_plain_otps`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from ...errors import StoreError
from ..authenticators import OtpToken
from ..base import check_serial
from ..crypto import KeyRing
from ..records import TAG_PREFIX, Pin, UserRecord, UserState
from . import tokens

__all__ = [
    "COLUMNS",
    "SELECT",
    "SQL",
    "TABLE",
    "joined",
    "otp_tag",
    "record_params",
    "records_of",
    "state_params",
    "stored_otp",
    "tag_plain_otps",
    "token_rows",
]

_INT64: Final = 1 << 63

# Column order of every SELECT/RETURNING; row_to_record reads rows in this order.
COLUMNS: Final = (
    "username",
    "pin_kind",
    "pin_value",
    "failures",
    "last_otp",
    "last_auth",
    "last_ip",
    "locked_until",
    "revoked_before",
    "version",
)
_COLS: Final = ", ".join(COLUMNS)

# Part of migration 1 (with the recovery codes' table); {names} are the dialect's types.
TABLE: Final = """CREATE TABLE users (
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
            )"""

_STATE_SET: Final = (
    "failures = :failures, "
    "last_otp = :last_otp, last_auth = :last_auth, last_ip = :last_ip, "
    "locked_until = :locked_until, revoked_before = :revoked_before"
)

# S608: these f-strings join constant column names; no input ever reaches them.
SELECT: Final = f"SELECT {_COLS} FROM users"  # noqa: S608
_VALUES: Final = ", ".join(f":{c}" for c in COLUMNS)
_JOINED: Final = ", ".join(f"u.{c}" for c in COLUMNS) + ", " + tokens.JOINED


def joined(users_sql: str, order: str = "u.username") -> str:
    """Rows of ``users_sql``'s users, each joined with their tokens (:func:`records_of`).

    A user with no token (passkeys only) is one row whose token columns are NULL.
    """
    return (
        f"SELECT {_JOINED} FROM ({users_sql}) u "  # noqa: S608
        f"LEFT JOIN tokens t ON t.username = u.username ORDER BY {order}, t.position"
    )


SQL: Final[Mapping[str, str]] = {
    "get": joined(f"{SELECT} WHERE username = :username"),
    "insert": f"INSERT INTO users ({_COLS}) VALUES ({_VALUES})",  # noqa: S608
    "replace": (
        "UPDATE users SET pin_kind = :pin_kind, pin_value = :pin_value, "  # noqa: S608
        f"{_STATE_SET}, version = version + 1 WHERE username = :username"
    ),
    "cas": (
        f"UPDATE users SET {_STATE_SET}, version = version + 1 "  # noqa: S608
        "WHERE username = :username AND version = :expected"
    ),
    # A change of the user's tokens: a login decided before it cannot be written.
    "bump": "UPDATE users SET version = version + 1 WHERE username = :username",
    "remove": "DELETE FROM users WHERE username = :username",
    # Read before a change of what hangs off a user (codes, role); PostgreSQL
    # locks the row with it (schema.statements), so a removal cannot slip in.
    "lock_user": "SELECT 1 FROM users WHERE username = :username",
    # Migration 3: the last OTPs older versions kept in the clear.
    "last_otps": "SELECT username, last_otp FROM users WHERE last_otp IS NOT NULL",
    "set_last_otp": "UPDATE users SET last_otp = :last_otp WHERE username = :username",
}


def _check_int64(name: str, value: int | None) -> None:
    if value is not None and not -_INT64 <= value < _INT64:
        raise StoreError(f"{name} {value} does not fit in a 64-bit database column")


def otp_tag(keys: KeyRing, username: str, otp: str) -> str:
    """The stored form of a user's last OTP: an HMAC under the key file, not the code."""
    return TAG_PREFIX + keys.digest("last-otp", username, otp).hex()


def stored_otp(keys: KeyRing, username: str, value: str | None) -> str | None:
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
    _check_int64("failures", state.failures)
    return {
        "failures": state.failures,
        "last_otp": stored_otp(keys, username, state.last_otp),
        "last_auth": state.last_auth,
        "last_ip": state.last_ip,
        "locked_until": state.locked_until,
        "revoked_before": state.revoked_before,
    }


def record_params(record: UserRecord, keys: KeyRing) -> dict[str, Any]:
    """Every column of a record's ``users`` row (its tokens: :func:`token_rows`).

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
    params.update(username=record.username, pin_kind=record.pin.kind, pin_value=record.pin.value)
    return params


def token_rows(record: UserRecord, keys: KeyRing) -> list[dict[str, Any]]:
    """``token_insert`` parameters for each of the record's tokens, in order."""
    rows = []
    for position, token in enumerate(record.tokens()):
        last = stored_otp(keys, record.username, token.meta.last_otp)
        rows.append(tokens.token_params(token, position, record.username, keys, last))
    return rows


def records_of(rows: Iterable[Sequence[Any]], keys: KeyRing) -> list[UserRecord]:
    """Records from joined rows (:func:`joined`): a user's columns, then one token's.

    Raises:
        StoreError: a row is damaged or a key does not decrypt.
    """
    out: list[UserRecord] = []
    width = len(COLUMNS)
    for row in rows:
        user, token = row[:width], row[width:]
        if not out or out[-1].username != user[0]:
            first = None if token[0] is None else tokens.row_to_token(token, user[0], keys)
            out.append(_record(user, first))
        else:
            last = out[-1]
            out[-1] = last.with_tokens([*last.tokens(), tokens.row_to_token(token, user[0], keys)])
    return out


def _record(row: Sequence[Any], first: OtpToken | None) -> UserRecord:
    """A record from a ``users`` row in :data:`COLUMNS` order and its first token, if any."""
    (username, pin_kind, pin_value, failures, last_otp, last_auth, last_ip) = row[:7]
    (locked_until, revoked_before, version) = row[7:]
    try:
        pin = Pin(pin_kind, pin_value or "")
    except ValueError as exc:
        raise StoreError(f"the stored record of {username!r} is damaged: {exc}") from None
    state = UserState(
        failures=int(failures),
        last_otp=last_otp,
        last_auth=None if last_auth is None else float(last_auth),
        last_ip=last_ip,
        locked_until=None if locked_until is None else float(locked_until),
        revoked_before=None if revoked_before is None else float(revoked_before),
    )
    bare = UserRecord.passkeys_only(username, pin, state)
    record = bare if first is None else bare.with_tokens([first])
    return replace(record, version=int(version))
