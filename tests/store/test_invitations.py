"""Invitations in every store: the contract, secrecy at rest, schema migration."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from otpgate.errors import StoreError
from otpgate.otp.tokens import parse_token_type
from otpgate.store import Store, _sql, invitations, open_store
from otpgate.store.invitations import Invitation
from otpgate.store.records import Pin, UserRecord

from .conftest import BACKENDS, SQL, Opener

TOTP = parse_token_type("HOTP/T30")
SECRET = bytes.fromhex("00112233445566778899aabbccddeeff01234567")
NOW = 1_800_000_000.0


def invite(
    name: str = "dora", *, reset: bool = False, created: float = NOW
) -> tuple[str, Invitation]:
    token = invitations.new_token()
    digest = invitations.digest(token)
    # A reset is bound to the record it replaces (here: a record with key SECRET).
    record = invitations.record_binding(SECRET, digest) if reset else ""
    expires = created + 3600
    return token, Invitation(digest, name, TOTP, created, expires, reset=reset, record=record)


def pin_for(backend: str) -> Pin:
    # What each store keeps: plain PINs in the users file, hashes in SQL.
    return Pin("plain", "735191") if backend == "users-file" else Pin("hash", "$argon2id$fake")


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.node.callspec.params["store_url"]
    return name


pytestmark_all = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)


@pytestmark_all
def test_round_trip_and_list(opener: Opener) -> None:
    s = opener()
    _, a = invite("dora")
    _, b = invite("erik", reset=True, created=NOW + 1)
    s.add_invitation(a)
    s.add_invitation(b)
    got = s.get_invitation(a.digest)
    assert got == a and got is not None and got.version is not None
    assert [i.username for i in s.list_invitations()] == ["dora", "erik"]
    assert s.list_invitations()[1].reset is True
    assert s.list_invitations()[1].record == b.record != ""
    assert s.get_invitation(invitations.digest(invitations.new_token())) is None
    # Survives reopening (the memory store "reopens" to itself).
    assert opener().get_invitation(b.digest) == b


@pytestmark_all
def test_a_digest_is_unique(opener: Opener) -> None:
    s = opener()
    _, a = invite()
    s.add_invitation(a)
    with pytest.raises(StoreError):
        s.add_invitation(replace(a, username="mallory"))
    assert s.get_invitation(a.digest) == a


@pytestmark_all
def test_update_is_compare_and_set(opener: Opener, backend: str) -> None:
    s = opener()
    _, a = invite()
    s.add_invitation(a)
    first = s.get_invitation(a.digest)
    assert first is not None
    pending = replace(first, status="pending", pending_key=SECRET, pending_pin=pin_for(backend))
    new = s.update_invitation(a.digest, first.version, pending)
    assert new is not None and new.status == "pending"
    assert new.pending_key == SECRET and new.pending_pin == pin_for(backend)
    assert new.version != first.version
    # The old version no longer wins: a second confirmation of one link fails.
    assert s.update_invitation(a.digest, first.version, first.with_status("used")) is None
    assert s.update_invitation(a.digest, new.version, new.with_status("used")) is not None
    assert s.update_invitation(a.digest, new.version, new.with_status("used")) is None
    got = s.get_invitation(a.digest)
    assert got is not None and got.status == "used" and got.pending_key == SECRET
    assert s.update_invitation("0" * 64, 1, a) is None
    assert s.update_invitation(a.digest, True, a) is None


@pytestmark_all
def test_concurrent_confirmations_one_wins(opener: Opener) -> None:
    s = opener()
    _, a = invite()
    s.add_invitation(a)
    current = s.get_invitation(a.digest)
    assert current is not None
    results: list[object] = []
    barrier = threading.Barrier(6)

    def confirm() -> None:
        store = opener()
        barrier.wait()
        results.append(
            store.update_invitation(a.digest, current.version, current.with_status("used"))
        )

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1


@pytestmark_all
def test_invitations_and_users_do_not_disturb_each_other(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(
        UserRecord("dora", TOTP, SECRET, pin_for(backend) if backend != "memory" else Pin("none"))
    )
    before = s.get("dora")
    assert before is not None
    _, a = invite("dora", reset=True)
    s.add_invitation(a)
    got = s.get_invitation(a.digest)
    assert got is not None
    s.update_invitation(a.digest, got.version, got.with_status("revoked"))
    after = s.get("dora")
    assert after is not None and after.version == before.version
    # A user write keeps the invitations.
    assert s.compare_and_set("dora", after.version, after.state) is not None
    s.set_recovery_codes("dora", ["ab" * 32])
    again = s.get_invitation(a.digest)
    assert again is not None and again.status == "revoked"


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
    assert s.schema_version() == 5  # type: ignore[attr-defined]
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
