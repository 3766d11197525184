"""Invitations at rest: only digests and encrypted keys, schema migrations, key rotation.

The contract every backend keeps is in ``contract/test_invitations.py``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from otpgate.errors import StoreError
from otpgate.store import Store, _sql, invitations, open_store
from otpgate.store.records import Pin, UserRecord

from .conftest import SQL, Opener
from .contract.conftest import NOW, SECRET, TOTP, invite, pin_for


@pytest.mark.parametrize("store_url", ["sqlite", "users-file"], indirect=True)
def test_only_the_digest_and_no_plain_key_at_rest(
    opener: Opener, backend: str, tmp_path: Path
) -> None:
    s = opener()
    token, a = invite()
    s.add_invitation(a)
    got = s.get_invitation(a.digest)
    assert got is not None
    s.update_invitation(
        a.digest,
        got.version,
        replace(got, status="pending", pending_key=SECRET, pending_pin=pin_for(backend)),
    )
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert token.encode() not in blob
    if backend == "sqlite":
        assert SECRET not in blob and SECRET.hex().encode() not in blob


def test_postgres_keeps_pending_keys_encrypted(postgres_url: str, key_file: str) -> None:
    import psycopg

    s = open_store(f"{postgres_url}?key_file={key_file}")
    token, a = invite()
    s.add_invitation(a)
    got = s.get_invitation(a.digest)
    assert got is not None
    s.update_invitation(
        a.digest,
        got.version,
        replace(got, status="pending", pending_key=SECRET, pending_pin=Pin("hash", "$x")),
    )
    s.close()
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT digest, pending_key FROM invitations").fetchone()
    assert row is not None and row[0] == a.digest and row[0] != token
    assert SECRET not in bytes(row[1])


@pytest.mark.parametrize("store_url", SQL, indirect=True)
def test_sql_stores_refuse_a_plain_pending_pin(opener: Opener) -> None:
    s = opener()
    _, a = invite()
    s.add_invitation(a)
    got = s.get_invitation(a.digest)
    assert got is not None
    bad = replace(got, status="pending", pending_key=SECRET, pending_pin=Pin("plain", "735191"))
    with pytest.raises(StoreError, match="plain-text PIN"):
        s.update_invitation(a.digest, got.version, bad)


def test_a_version_1_sqlite_file_is_migrated(tmp_path: Path, key_file: str) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in _sql.migration_statements("sqlite", 0)[0][1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    s = open_store(f"sqlite:///{path}", key_file=key_file)
    assert isinstance(s, Store)
    assert s.schema_version() == _sql.MIGRATIONS[-1][0]  # type: ignore[attr-defined]
    _, a = invite()
    s.add_invitation(a)
    assert s.get_invitation(a.digest) == a
    s.close()


def test_reset_links_from_before_the_binding_are_refused(tmp_path: Path, key_file: str) -> None:
    """A schema-4 database: its reset links carry no binding and no longer work; a
    new user's link does."""
    from otpgate.accounts.pin_policy import PinPolicy
    from otpgate.accounts.selfservice import InvitationRefused, SelfService
    from otpgate.login.pins import FAST_TEST_HASHER

    path = tmp_path / "v4.db"
    s = open_store(f"sqlite:///{path}", key_file=key_file)
    s.add(UserRecord("erik", TOTP, SECRET, Pin("none")))
    s.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ALTER TABLE invitations DROP COLUMN record")
    conn.execute("DROP TABLE passkeys")  # newer than version 4 too
    conn.execute("PRAGMA user_version = 4")
    old_reset, reset = invite("erik", reset=True)
    old_new, new = invite("dora")
    for inv in (reset, new):
        conn.execute(
            "INSERT INTO invitations (digest, username, token_type, created, expires, reset, "
            "status, version) VALUES (?, ?, 'HOTP/T30', ?, ?, ?, 'open', 1)",
            (inv.digest, inv.username, inv.created, inv.expires, int(inv.reset)),
        )
    conn.close()
    s = open_store(f"sqlite:///{path}", key_file=key_file)
    assert s.schema_version() == _sql.MIGRATIONS[-1][0]  # type: ignore[attr-defined]
    got = s.get_invitation(reset.digest)
    assert got is not None and got.reset and got.record == ""
    svc = SelfService(s, policy=PinPolicy(), hasher=FAST_TEST_HASHER)
    with pytest.raises(InvitationRefused) as exc:
        svc.open(old_reset, NOW)
    assert exc.value.why == "changed"
    assert svc.open(old_new, NOW).username == "dora"
    s.close()


def test_tokens_and_durations() -> None:
    tokens = {invitations.new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(invitations.token_shape_ok(t) for t in tokens)
    assert not invitations.token_shape_ok("x" * 42)
    assert not invitations.token_shape_ok("../" + "x" * 40)
    assert invitations.digest("a") != invitations.digest("b") and len(invitations.digest("a")) == 64
    assert invitations.parse_duration("7d") == 7 * 86400
    assert invitations.parse_duration("30m") == 1800
    assert invitations.parse_duration("90") == 90
    for bad in ("0", "-1d", "1y", "91d", "", "1.5h", "d"):
        with pytest.raises(ValueError):
            invitations.parse_duration(bad)
    inv = invite()[1]
    assert inv.usable(NOW) and not inv.usable(NOW + 3600)
    assert not inv.with_status("used").usable(NOW) and not inv.with_status("revoked").usable(NOW)
    with pytest.raises(ValueError):
        replace(inv, pending_key=SECRET)


@pytest.mark.parametrize("store_url", SQL, indirect=True)
def test_key_rotation_reencrypts_pending_keys(store_url: str, key_file: str) -> None:
    from otpgate.store import crypto

    s = open_store(store_url)
    _, a = invite()
    s.add_invitation(a)
    got = s.get_invitation(a.digest)
    assert got is not None
    pending = replace(got, status="pending", pending_key=SECRET, pending_pin=Pin("hash", "$x"))
    s.update_invitation(a.digest, got.version, pending)
    s.close()
    crypto.add_key(key_file)
    s2 = open_store(store_url)
    assert s2.reencrypt_keys() == 1  # type: ignore[attr-defined]
    s2.close()
    assert crypto.drop_old_keys(key_file) == [1]
    s3 = open_store(store_url)
    again = s3.get_invitation(a.digest)
    assert again is not None and again.pending_key == SECRET
    s3.close()
