"""A store of TOTP users and the otpgate.toml naming it, for front-end tests.

FreeRADIUS, PAM and OpenSSH tests start real servers that load otpgate from
an otpgate.toml; this writes one with an SQLite store (argon2-hashed PINs at a
test cost), an audit log, and whatever ``[auth]`` lines a test adds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import TokenType
from otpgate.store import open_store
from otpgate.store.crypto import create_key_file
from otpgate.store.records import Pin, UserRecord


def key_of(name: str) -> bytes:
    """Each user's TOTP key (20 bytes, derived from the name)."""
    return f"frontend-test-{name:>8}".encode()[:20].ljust(20, b"k")


def code(name: str, offset_steps: int = 0) -> str:
    """The user's current code, or one ``offset_steps`` periods away."""
    return totp(key_of(name), time.time() + 30 * offset_steps)


def make_gate(directory: Path, pins: dict[str, str], auth: Iterable[str] = ()) -> Path:
    """Users with these PINs in ``directory``/otpgate.db; returns the otpgate.toml."""
    db, key_file = directory / "otpgate.db", directory / "otpgate.key"
    create_key_file(key_file)
    store = open_store(f"sqlite:///{db}", key_file=str(key_file))
    try:
        for name, pin in pins.items():
            hashed = Pin("hash", FAST_TEST_HASHER.hash(pin))
            store.add(UserRecord(name, TokenType("HOTP", 30, 6), key_of(name), hashed))
    finally:
        store.close()
    config = directory / "otpgate.toml"
    lines = [f'audit_log = "{directory}/audit.log"', *auth]
    config.write_text(
        f'[store]\nurl = "sqlite:///{db}"\nkey_file = "{key_file}"\n\n[auth]\n'
        + "\n".join(lines)
        + "\n"
    )
    return config


def audit(directory: Path, user: str) -> list[dict[str, object]]:
    """The audit log's entries for one user."""
    path = directory / "audit.log"
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [e for e in entries if e["user"] == user]
