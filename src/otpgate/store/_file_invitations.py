"""Invitations in a users file's sidecar (``<file>.otpgate.json``, key ``invitations``).

The reference layout has no place for them.  They are kept under the same
lock and written atomically with the sidecar, the pending key as hex and the
pending PIN as the users file keeps PINs (the sidecar is mode 0600, like the
users file with its plain keys and PINs).  User entries and invitations are
independent: writing one never changes the other's compare-and-set version.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any, Final

from ..errors import StoreError
from ..invitations import Invitation
from ..models import Pin
from ..tokens import parse_token_type

__all__ = ["KEY", "from_json", "to_json", "version_of"]

KEY: Final = "invitations"


def to_json(invitation: Invitation) -> dict[str, Any]:
    pin = invitation.pending_pin
    return {
        "username": invitation.username,
        "token_type": str(invitation.token_type),
        "created": invitation.created,
        "expires": invitation.expires,
        "reset": invitation.reset,
        "status": invitation.status,
        "pending_key": None if invitation.pending_key is None else invitation.pending_key.hex(),
        "pending_pin": None if pin is None else [pin.kind, pin.value],
    }


def version_of(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()


def from_json(digest: str, entry: Any) -> Invitation:
    """Raises StoreError if the entry is damaged."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ttype = parse_token_type(entry["token_type"], allow_short=True)
        pin = entry.get("pending_pin")
        key = entry.get("pending_key")
        return Invitation(
            digest=digest,
            username=str(entry["username"]),
            token_type=ttype,
            created=float(entry["created"]),
            expires=float(entry["expires"]),
            reset=bool(entry.get("reset", False)),
            status=entry["status"],
            pending_key=None if key is None else bytes.fromhex(key),
            pending_pin=None if pin is None else Pin(pin[0], pin[1]),
            version=version_of(entry),
        )
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise StoreError(f"a stored invitation is damaged ({exc})") from None
