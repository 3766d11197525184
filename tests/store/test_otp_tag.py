"""SQL stores keep the last OTP as a keyed digest, never in the clear (issue 9, item 3).

Found by attacking it: with read-only access to the database, a 4-digit PIN
fell to its argon2 hash in 107 s, and PIN + the stored ``last_otp`` was then
accepted from another address on any gate process while the code lingered.
The SQL stores now keep ``otp_tag(user, otp)``, an HMAC under a key derived
from the key file; the users file keeps the reference module's plain OTP.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from otpgate.cli import main
from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import generate
from otpgate.store import Store, _sql, open_store, parse_store_url
from otpgate.store.records import Pin, UserRecord, UserState

from .conftest import BACKENDS, SQL, Opener

NOW = 1_700_000_010.0
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"


def _raw(store_url: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run SQL on the database directly, as someone with database access would."""
    kind, target, _ = parse_store_url(store_url)
    if kind == "sqlite":
        with sqlite3.connect(target) as conn:
            return conn.execute(sql, params).fetchall()
    import psycopg

    with psycopg.connect(target, autocommit=True) as pg:
        cur = pg.execute(sql.replace("?", "%s").encode(), params)
        return cur.fetchall() if cur.description is not None else []


def _alice(s: Store) -> None:
    pin = Pin("hash", FAST_TEST_HASHER.hash(PIN))
    s.add(UserRecord("alice", parse_token_type("HOTP/T30"), KEY, pin, UserState()))


@pytest.mark.parametrize("store_url", SQL, indirect=True)
def test_database_access_does_not_give_the_last_otp(store_url: str, opener: Opener) -> None:
    s = opener()
    _alice(s)
    code = generate(s.get("alice").token(), now=NOW)  # type: ignore[union-attr]
    a = Authenticator(s, AuthSettings())
    assert a.login(a.attempt("alice", PIN + code, IP), now=NOW).reason == "otp"
    [(stored,)] = _raw(store_url, "SELECT last_otp FROM users WHERE username = ?", ("alice",))
    assert stored is not None and code not in stored
    assert stored == s.otp_tag("alice", code)

    # The tag still does the stored value's two jobs.  Another process (its
    # own store object) lets the code linger from the stored tag ...
    other = Authenticator(opener(), AuthSettings())
    d = other.login(other.attempt("alice", PIN + code, "198.51.100.2"), now=NOW + 5)
    assert (d.ok, d.reason) == (True, "linger")
    # ... and, once the linger is over, a browser re-sending that code is a
    # replay, not a counted failure.
    late = Authenticator(opener(), AuthSettings())
    assert late.login(late.attempt("alice", PIN + code, IP), now=NOW + 700).reason == "replayed"
    assert s.get("alice").state.failures == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("store_url", SQL, indirect=True)
def test_plain_last_otps_are_migrated(store_url: str, opener: Opener) -> None:
    s = opener()
    _alice(s)
    s.close()
    # A database as an older otpgate left it: the schema before the tags, the
    # last OTP in the clear.
    before = _sql.TAG_MIGRATION - 1
    _raw(store_url, "UPDATE users SET last_otp = ? WHERE username = ?", ("287082", "alice"))
    # Later migrations' tables and indexes did not exist then either.
    for version, statements in _sql.MIGRATIONS:
        for statement in statements if version > before else ():
            m = re.match(r"\s*CREATE (TABLE|INDEX) (\w+)", statement)
            if m:
                _raw(store_url, f"DROP {m.group(1)} IF EXISTS {m.group(2)}")
            m = re.match(r"\s*ALTER TABLE (\w+) ADD COLUMN (\w+)", statement)
            if m:
                _raw(store_url, f"ALTER TABLE {m.group(1)} DROP COLUMN {m.group(2)}")
    if store_url.startswith("sqlite"):
        _raw(store_url, f"PRAGMA user_version = {before}")
    else:
        _raw(store_url, "DELETE FROM schema_migrations WHERE version > ?", (before,))
    s = opener()
    s.ping()  # PostgreSQL connects and migrates on first use
    [(stored,)] = _raw(store_url, "SELECT last_otp FROM users WHERE username = ?", ("alice",))
    assert stored != "287082"
    assert s.get("alice").state.last_otp == stored == s.otp_tag("alice", "287082")  # type: ignore[union-attr]


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_otp_tag_per_backend(store_url: str, opener: Opener) -> None:
    s = opener()
    tag = s.otp_tag("alice", "123456")
    if store_url in ("memory:",) or store_url.startswith("users-file:"):
        # The users file is the reference format: the OTP itself.
        assert tag == "123456"
        return
    assert "123456" not in tag
    # Deterministic for one key file (every gate process computes the same),
    # and bound to the user and the code.
    assert opener().otp_tag("alice", "123456") == tag
    assert s.otp_tag("bob", "123456") != tag
    assert s.otp_tag("alice", "123457") != tag
    # A plain OTP written by any caller is stored as its tag.
    _alice(s)
    rec = s.get("alice")
    assert rec is not None
    s.compare_and_set("alice", rec.version, UserState(last_otp="654321", last_auth=NOW))
    assert s.get("alice").state.last_otp == s.otp_tag("alice", "654321")  # type: ignore[union-attr]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_copying_to_a_users_file_drops_the_tag(
    store_url: str, opener: Opener, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = opener()
    s.add(UserRecord("bob", parse_token_type("HOTP/T30"), KEY, Pin("none"), UserState()))
    code = generate(s.get("bob").token(), now=NOW)  # type: ignore[union-attr]
    auth = Authenticator(s, AuthSettings())
    assert auth.login(auth.attempt("bob", code, IP), now=NOW).ok
    users = tmp_path / "users"
    assert main(["import", store_url, "--into", f"users-file:{users}"]) == 0, capsys.readouterr()
    # The tag means nothing to the reference module: the line has no last OTP,
    # and the used code is still refused (the step is kept).
    line = users.read_text().splitlines()[-1]
    assert "$" not in line and line.split()[1] == "bob"
    copy = open_store(f"users-file:{users}")
    reference = Authenticator(copy, AuthSettings())
    assert reference.login(reference.attempt("bob", code, IP), now=NOW + 1).reason in (
        "replayed",
        "no_match",
    )
    copy.close()


def test_the_rules_compare_and_write_the_tag_never_the_code() -> None:
    # rules.transition is pure: the store's tag function is handed in.
    from dataclasses import replace

    from otpgate.config.auth import AuthSettings as Settings
    from otpgate.login import rules

    record = UserRecord("alice", parse_token_type("HOTP/T30"), KEY, Pin("plain", PIN), UserState())
    code = generate(record.token(), now=NOW)

    def tag(otp: str) -> str:
        return "tag:" + otp[::-1]

    def pin_ok(pin: str) -> bool:
        return pin == PIN

    out = rules.transition(record, PIN + code, IP, NOW, Settings(), pin_ok, otp_tag=tag)
    assert isinstance(out, rules.Outcome) and out.reason == "otp" and out.state is not None
    assert out.state.last_otp == tag(code)
    record = replace(record, state=out.state)
    # Another process: the stored tag lets the code linger ...
    again = rules.transition(record, PIN + code, IP, NOW + 5, Settings(), pin_ok, otp_tag=tag)
    assert isinstance(again, rules.Outcome) and again.reason == "linger"
    # ... and after the linger the re-sent code is a replay, not counted.
    late = rules.transition(record, PIN + code, IP, NOW + 700, Settings(), pin_ok, otp_tag=tag)
    assert isinstance(late, rules.Outcome) and (late.reason, late.counted) == ("replayed", False)
    # Compared as tags: the plain code in the stored field is not the stored tag.
    plain = replace(record, state=replace(record.state, last_otp=code))
    other = rules.transition(plain, PIN + code, IP, NOW + 5, Settings(), pin_ok, otp_tag=tag)
    assert isinstance(other, rules.Outcome) and other.reason != "linger"
