"""Several tokens per user: the SQL stores move each user's one token into ``tokens``.

Each test builds a database at the schema version before the move, with rows
as that version wrote them (tests/store/old_schema.py), opens it with this
otpgate (which migrates), and signs in with the old token's next code: no
login is lost, no used code comes back, and nothing else of the user changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from otpgate.config.auth import AuthSettings
from otpgate.login.authenticator import Authenticator
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import generate
from otpgate.store import Store, _sql, crypto, open_store
from otpgate.store.crypto import KeyRing
from otpgate.store.records import TAG_PREFIX

from . import old_schema

KEY_A = bytes(range(1, 21))
KEY_B = bytes(range(21, 41))
NOW = 1_800_000_000.0
STEP = int(NOW // 30)
PIN = "4711"
BEFORE = _sql.TOKENS_MIGRATION - 1


def sign_in(
    auth: Authenticator, user: str, password: str, ip: str, now: float | None = None
) -> Any:
    """One login through the Authenticator's one entry."""
    return auth.login(auth.attempt(user, password, ip), now=now)


def _rows(keys: KeyRing) -> list[dict[str, Any]]:
    """alice: a TOTP app that last took the code of the step before now;
    bob: a counter token with a serial and a PIN, at counter 7, once failed."""
    last = _sql.otp_tag(keys, "alice", "123456")
    alice = old_schema.old_user(
        keys,
        "alice",
        "HOTP/T30",
        KEY_A,
        last_step=STEP - 1,
        last_otp=last,
        last_auth=NOW - 30,
        last_ip="192.0.2.1",
    )
    pin = FAST_TEST_HASHER.hash(PIN)
    bob = old_schema.old_user(
        keys, "bob", "HOTP/E", KEY_B, pin_kind="hash", pin_value=pin, serial="TOK-1", counter=7
    )
    bob["failures"] = 1
    return [alice, bob]


def _sqlite(tmp_path: Path, key_file: str) -> str:
    path = str(tmp_path / "old.db")
    conn = old_schema.sqlite_at(path, BEFORE)
    for row in _rows(crypto.load_key_file(key_file)):
        conn.execute(old_schema.insert_sql("sqlite"), row)
    conn.execute("INSERT INTO recovery_codes (username, digest) VALUES ('alice', 'd1')")
    conn.execute("INSERT INTO roles (username, role) VALUES ('alice', 'admin')")
    conn.close()
    return f"sqlite:///{path}"


def _postgres(url: str, key_file: str) -> str:
    conn = old_schema.postgres_at(url, BEFORE)
    try:
        for row in _rows(crypto.load_key_file(key_file)):
            conn.execute(old_schema.insert_sql("postgresql"), row)
        conn.execute("INSERT INTO recovery_codes (username, digest) VALUES ('alice', 'd1')")
        conn.execute("INSERT INTO roles (username, role) VALUES ('alice', 'admin')")
    finally:
        conn.close()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_url(request: pytest.FixtureRequest, tmp_path: Path, key_file: str) -> str:
    """A database at the schema before the tokens table, with alice and bob in it."""
    if request.param == "sqlite":
        return _sqlite(tmp_path, key_file)
    return _postgres(request.getfixturevalue("postgres_url"), key_file)


def _login(store: Store) -> Callable[[str, str], Reason]:
    auth = Authenticator(store, AuthSettings(state_ttl=0), clock=lambda: NOW)
    return lambda user, password: sign_in(auth, user, password, "192.0.2.7").reason


def test_each_user_keeps_their_token_and_state(old_url: str, key_file: str) -> None:
    store = open_store(old_url, key_file=key_file)
    try:
        assert store.schema_version() == _sql.MIGRATIONS[-1][0]  # type: ignore[attr-defined]
        alice, bob = store.get("alice"), store.get("bob")
        assert alice is not None and bob is not None
        assert [len(alice.tokens()), len(bob.tokens())] == [1, 1]
        assert (alice.token_type, alice.key) == (parse_token_type("HOTP/T30"), KEY_A)
        assert alice.state.token.last_step == STEP - 1
        assert alice.state.last_otp is not None and alice.state.last_otp.startswith(TAG_PREFIX)
        assert alice.state.last_ip == "192.0.2.1"
        assert (alice.meta.name, alice.meta.last_used) == ("token", NOW - 30)
        assert (bob.serial, bob.meta.name, bob.state.token.counter) == ("TOK-1", "TOK-1", 7)
        assert bob.state.failures == 1 and bob.pin.kind == "hash"
        ids = {alice.meta.id, bob.meta.id}
        assert len(ids) == 2 and all(len(i) >= 8 for i in ids)
        # What hangs off a user stayed with them.
        assert store.count_recovery_codes("alice") == 1
        assert store.get_role("alice") == "admin"
    finally:
        store.close()


def test_the_old_tokens_next_code_signs_in_and_used_codes_stay_used(
    old_url: str, key_file: str
) -> None:
    store = open_store(old_url, key_file=key_file)
    try:
        login = _login(store)
        totp = Token(parse_token_type("HOTP/T30"), KEY_A)
        hotp = Token(parse_token_type("HOTP/E"), KEY_B)
        # A code of the step alice used last is a replay after the move too.
        assert login("alice", generate(totp, now=NOW - 30)) is Reason.REPLAYED
        assert login("alice", generate(totp, now=NOW)) is Reason.OTP
        # bob's counter moved: the code of counter 6 is spent, 7 is next.
        assert login("bob", PIN + generate(hotp, counter=6)) is not Reason.OTP
        assert login("bob", PIN + generate(hotp, counter=7)) is Reason.OTP
        bob = store.get("bob")
        assert bob is not None and bob.state.token.counter == 8 and bob.meta.last_used == NOW
    finally:
        store.close()


def test_the_moved_columns_are_gone_and_keys_stay_encrypted(
    old_url: str, key_file: str, tmp_path: Path
) -> None:
    store = open_store(old_url, key_file=key_file)
    store.close()
    if old_url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(old_url.removeprefix("sqlite:///"))
        columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
        conn.close()
        assert not columns & {"token_type", "key_enc", "counter", "last_step", "serial", "t0"}
        blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
        assert KEY_A not in blob and KEY_B not in blob
    # Opened again: nothing migrates twice.
    again = open_store(old_url, key_file=key_file)
    try:
        assert [len(r.tokens()) for r in again.list_users()] == [1, 1]
    finally:
        again.close()
