"""``user add --admin``, ``user set-role``, and the admin audit line of every CLI change."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from otpgate.otp.algorithms import hotp
from otpgate.otp.tokens import parse_uri
from otpgate.store import open_store


def admin_lines(audit: Path) -> list[dict[str, Any]]:
    if not audit.exists():
        return []
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    return [x for x in lines if x.get("kind") == "admin"]


def test_the_first_administrator_is_made_at_the_terminal(env: tuple[Any, Path, str]) -> None:
    run, audit, db = env
    code, _out, err = run("user", "add", "root", "--admin", "--pin-stdin", stdin="4711\n")
    assert code == 0 and "as an administrator" in err
    assert run("user", "add", "alice", "--pin-stdin", stdin="7351\n")[0] == 0
    assert run("user", "set-role", "alice", "admin")[0] == 0
    assert run("user", "set-role", "alice", "user")[0] == 0
    code, _, err = run("user", "set-role", "nobody", "admin")
    assert code != 0 and "no user 'nobody'" in err and "Traceback" not in err
    code, _, err = run("user", "set-role", "alice", "root")
    assert code != 0 and "Traceback" not in err
    store = open_store(db)
    assert store.get_role("root") == "admin" and store.get_role("alice") == "user"
    store.close()
    got = [(x["action"], x["user"], x.get("detail")) for x in admin_lines(audit)]
    assert got == [
        ("add", "root", "HOTP/T30, administrator"),
        ("add", "alice", "HOTP/T30"),
        ("set_role", "alice", "user -> admin"),
        ("set_role", "alice", "admin -> user"),
    ]
    assert all(x["via"] == "cli" and x["actor"] == getpass.getuser() for x in admin_lines(audit))
    assert "4711" not in audit.read_text() and "7351" not in audit.read_text()


def test_every_changing_command_is_audited_without_secrets(env: tuple[Any, Path, str]) -> None:
    run, audit, _ = env
    code, out, _ = run("user", "add", "bob", "--type", "HOTP/E", "--pin-stdin", stdin="7351\n")
    key = parse_uri(out.splitlines()[0]).key
    assert run("user", "lock", "bob")[0] == 0
    assert run("user", "unlock", "bob")[0] == 0
    assert run("user", "resync", "bob", hotp(key, 30), hotp(key, 32))[0] != 0
    assert run("user", "resync", "bob", hotp(key, 30), hotp(key, 31))[0] == 0
    assert run("user", "set-pin", "bob", "--pin-stdin", stdin="58213\n")[0] == 0
    code, codes, _ = run("user", "recovery-codes", "bob")
    assert code == 0
    assert run("user", "remove", "bob")[0] == 0
    got = [(x["action"], x["result"]) for x in admin_lines(audit)]
    assert got == [
        ("add", "ok"),
        ("lock", "ok"),
        ("unlock", "ok"),
        ("resync", "refused"),
        ("resync", "ok"),
        ("set_pin", "ok"),
        ("recovery_codes", "ok"),
        ("remove", "ok"),
    ]
    text = audit.read_text()
    for secret in [key.hex(), "58213", "7351", hotp(key, 30), hotp(key, 31), *codes.split()]:
        assert secret not in text
