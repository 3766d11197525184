"""``otpgate token list|add|rename|remove``: a user's several tokens from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clitools import Runner
from otpgate.config.auth import AuthSettings
from otpgate.login.authenticator import Authenticator
from otpgate.otp.tokens import Token, parse_token_type, parse_uri
from otpgate.otp.verify import generate
from otpgate.store import open_store

KEY = "3132333435363738393031323334353637383930"
SPARE = "00112233445566778899aabbccddeeff00112233"


def sign_in(
    auth: Authenticator, user: str, password: str, ip: str, now: float | None = None
) -> Any:
    """One login through the Authenticator's one entry."""
    return auth.login(auth.attempt(user, password, ip), now=now)


def _ids(run: Runner, db: str, user: str = "alice") -> list[dict[str, object]]:
    r = run("token", "list", user, "--json", "--store", db)
    assert r.code == 0, r.err
    listed: list[dict[str, object]] = json.loads(r.out)
    return listed


def test_add_list_rename_remove(run: Runner, db: str) -> None:
    assert run("user", "add", "alice", "--no-pin", "--key", KEY, "--store", db).code == 0
    [first] = _ids(run, db)
    assert set(first) == {"id", "kind", "name", "created", "last_used"}
    assert (first["kind"], first["name"], first["last_used"]) == ("TOTP", "token", None)
    r = run(
        "token", "add", "alice", "--type", "HOTP", "--key", SPARE, "--name", "spare", "--store", db
    )
    assert r.code == 0, r.err
    assert SPARE not in r.out  # a key given with --key is not echoed unless asked
    listed = _ids(run, db)
    assert [(t["kind"], t["name"]) for t in listed] == [("TOTP", "token"), ("HOTP", "spare")]
    spare_id = str(listed[1]["id"])
    # The table names the same tokens.
    table = run("token", "list", "alice", "--store", db).out
    assert "spare" in table and spare_id in table and table.startswith("ID")
    assert run("token", "rename", "alice", spare_id, "Schrank", "--store", db).code == 0
    assert _ids(run, db)[1]["name"] == "Schrank"
    r = run("token", "remove", "alice", spare_id, "--store", db)
    assert r.code == 0 and "removed" in r.err
    assert [t["id"] for t in _ids(run, db)] == [first["id"]]


def test_a_new_key_is_shown_once_as_user_add_shows_it(run: Runner, db: str) -> None:
    assert run("user", "add", "alice", "--no-pin", "--key", KEY, "--store", db).code == 0
    r = run("token", "add", "alice", "--type", "TOTP", "--issuer", "ACME", "--store", db)
    assert r.code == 0, r.err
    parsed = parse_uri(r.out.splitlines()[0])
    assert parsed.token_type == parse_token_type("HOTP/T30") and parsed.issuer == "ACME"
    assert "only time the secret is shown" in r.err
    # The shown secret signs in beside the first token.
    store = open_store(db)
    try:
        auth = Authenticator(store, AuthSettings())
        code = generate(Token(parsed.token_type, parsed.key), now=1_800_000_000.0)
        assert sign_in(auth, "alice", code, "192.0.2.1", now=1_800_000_000.0).ok
    finally:
        store.close()


def test_never_the_last_token(run: Runner, db: str) -> None:
    assert run("user", "add", "alice", "--no-pin", "--key", KEY, "--store", db).code == 0
    [only] = _ids(run, db)
    r = run("token", "remove", "alice", str(only["id"]), "--store", db)
    assert r.code == 1
    assert "last authenticator" in r.one_line_error()
    assert len(_ids(run, db)) == 1


def test_clear_errors(run: Runner, db: str) -> None:
    assert run("user", "add", "alice", "--no-pin", "--key", KEY, "--store", db).code == 0
    cases = [
        (("token", "list", "bob"), "no user 'bob'"),
        (("token", "remove", "alice", "nope"), "has no token or passkey 'nope'"),
        (("token", "rename", "alice", "nope", "x"), "has no token or passkey 'nope'"),
        (("token", "add", "alice", "--type", "TOTPX"), "HOTP/T30"),
        (("token", "add", "alice", "--type", "TOTP", "--name", "bad\nname"), "control"),
        (("token", "add", "alice", "--type", "TOTP", "--key", "zz"), "hex"),
    ]
    for argv, words in cases:
        r = run(*argv, "--store", db)
        assert r.code == 1, argv
        assert words in r.one_line_error(), (argv, r.err)


def test_the_users_file_refuses_a_second_token(run: Runner, isolated: Path) -> None:
    users = isolated / "users"
    users.write_text(f"HOTP/T30 alice - {KEY}\n")
    users.chmod(0o600)
    url = f"users-file:{users}"
    [only] = _ids(run, url)
    assert only["kind"] == "TOTP"
    r = run("token", "add", "alice", "--type", "HOTP", "--store", url)
    assert r.code == 1 and "one token per user" in r.one_line_error()
    assert users.read_text() == f"HOTP/T30 alice - {KEY}\n"


def test_help_explains(run: Runner) -> None:
    r = run("token", "add", "--help")
    assert r.code == 0 and "--type" in r.out and "users file" in r.out


def test_replace_token_renews_the_first_and_keeps_the_others(run: Runner, db: str) -> None:
    assert run("user", "add", "alice", "--no-pin", "--key", KEY, "--store", db).code == 0
    args = ("token", "add", "alice", "--type", "HOTP", "--key", SPARE, "--name", "spare")
    assert run(*args, "--store", db).code == 0
    first, spare = _ids(run, db)
    r = run("user", "replace-token", "alice", "--key", SPARE[::-1], "--store", db)
    assert r.code == 0, r.err
    # Oldest first: the spare, then the renewed token (created now).
    kept, new_first = _ids(run, db)
    assert new_first["id"] != first["id"] and kept == spare


def test_export_to_a_users_file_skips_a_user_with_two_tokens(
    run: Runner, db: str, isolated: Path
) -> None:
    for name in ("alice", "bob"):
        assert run("user", "add", name, "--no-pin", "--key", KEY, "--store", db).code == 0
    assert run("token", "add", "alice", "--type", "HOTP", "--store", db).code == 0
    target = isolated / "users"
    r = run("export", "--store", db, "--to", f"users-file:{target}")
    assert r.code == 1 and "one token per user" in r.err and "copied 1 of 2" in r.err
    assert "bob" in target.read_text() and "alice" not in target.read_text()
    # Back into a new SQL store, every token travels with its id.
    r = run("import", f"sqlite:///{isolated}/otpgate.db", "--into", f"sqlite:///{isolated}/b.db")
    assert r.code == 0, r.err
    assert _ids(run, f"sqlite:///{isolated}/b.db") == _ids(run, db)
