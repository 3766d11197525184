"""The users file's sidecar, ``<file>.otpgate.json``: what a line cannot hold.

One entry per user that needs one: the serial, lock expiry,
``revoked_before``, recovery codes, the role, and (``shadow``) the exact last
step, login time and address, which apply only while the user's line is
byte-identical to the one written with them.  Next to the users, the
invitations (``invitations``, see :mod:`._invitations`).  This module reads
and writes the file and turns a line plus its entry into a record and back;
:mod:`._file` does the locking around it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from typing import Any, Final

from ...errors import StoreError
from ...otp.verify import TokenState
from ..authenticators import MAX_NAME, TokenMeta
from ..records import UserRecord, UserState
from ._io import atomic_write, refuse_open_to_all
from ._lines import Line, dec_float, digest, enc_float, parse_line

__all__ = [
    "INVITATIONS",
    "document",
    "entry_for",
    "invitations_of",
    "parse",
    "put",
    "read",
    "record_of",
    "version_of",
    "write",
]

# Kept when a line is rewritten; left out of the record's version.
_KEPT: tuple[str, ...] = ("recovery_codes", "role")
# The document's key for the invitations, next to "format" and "users".
INVITATIONS: Final = "invitations"


def read(path: str) -> bytes:
    """The sidecar's bytes; empty when there is none.

    Raises:
        StoreError: unreadable, or open to everyone.
    """
    try:
        with open(path, "rb") as f:
            refuse_open_to_all(os.fstat(f.fileno()), path)
            return f.read()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None


def parse(path: str, data: bytes) -> dict[str, dict[str, Any]]:
    """The user entries of the sidecar's bytes ``data`` (read from ``path``).

    Raises:
        StoreError: not a sidecar of a known format.
    """
    if not data:
        return {}
    try:
        doc = json.loads(data)
        users = doc["users"]
        if doc.get("format") != 1 or not isinstance(users, dict):
            raise ValueError("unknown format")
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path} is damaged ({exc}); fix or remove it") from None
    return users


def invitations_of(path: str, data: bytes) -> dict[str, Any]:
    """The invitations of the sidecar's bytes ``data`` (read from ``path``), by digest.

    Read only when asked for, so that damaged invitations never stop a login.

    Raises:
        StoreError: the invitations are damaged.
    """
    if not data:
        return {}
    found = json.loads(data).get(INVITATIONS, {})
    if not isinstance(found, dict):
        raise StoreError(f"{path}: damaged invitations; fix or remove them")
    return found


def document(
    path: str, users: dict[str, dict[str, Any]], invitations: dict[str, Any]
) -> dict[str, Any] | None:
    """The sidecar's document; ``None`` if there is nothing to keep and no file at ``path``."""
    if not users and not invitations and not os.path.exists(path):
        return None
    doc: dict[str, Any] = {"format": 1, "users": {n: users[n] for n in sorted(users)}}
    if invitations:
        doc[INVITATIONS] = invitations
    return doc


def write(path: str, doc: dict[str, Any], users_file: os.stat_result) -> None:
    """Replace the sidecar atomically with ``doc``.

    A new sidecar gets the users file's owner, but never more than mode 0600;
    an existing one keeps its own.
    """
    data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
    try:
        like: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        like = None
    if like is None:
        like = os.stat_result((stat.S_IFREG | 0o600, *users_file[1:]))
    atomic_write(path, data, like)


def put(sidecar: dict[str, dict[str, Any]], username: str, entry: dict[str, Any]) -> None:
    """Set the user's entry in ``sidecar``; an empty entry removes it."""
    if entry:
        sidecar[username] = entry
    else:
        sidecar.pop(username, None)


def entry_for(
    old: dict[str, Any], line: bytes, rec_state: UserState, serial: str | None
) -> dict[str, Any]:
    """The sidecar entry to keep next to ``line``: only what the line cannot say."""
    entry = {k: v for k, v in old.items() if k in _KEPT}
    if serial is not None:
        entry["serial"] = serial
    if rec_state.locked_until is not None:
        entry["locked_until"] = enc_float(rec_state.locked_until)
    if rec_state.revoked_before is not None:
        entry["revoked_before"] = enc_float(rec_state.revoked_before)
    parsed = parse_line(0, line).entry
    assert parsed is not None
    derived = parsed.derived_state()
    wanted = (rec_state.token.last_step, rec_state.last_auth, rec_state.last_ip)
    if (derived.token.last_step, derived.last_auth, derived.last_ip) != wanted:
        entry["shadow"] = {
            "line": digest(line),
            "last_step": rec_state.token.last_step,
            "last_auth": enc_float(rec_state.last_auth),
            "last_ip": rec_state.last_ip,
        }
    return entry


def version_of(line: Line, side: dict[str, Any]) -> str:
    """The record's compare-and-set version: its line and sidecar entry."""
    # Recovery codes are left out: consuming one must not fail a login.
    relevant = {k: v for k, v in side.items() if k not in _KEPT}
    blob = line.raw + b"\x00" + json.dumps(relevant, sort_keys=True).encode()
    return digest(blob)


def record_of(line: Line, side: dict[str, Any]) -> UserRecord:
    """The record of a parsed line and its sidecar entry ``side``."""
    entry = line.entry
    assert entry is not None
    state = entry.derived_state()
    shadow = side.get("shadow")
    if isinstance(shadow, dict) and shadow.get("line") == digest(line.raw):
        # The line is the one written together with these exact values.
        state = UserState(
            token=TokenState(state.token.counter, shadow.get("last_step")),
            failures=state.failures,
            last_otp=state.last_otp,
            last_auth=dec_float(shadow.get("last_auth")),
            last_ip=shadow.get("last_ip"),
        )
    state = UserState(
        token=state.token,
        failures=state.failures,
        last_otp=state.last_otp,
        last_auth=state.last_auth,
        last_ip=state.last_ip,
        locked_until=dec_float(side.get("locked_until")),
        revoked_before=dec_float(side.get("revoked_before")),
    )
    return UserRecord(
        username=entry.username,
        token_type=entry.token_type,
        key=entry.key,
        pin=entry.pin,
        state=state,
        serial=side.get("serial"),
        version=version_of(line, side),
        meta=file_token_meta(entry.username, side.get("serial"), state),
    )


def file_token_meta(username: str, serial: str | None, state: UserState) -> TokenMeta:
    """The one token of a line: an id made from the user name (the same in every
    process, unlike a random one the file has no room for), named after its serial."""
    raw = hashlib.sha256(b"otpgate-token\0" + username.encode("utf-8", "surrogateescape"))
    token_id = base64.urlsafe_b64encode(raw.digest()[:8]).decode().rstrip("=")
    name = serial[:MAX_NAME] if serial else "token"
    return TokenMeta(id=token_id, name=name, last_used=state.last_auth, last_otp=state.last_otp)
