"""The ``invitations`` table (schema version 2): its statements and row mapping.

Schema version 5 adds ``record``, the binding of a reset to the user record
it was made for (:func:`otpgate.store.invitations.record_binding`).  A pending key
is encrypted with the key file like a user's key, bound to the invitation
(``invitation/<digest>`` as associated data; user names cannot contain
``/``), so it cannot be swapped into another row.  A pending PIN is
kept only as an argon2id hash, as for users.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ...errors import StoreError
from ..crypto import KeyRing
from ..invitations import Invitation
from ..records import Pin, stored_token_type

__all__ = [
    "COLUMNS",
    "MIGRATION",
    "RECORD_MIGRATION",
    "SQL",
    "invitation_params",
    "pending_params",
    "row_to_invitation",
]

COLUMNS: Final = (
    "digest",
    "username",
    "token_type",
    "t0",
    "created",
    "expires",
    "reset",
    "status",
    "pending_key",
    "pending_pin_kind",
    "pending_pin_value",
    "record",
    "version",
)
_COLS: Final = ", ".join(COLUMNS)

MIGRATION: Final = (
    """CREATE TABLE invitations (
        digest TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        token_type TEXT NOT NULL,
        t0 {bigint} NOT NULL DEFAULT 0,
        created {float} NOT NULL,
        expires {float} NOT NULL,
        reset {bigint} NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'used', 'revoked')),
        pending_key {blob},
        pending_pin_kind TEXT CHECK (pending_pin_kind IN ('none', 'delegated', 'hash')),
        pending_pin_value TEXT,
        version {bigint} NOT NULL
    )""",
)

# Reset links made before version 5 carry no binding: they are refused (see SelfService.open).
RECORD_MIGRATION: Final = ("ALTER TABLE invitations ADD COLUMN record TEXT NOT NULL DEFAULT ''",)

_VALUES: Final = ", ".join(f":{c}" for c in COLUMNS)
# S608: constant column names only.
SQL: Final = {
    "inv_insert": f"INSERT INTO invitations ({_COLS}) VALUES ({_VALUES})",  # noqa: S608
    "inv_get": f"SELECT {_COLS} FROM invitations WHERE digest = :digest",  # noqa: S608
    "inv_list": f"SELECT {_COLS} FROM invitations ORDER BY created, digest",  # noqa: S608
    "inv_cas": (
        "UPDATE invitations SET status = :status, pending_key = :pending_key, "  # noqa: S608
        "pending_pin_kind = :pending_pin_kind, pending_pin_value = :pending_pin_value, "
        "version = version + 1 WHERE digest = :digest AND version = :expected "
        f"RETURNING {_COLS}"
    ),
    # A user removed: their live links go, and the secrets and PINs made for them.
    "inv_revoke_user": (
        "UPDATE invitations SET status = 'revoked', pending_key = NULL, "
        "pending_pin_kind = NULL, pending_pin_value = NULL, version = version + 1 "
        "WHERE username = :username AND status IN ('open', 'pending')"
    ),
    # Key rotation (otpgate rotate-key): pending keys are re-encrypted like users' keys.
    # The "username" of rotation.reencrypt is the associated data, invitation/<digest>.
    "inv_keys": (
        "SELECT 'invitation/' || digest, pending_key FROM invitations "
        "WHERE pending_key IS NOT NULL ORDER BY digest"
    ),
    "inv_rekey": (
        "UPDATE invitations SET pending_key = :new_key "
        "WHERE 'invitation/' || digest = :username AND pending_key = :old_key"
    ),
}


def _aad(digest: str) -> str:
    return f"invitation/{digest}"


def pending_params(invitation: Invitation, keys: KeyRing) -> dict[str, Any]:
    """The columns an update writes.

    Raises:
        StoreError: a plain-text PIN (SQL stores keep only hashes).
    """
    pin = invitation.pending_pin
    if pin is not None and pin.kind == "plain":
        raise StoreError("refusing to store a plain-text PIN: SQL stores keep only hashes")
    key = invitation.pending_key
    return {
        "status": invitation.status,
        "pending_key": None if key is None else keys.encrypt(key, _aad(invitation.digest)),
        "pending_pin_kind": None if pin is None else pin.kind,
        "pending_pin_value": None if pin is None else pin.value,
    }


def invitation_params(invitation: Invitation, keys: KeyRing) -> dict[str, Any]:
    """Every column of a new invitation (version 1)."""
    params = pending_params(invitation, keys)
    params.update(
        digest=invitation.digest,
        username=invitation.username,
        token_type=str(invitation.token_type),
        t0=invitation.token_type.t0,
        created=invitation.created,
        expires=invitation.expires,
        reset=int(invitation.reset),
        record=invitation.record,
        version=1,
    )
    return params


def row_to_invitation(row: Sequence[Any], keys: KeyRing) -> Invitation:
    """An invitation from a row in :data:`COLUMNS` order.

    Raises:
        StoreError: the row is damaged or its pending key does not decrypt.
    """
    (digest, username, token_type, t0, created, expires, reset, status, key, kind, value) = row[:11]
    record, ver = row[11:]
    try:
        ttype = stored_token_type(token_type, t0)
        pin = None if kind is None else Pin(kind, value or "")
        return Invitation(
            digest=digest,
            username=username,
            token_type=ttype,
            created=float(created),
            expires=float(expires),
            reset=bool(reset),
            status=status,
            pending_key=None if key is None else keys.decrypt(bytes(key), _aad(digest)),
            pending_pin=pin,
            record=record or "",
            version=int(ver),
        )
    except ValueError as exc:
        raise StoreError(f"a stored invitation is damaged: {exc}") from None
