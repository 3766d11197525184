"""The ``tokens`` table: a user's OTP tokens, one row each (schema versions 7 and 8).

Before version 7 a user's one token lived in their ``users`` row.  Version 7
creates this table and moves each user's token into it (:func:`moved_tokens`,
a data step: ids are random); version 8 drops the moved columns from
``users``.  A key stays encrypted as before, bound to the user name, so the
move copies the ciphertext without the key file.  ``position`` orders a
user's tokens: the lowest is the record's first.  The rows go with their user
(``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ...errors import StoreError
from ...otp.verify import TokenState
from ..authenticators import MAX_NAME, OtpToken, TokenMeta, new_token_id
from ..crypto import KeyRing
from ..records import TAG_PREFIX, UserState, stored_token_type

__all__ = [
    "COLUMNS",
    "DROP_MIGRATION",
    "JOINED",
    "MIGRATION",
    "SQL",
    "first_state_params",
    "moved_tokens",
    "row_to_token",
    "state_params",
    "token_params",
]

_INT64: Final = 1 << 63

# Column order of every token SELECT; row_to_token reads rows in this order.
COLUMNS: Final = (
    "id",
    "name",
    "token_type",
    "t0",
    "key_enc",
    "serial",
    "counter",
    "last_step",
    "last_otp",
    "created",
    "last_used",
)
_COLS: Final = ", ".join(COLUMNS)
JOINED: Final = ", ".join(f"t.{c}" for c in COLUMNS)

MIGRATION: Final = (
    """CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
        position {bigint} NOT NULL,
        name TEXT NOT NULL,
        token_type TEXT NOT NULL,
        t0 {bigint} NOT NULL DEFAULT 0,
        key_enc {blob} NOT NULL,
        serial TEXT,
        counter {bigint} NOT NULL DEFAULT 0,
        last_step {bigint},
        last_otp TEXT,
        created {float} NOT NULL,
        last_used {float},
        UNIQUE (username, position)
    )""",
)

DROP_MIGRATION: Final = tuple(
    f"ALTER TABLE users DROP COLUMN {column}"
    for column in ("token_type", "t0", "key_enc", "serial", "counter", "last_step")
)

_VALUES: Final = ", ".join(f":{c}" for c in COLUMNS)
# S608: constant column names only.
SQL: Final[Mapping[str, str]] = {
    # Migration 6: what moves (read while users still has these columns).
    "tokens_to_move": (
        "SELECT username, token_type, t0, key_enc, serial, counter, last_step, last_otp, "
        "last_auth FROM users ORDER BY username"
    ),
    "token_insert": (
        f"INSERT INTO tokens (username, position, {_COLS}) "  # noqa: S608
        f"VALUES (:username, :position, {_VALUES})"
    ),
    "tokens_of": f"SELECT {_COLS} FROM tokens WHERE username = :username ORDER BY position",  # noqa: S608
    "tokens_delete_user": "DELETE FROM tokens WHERE username = :username",
    "token_id_taken": "SELECT 1 FROM tokens WHERE id = :id",
    "token_next_position": (
        "SELECT coalesce(max(position), -1) + 1, count(*) FROM tokens WHERE username = :username"
    ),
    "token_count": "SELECT count(*) FROM tokens WHERE username = :username",
    "token_delete": "DELETE FROM tokens WHERE username = :username AND id = :id",
    # A token removed: its last code must not linger on from the user's last OTP.
    "token_unlinger": (
        "UPDATE users SET last_otp = NULL WHERE username = :username AND last_otp = "
        "(SELECT last_otp FROM tokens WHERE username = :username AND id = :id)"
    ),
    "token_rename": "UPDATE tokens SET name = :name WHERE username = :username AND id = :id",
    # A login's write: the token a code matched ...
    "token_cas": (
        "UPDATE tokens SET counter = :counter, last_step = :last_step, last_otp = :last_otp, "
        "last_used = :last_used WHERE username = :username AND id = :id"
    ),
    # ... and the first token's state, which the user's state carries.
    "token_first_state": (
        "UPDATE tokens SET counter = :counter, last_step = :last_step "
        "WHERE username = :username AND position = "
        "(SELECT min(position) FROM tokens WHERE username = :username)"
    ),
    # Key rotation (otpgate rotate-key): the keys are bound to the user name.
    "keys": "SELECT username, key_enc FROM tokens ORDER BY username, id",
    "rekey": (
        "UPDATE tokens SET key_enc = :new_key WHERE username = :username AND key_enc = :old_key"
    ),
}


def _check_int64(name: str, value: int | None) -> None:
    if value is not None and not -_INT64 <= value < _INT64:
        raise StoreError(f"{name} {value} does not fit in a 64-bit database column")


def state_params(token: OtpToken, last_otp: str | None, username: str) -> dict[str, Any]:
    """``token_cas``'s parameters (``last_otp``: the stored form of its last code)."""
    _check_int64("counter", token.state.counter)
    _check_int64("last_step", token.state.last_step)
    return {
        "username": username,
        "id": token.meta.id,
        "counter": token.state.counter,
        "last_step": token.state.last_step,
        "last_otp": last_otp,
        "last_used": token.meta.last_used,
    }


def first_state_params(state: UserState, username: str) -> dict[str, Any]:
    """``token_first_state``'s parameters."""
    _check_int64("counter", state.token.counter)
    _check_int64("last_step", state.token.last_step)
    token = state.token
    return {"username": username, "counter": token.counter, "last_step": token.last_step}


def token_params(
    token: OtpToken, position: int, username: str, keys: KeyRing, last_otp: str | None
) -> dict[str, Any]:
    """Every column of a token row, its key encrypted (bound to the user name)."""
    params = state_params(token, last_otp, username)
    params.update(
        position=position,
        name=token.meta.name,
        token_type=str(token.token_type),
        t0=token.token_type.t0,
        key_enc=keys.encrypt(token.key, username),
        serial=token.serial,
        created=token.meta.created,
    )
    return params


def row_to_token(row: Sequence[Any], username: str, keys: KeyRing) -> OtpToken:
    """A token from a row in :data:`COLUMNS` order.

    Raises:
        StoreError: the row is damaged or its key does not decrypt.
    """
    (token_id, name, token_type, t0, key_enc, serial) = row[:6]
    (counter, last_step, last_otp, created, last_used) = row[6:]
    try:
        ttype = stored_token_type(token_type, t0)
    except ValueError as exc:
        raise StoreError(f"a stored token of {username!r} is damaged: {exc}") from None
    meta = TokenMeta(
        id=token_id,
        name=name,
        created=float(created),
        last_used=None if last_used is None else float(last_used),
        last_otp=last_otp,
    )
    state = TokenState(int(counter), None if last_step is None else int(last_step))
    return OtpToken(ttype, keys.decrypt(bytes(key_enc), username), meta, state, serial)


def moved_tokens(rows: Iterable[Sequence[Any]], now: float) -> list[dict[str, Any]]:
    """``token_insert`` parameters for each user's one token (migration 6).

    Each token is named after its serial, else ``token``; it was last used at
    the user's last login, and is taken to be created now (the old schema did
    not say).  The ciphertext moves as it is.
    """
    out: list[dict[str, Any]] = []
    ids: set[str] = set()
    for username, token_type, t0, key_enc, serial, counter, last_step, last_otp, last_auth in rows:
        token_id = new_token_id()
        while token_id in ids:
            token_id = new_token_id()
        ids.add(token_id)
        tagged = last_otp if last_otp is not None and last_otp.startswith(TAG_PREFIX) else None
        out.append(
            {
                "username": username,
                "position": 0,
                "id": token_id,
                "name": serial[:MAX_NAME] if serial else "token",
                "token_type": token_type,
                "t0": t0,
                "key_enc": bytes(key_enc),
                "serial": serial,
                "counter": counter,
                "last_step": last_step,
                "last_otp": tagged,
                "created": now,
                "last_used": last_auth,
            }
        )
    return out
