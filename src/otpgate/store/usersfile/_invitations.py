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
from dataclasses import replace
from typing import Any

from ...errors import StoreError
from ..invitations import LIVE, Invitation
from ..records import Pin, stored_token_type
from . import _sidecar as sidecar_file
from ._file import Snapshot, UsersFile
from ._io import locked

__all__ = ["FileInvitations", "from_json", "revoked_for", "to_json", "version_of"]


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
        "record": invitation.record,
    }


def version_of(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()


def from_json(digest: str, entry: Any) -> Invitation:
    """Raises StoreError if the entry is damaged."""
    try:
        ttype = stored_token_type(entry["token_type"])
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
            record=str(entry.get("record", "")),
            version=version_of(entry),
        )
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise StoreError(f"a stored invitation is damaged ({exc})") from None


def revoked_for(invitations: dict[str, Any], username: str) -> bool:
    """Revoke ``username``'s live invitations in ``invitations`` (a removal); any found?"""
    found = False
    for digest, entry in invitations.items():
        mine = isinstance(entry, dict) and entry.get("username") == username
        if mine and entry.get("status") in LIVE:
            invitations[digest] = to_json(from_json(digest, entry).revoked())
            found = True
    return found


class FileInvitations(UsersFile):
    """The InvitationStore protocol for :class:`~._store.UsersFileStore`."""

    def _invitations(self, snap: Snapshot) -> dict[str, Any]:
        """The sidecar's invitations as read with ``snap`` (call with the lock held)."""
        return sidecar_file.invitations_of(self.sidecar_path, snap.sidecar_data)

    def add_invitation(self, invitation: Invitation) -> None:
        with locked(self.lock_path, True):
            snap = self._snapshot()
            invitations = self._invitations(snap)
            if invitation.digest in invitations:
                raise StoreError("an invitation with this token exists")
            invitations[invitation.digest] = to_json(invitation)
            self._write_sidecar(snap.sidecar, snap, invitations)
            self._cache = None

    def get_invitation(self, digest: str) -> Invitation | None:
        entry = self._invitations(self._read_snapshot()).get(digest)
        return None if entry is None else from_json(digest, entry)

    def list_invitations(self) -> list[Invitation]:
        found = self._invitations(self._read_snapshot())
        return sorted(
            (from_json(d, e) for d, e in found.items()), key=lambda i: (i.created, i.digest)
        )

    def update_invitation(
        self, digest: str, expected_version: object, invitation: Invitation
    ) -> Invitation | None:
        with locked(self.lock_path, True):
            snap = self._snapshot()
            invitations = self._invitations(snap)
            entry = invitations.get(digest)
            if entry is None or version_of(entry) != expected_version:
                return None
            new = replace(
                from_json(digest, entry),
                status=invitation.status,
                pending_key=invitation.pending_key,
                pending_pin=invitation.pending_pin,
            )
            invitations[digest] = to_json(new)
            self._write_sidecar(snap.sidecar, snap, invitations)
            self._cache = None
            return from_json(digest, invitations[digest])
