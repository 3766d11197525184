"""SQLite and PostgreSQL specifics: encryption at rest, schema versions, rotation."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from otpgate.errors import ConfigError, StoreError
from otpgate.otp.tokens import parse_token_type
from otpgate.store import _sql, crypto, open_store, rotate_keys
from otpgate.store.postgres import PostgresStore
from otpgate.store.records import Pin, UserRecord
from otpgate.store.sqlite import SQLiteStore

from .conftest import SQL

SECRET = bytes.fromhex("3132333435363738393031323334353637383930")


def rec(name: str, key: bytes = SECRET) -> UserRecord:
    return UserRecord(name, parse_token_type("HOTP/T30"), key, Pin("none"))


@pytest.fixture(params=SQL)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path, key_file: str) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'otpgate.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def raw_sql(sql_url: str) -> Iterator[object]:
    """Run SQL directly, behind the store's back."""
    if sql_url.startswith("sqlite"):
        conn = sqlite3.connect(sql_url.removeprefix("sqlite:///"), isolation_level=None)

        def run(q: str) -> list[tuple[object, ...]]:
            return conn.execute(q).fetchall()

        yield run
        conn.close()
    else:
        with psycopg.connect(sql_url, autocommit=True) as pconn:

            def prun(q: str) -> list[tuple[object, ...]]:
                cur = pconn.execute(q.encode())
                return cur.fetchall() if cur.description else []

            yield prun


def test_keys_are_encrypted_and_bound_to_their_user(
    sql_url: str, key_file: str, raw_sql: object
) -> None:
    s = open_store(sql_url, key_file=key_file)
    s.add(rec("alice"))
    s.add(rec("bob", key=b"\x07" * 20))
    run = raw_sql
    assert callable(run)
    rows = dict(run("SELECT username, key_enc FROM users"))
    assert all(SECRET not in bytes(v) for v in rows.values())  # type: ignore[arg-type]
    # A ciphertext moved onto another user's row does not decrypt.
    run(
        "UPDATE users SET key_enc = (SELECT key_enc FROM users WHERE username = 'bob') "
        "WHERE username = 'alice'"
    )
    with pytest.raises(StoreError, match="alice"):
        s.get("alice")
    bob = s.get("bob")
    assert bob is not None and bob.key == b"\x07" * 20
    s.close()


def test_rotation_reencrypts_every_row(sql_url: str, key_file: str) -> None:
    s = open_store(sql_url, key_file=key_file)
    for i in range(5):
        s.add(rec(f"u{i}", key=bytes([i]) * 20))
    s.close()
    assert crypto.add_key(key_file) == 2
    s2 = open_store(sql_url, key_file=key_file)
    assert isinstance(s2, SQLiteStore | PostgresStore)
    s2.add(rec("new", key=b"\x09" * 20))  # written with key 2 already
    assert s2.reencrypt_keys() == 5
    assert s2.reencrypt_keys() == 0
    s2.close()
    assert crypto.drop_old_keys(key_file) == [1]
    s3 = open_store(sql_url, key_file=key_file)
    assert {r.username: r.key for r in s3.list_users()} == {
        **{f"u{i}": bytes([i]) * 20 for i in range(5)},
        "new": b"\x09" * 20,
    }
    s3.close()


def test_schema_is_versioned_and_newer_schemas_are_refused(
    sql_url: str, key_file: str, raw_sql: object
) -> None:
    s = open_store(sql_url, key_file=key_file)
    assert isinstance(s, SQLiteStore | PostgresStore)
    assert s.schema_version() == _sql.MIGRATIONS[-1][0] == 6  # 6: passkeys
    s.add(rec("alice"))
    s.close()
    run = raw_sql
    assert callable(run)
    if sql_url.startswith("sqlite"):
        run("PRAGMA user_version = 99")
    else:
        run("INSERT INTO schema_migrations (version) VALUES (99)")
    # SQLite migrates on open, PostgreSQL on first use: either way, refused.
    with pytest.raises(StoreError, match="upgrade otpgate"):
        open_store(sql_url, key_file=key_file).ping()


def test_reopening_keeps_data_and_does_not_migrate_twice(sql_url: str, key_file: str) -> None:
    s = open_store(sql_url, key_file=key_file)
    s.add(rec("alice"))
    s.close()
    s = open_store(sql_url, key_file=key_file)
    assert s.get("alice") is not None
    s.close()


def test_sqlite_files_are_private_whatever_the_umask(tmp_path: Path, key_file: str) -> None:
    old = os.umask(0o022)
    try:
        db = tmp_path / "otpgate.db"
        s = open_store(f"sqlite:///{db}", key_file=key_file)
        s.add(rec("alice"))
        names = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in names)
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in names} == {
            p.name: 0o600 for p in names
        }
        journal = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()
        assert journal == ("wal",)
        s.close()
    finally:
        os.umask(old)


def test_sqlite_one_connection_per_thread(tmp_path: Path, key_file: str) -> None:
    s = open_store(f"sqlite:///{tmp_path / 'a.db'}", key_file=key_file)
    s.add(rec("alice"))
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(20):
                while True:
                    cur = s.get("alice")
                    assert cur is not None
                    new = cur.state.__class__(failures=cur.state.failures + 1)
                    if s.compare_and_set("alice", cur.version, new) is not None:
                        break
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = s.get("alice")
    assert final is not None and final.state.failures == 160  # no lost update
    s.close()


def test_postgres_instances_starting_together_migrate_once(
    postgres_url: str, key_file: str
) -> None:
    stores = [open_store(postgres_url, key_file=key_file) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def start(s: object) -> None:
        try:
            barrier.wait()
            assert hasattr(s, "ping")
            s.ping()
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
    assert sorted(rows) == [(v,) for v, _ in _sql.MIGRATIONS]
    for s in stores:
        s.close()


def test_running_instances_follow_a_rotation(sql_url: str, key_file: str) -> None:
    running = open_store(sql_url, key_file=key_file)  # loaded key 1 only
    running.add(rec("alice"))
    assert rotate_keys(sql_url, key_file=key_file) == (2, 1)
    # alice is now encrypted with key 2, which this instance learns from the file.
    alice = running.get("alice")
    assert alice is not None and alice.key == SECRET
    running.add(rec("bob"))  # and it writes with the newest key from now on
    assert crypto.drop_old_keys(key_file) == [1]
    fresh = open_store(sql_url, key_file=key_file)
    assert {r.username for r in fresh.list_users()} == {"alice", "bob"}
    fresh.close()
    running.close()


def test_rotation_needs_an_encrypting_store() -> None:
    with pytest.raises(ConfigError, match="nothing to rotate"):
        rotate_keys("memory:")


def test_a_forked_child_uses_its_own_connections(sql_url: str, key_file: str) -> None:
    s = open_store(sql_url, key_file=key_file)
    s.add(rec("alice"))
    assert s.get("alice") is not None  # the parent has a live connection now

    def connection() -> object:
        # White-box: the object that carries this process's queries.
        return s._conn() if isinstance(s, SQLiteStore) else s._get_pool()  # type: ignore[union-attr]

    parents = connection()
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        code = 1
        try:
            cur = s.get("alice")
            ok = cur is not None and s.compare_and_set("alice", cur.version, cur.state)
            code = 0 if ok and connection() is not parents else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's connection still works after the child used the store.
    cur = s.get("alice")
    assert cur is not None and cur.version == 2
    s.close()


def test_the_passkeys_migration_keeps_every_user(
    sql_url: str, key_file: str, raw_sql: object
) -> None:
    """A schema-5 database with real rows gains the passkeys table; no login is lost."""
    from dataclasses import replace

    from otpgate.otp.verify import TokenState
    from otpgate.store.passkeys import Passkey
    from otpgate.store.records import UserState

    s = open_store(sql_url, key_file=key_file)
    state = UserState(token=TokenState(0, 55), last_auth=1.0e9, last_ip="192.0.2.1")
    s.add(replace(rec("alice"), state=state))
    s.add(rec("bob", key=b"\x07" * 20))
    s.set_recovery_codes("alice", ["d1"])
    before = {name: s.get(name) for name in ("alice", "bob")}
    s.close()
    run = raw_sql
    assert callable(run)
    run("DROP TABLE passkeys")  # back to schema 5, as the previous release left it
    if sql_url.startswith("sqlite"):
        run("PRAGMA user_version = 5")
    else:
        run("DELETE FROM schema_migrations WHERE version > 5")
    s = open_store(sql_url, key_file=key_file)
    try:
        for name, record in before.items():
            got = s.get(name)
            assert got is not None and record is not None
            assert (got.key, got.state, got.pin) == (record.key, record.state, record.pin)
        assert s.consume_recovery_code("alice", "d1")
        pk = Passkey("p1", "bob", b"\x01" * 16, b"\xa5", 0, (), "0" * 32, "Key", 1.0e9)
        s.add_passkey(pk)  # type: ignore[attr-defined]
        assert s.passkeys("bob") == [pk]  # type: ignore[attr-defined]
        assert s.schema_version() == _sql.MIGRATIONS[-1][0]  # type: ignore[attr-defined]
    finally:
        s.close()
