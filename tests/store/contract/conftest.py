"""What the contract modules share: the backend under test, records, the comparisons.

Every test module here runs each test against every backend (memory, SQLite,
the users file, PostgreSQL) through ``tests/store/conftest.py``'s ``opener``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from otpgate.otp.tokens import parse_token_type
from otpgate.store import UserStore, invitations
from otpgate.store.invitations import Invitation
from otpgate.store.records import Pin, UserRecord, UserState

from ..conftest import BACKENDS, Opener

__all__ = [
    "BACKENDS",
    "HASH_PIN_OK",
    "HOTP",
    "KEY",
    "NOW",
    "PERSISTENT",
    "PLAIN_PIN_OK",
    "SECRET",
    "TOTP",
    "TYPES",
    "Opener",
    "every_backend",
    "invite",
    "kept",
    "pin_for",
    "rec",
    "same",
    "user",
]

every_backend = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
TOTP = parse_token_type("HOTP/T30")
HOTP = parse_token_type("HOTP/E")

# One token type of each kind (the user list filters by kind).
TYPES = {"totp": TOTP, "hotp": HOTP, "motp": parse_token_type("MOTP")}

PLAIN_PIN_OK = {"memory", "users-file"}
HASH_PIN_OK = {"memory", "sqlite", "postgresql"}
PERSISTENT = {"sqlite", "users-file", "postgresql"}

SECRET = bytes.fromhex("00112233445566778899aabbccddeeff01234567")
NOW = 1_800_000_000.0


def user(name: str = "alice", **kw: object) -> UserRecord:
    fields: dict[str, object] = {
        "username": name,
        "token_type": TOTP,
        "key": KEY,
        "pin": Pin("none"),
        "state": UserState(),
    }
    fields.update(kw)
    return UserRecord(**fields)  # type: ignore[arg-type]


def rec(name: str, kind: str = "totp", **state: object) -> UserRecord:
    """A user with a token of ``kind`` (a key that fits it) and ``state``'s fields."""
    return UserRecord(
        name,
        TYPES[kind],
        b"\x11" * 8 if kind == "motp" else KEY,
        Pin("none"),
        UserState(**state),  # type: ignore[arg-type]
    )


def kept(s: UserStore, name: str, state: UserState) -> UserState:
    """``state`` as the store keeps it: the last OTP as ``otp_tag`` (a digest in SQL)."""
    if state.last_otp is None:
        return state
    return replace(state, last_otp=s.otp_tag(name, state.last_otp))


def same(a: UserRecord | None, b: UserRecord) -> None:
    """Equal in everything but the store-owned version."""
    assert a is not None
    assert (a.username, a.token_type, a.key, a.pin, a.state, a.serial) == (
        b.username,
        b.token_type,
        b.key,
        b.pin,
        b.state,
        b.serial,
    )


def invite(
    name: str = "dora", *, reset: bool = False, created: float = NOW
) -> tuple[str, Invitation]:
    """A new link's token and invitation for ``name``, valid for an hour from ``created``."""
    token = invitations.new_token()
    digest = invitations.digest(token)
    # A reset is bound to the record it replaces (here: a record with key SECRET).
    record = invitations.record_binding(SECRET, digest) if reset else ""
    expires = created + 3600
    return token, Invitation(digest, name, TOTP, created, expires, reset=reset, record=record)


def pin_for(backend: str) -> Pin:
    """A pending PIN in the form ``backend`` keeps: plain in the users file, else a hash."""
    return Pin("plain", "735191") if backend == "users-file" else Pin("hash", "$argon2id$fake")
