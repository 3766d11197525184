"""The commands issue 13 found missing: replace a token keeping the PIN, rotate the
key file, --json for scripts, recovery-code counts."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from clitools import Runner
from otpgate.otp.tokens import parse_token_type, parse_uri
from otpgate.otp.verify import Token, generate
from otpgate.store import open_store
from otpgate.store.crypto import _read_raw

pytestmark = pytest.mark.usefixtures("isolated")


def _add(run: Runner, db: str, name: str = "alice", pin: str = "4711") -> bytes:
    r = run("user", "add", name, "--store", db, "--pin-stdin", stdin=pin + "\n")
    assert r.code == 0, r.err
    return parse_uri(r.out.splitlines()[0]).key


def _code(key: bytes, now: float, ttype: str = "HOTP/T30") -> str:
    return generate(Token(parse_token_type(ttype), key), now=now)


def test_replace_token_keeps_pin_codes_and_lock(run: Runner, db: str) -> None:
    old = _add(run, db)
    now = time.time()
    assert run("check", "alice", "--store", db, stdin="4711" + _code(old, now)).code == 0
    assert run("user", "recovery-codes", "alice", "-n", "3", "--store", db).code == 0
    r = run("user", "replace-token", "alice", "--store", db, "--type", "HOTP/E")
    assert r.code == 0, r.err
    assert "the PIN is kept" in r.err and "only time the secret is shown" in r.err
    new = parse_uri(r.out.splitlines()[0])
    assert new.key != old and new.token_type.is_event
    # The old token's next code is refused; the new one with the same PIN is accepted.
    assert run("check", "alice", "--store", db, stdin="4711" + _code(old, now + 30)).code == 1
    event = Token(parse_token_type("HOTP/E"), new.key)
    r = run("check", "alice", "--store", db, "-v", stdin="4711" + event.code(0))
    assert r.code == 0, r.err
    show = run("user", "show", "alice", "--store", db)
    assert re.search(r"^recovery codes\s+3 unused$", show.out, re.M), show.out
    assert re.search(r"^type\s+HOTP/E$", show.out, re.M)
    # A lock set by the administrator survives a new token.
    assert run("user", "lock", "alice", "--store", db).code == 0
    assert run("user", "replace-token", "alice", "--store", db).code == 0
    assert "until unlocked" in run("user", "show", "alice", "--store", db).out


def test_replace_token_refusals(run: Runner, db: str) -> None:
    _add(run, db)
    r = run("user", "replace-token", "alice", "--store", db, "--type", "MOTP")
    assert r.code == 1 and r.one_line_error() == (
        "otpgate: alice's PIN is hash; a Mobile-OTP token needs a readable PIN (it is part "
        "of the code): remove the user and add them again"
    )
    assert r.out == ""
    r = run("user", "replace-token", "nobody", "--store", db)
    assert r.code == 1 and r.one_line_error() == f"otpgate: no user 'nobody' in {db}"
    r = run("user", "replace-token", "alice", "--store", db, "--key", "xyz")
    assert r.code == 1 and "hexadecimal" in r.one_line_error()
    r = run("user", "replace-token", "alice", "--store", db, "--pin-stdin")
    assert r.code == 1 and "unrecognized arguments: --pin-stdin" in r.one_line_error()


def test_key_rotate_then_drop_old(run: Runner, db: str, tmp_path: Path) -> None:
    keys = [_add(run, db, f"u{i}") for i in range(3)]
    key_file = tmp_path / "otpgate.db.key"
    assert sorted(_read_raw(str(key_file))) == [1]
    r = run("key", "rotate", "--store", db)
    assert r.code == 0, r.err
    assert f"key 2 added to {key_file}; 3 users re-encrypted" in r.err
    assert sorted(_read_raw(str(key_file))) == [1, 2]
    r = run("key", "rotate", "--store", db, "--drop-old")
    assert r.code == 0 and "old keys removed" in r.err and ": 1, 2" in r.err
    assert sorted(_read_raw(str(key_file))) == [3]
    now = time.time()
    for i, key in enumerate(keys):
        assert run("check", f"u{i}", "--store", db, stdin="4711" + _code(key, now)).code == 0


def test_key_rotate_refusals(run: Runner, tmp_path: Path) -> None:
    users = f"users-file:{tmp_path}/users"
    assert run("init", "--store", users).code == 0
    r = run("key", "rotate", "--store", users)
    assert r.code == 1 and "keeps no encrypted keys" in r.one_line_error()
    r = run("key", "rotate", "--store", f"sqlite:///{tmp_path}/none.db")
    assert r.code == 1 and r.one_line_error().startswith(f"otpgate: no store at {tmp_path}/none.db")
    assert run("key").code == 1


def test_json_for_list_show_and_check(run: Runner, db: str) -> None:
    key = _add(run, db)
    _add(run, db, "bob")
    assert run("user", "lock", "bob", "--store", db).code == 0
    listing = json.loads(run("user", "list", "--store", db, "--json").out)
    assert [u["user"] for u in listing] == ["alice", "bob"]
    assert listing[0]["locked"] is False and listing[0]["last_login"] is None
    assert listing[1]["locked"] is True and listing[1]["locked_until"] is None  # indefinite
    now = time.time()
    r = run("check", "alice", "--store", db, "--json", stdin="4711" + _code(key, now))
    assert r.code == 0 and json.loads(r.out) == {
        "user": "alice",
        "result": "accept",
        "reason": "otp",
    }
    r = run("check", "alice", "--store", db, "--json", stdin="0000" + _code(key, now + 30))
    assert r.code == 1 and json.loads(r.out)["result"] == "reject"
    shown = json.loads(run("user", "show", "alice", "--store", db, "--json").out)
    assert shown["recovery_codes"] == 0 and shown["pin"] == "hash"
    assert shown["last_login"].endswith("Z") and shown["last_address"] == "local"
    assert "drift_steps" in shown and "next_counter" not in shown
    everything = run("user", "show", "alice", "--store", db, "--json").out + json.dumps(listing)
    store = open_store(db)
    try:
        pin_hash = store.get("alice").pin.value
    finally:
        store.close()
    assert key.hex() not in everything and pin_hash not in everything and "4711" not in everything


def test_show_lists_passkeys(run: Runner, db: str) -> None:
    from otpgate.store.passkeys import Passkey

    _add(run, db)
    store = open_store(db)
    try:
        store.add_passkey(  # type: ignore[attr-defined]
            Passkey("Ab3dE9xY", "alice", b"\x01" * 16, b"\xa5", 7, (), "0" * 32, "Laptop", 1.8e9)
        )
    finally:
        store.close()
    shown = json.loads(run("user", "show", "alice", "--store", db, "--json").out)
    assert shown["passkeys"] == [
        {
            "id": "Ab3dE9xY",
            "name": "Laptop",
            "created": "2027-01-15T08:00:00.000Z",
            "last_used": None,
        }
    ]
    text = run("user", "show", "alice", "--store", db).out
    assert re.search(r"passkey Ab3dE9xY\s+Laptop, last used never", text), text
