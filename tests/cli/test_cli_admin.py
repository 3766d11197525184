"""The admin CLI, in process: every command, its bad input, and ``check`` end to end."""

from __future__ import annotations

import re
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from otpgate.cli import _secrets
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.keys import encode_base32
from otpgate.otp.tokens import parse_uri
from otpgate.otp.verify import Token, generate
from otpgate.store import open_store
from procs import OTPGATE, otpgate_env

pytestmark = pytest.mark.usefixtures("isolated")


def add_user(run: Any, db: str, name: str = "alice", pin: str = "4711", *extra: str) -> bytes:
    r = run("user", "add", name, "--store", db, "--pin-stdin", *extra, stdin=pin + "\n")
    assert r.code == 0, r.err
    return parse_uri(r.out.splitlines()[0]).key


def code_for(key: bytes, now: float | None = None, ttype: str = "HOTP/T30") -> str:
    from otpgate.otp.tokens import parse_token_type

    return generate(Token(parse_token_type(ttype), key), now=time.time() if now is None else now)


# --- init ------------------------------------------------------------------------------------


def test_init_creates_private_store_and_key_file(run: Any, tmp_path: Path) -> None:
    r = run("init")  # the default store: $OTPGATE_HOME/otpgate.db
    assert r.code == 0, r.err
    for name in ("otpgate.db", "otpgate.db.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    key_before = (tmp_path / "otpgate.db.key").read_bytes()
    r = run("init")
    assert r.code == 0 and "keeping it" in r.err
    assert (tmp_path / "otpgate.db.key").read_bytes() == key_before


def test_init_users_file_and_env_store(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTPGATE_STORE", f"users-file:{tmp_path}/users")
    assert run("init").code == 0
    assert stat.S_IMODE((tmp_path / "users").stat().st_mode) == 0o600
    r = run("user", "add", "bob", "--no-pin", "--type", "HOTP/E")
    assert r.code == 0, r.err
    assert "bob" in (tmp_path / "users").read_text()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://nobody@127.0.0.1:1/x",
            "otpgate: a PostgreSQL store needs a key file for its OTP keys: give --key-file PATH",
        ),
        ("ftp://x", "otpgate: store URL 'ftp://x': unknown kind 'ftp:'; expected one of: "),
        (
            "sqlite://host/x.db",
            "otpgate: store URL 'sqlite://host/x.db': an SQLite URL has no host",
        ),
        ("", "otpgate: the store URL is empty; expected one of: "),
        (" sqlite:///x", "otpgate: store URL ' sqlite:///x' has surrounding spaces or a NUL byte"),
    ],
)
def test_init_bad_urls(run: Any, tmp_path: Path, url: str, message: str) -> None:
    r = run("init", "--store", url)
    assert r.code == 1
    assert r.one_line_error().startswith(message)
    assert list(tmp_path.iterdir()) == []  # nothing half-made


# --- user add --------------------------------------------------------------------------------


def test_add_prints_uri_once_and_show_reveals_no_secret(run: Any, db: str) -> None:
    r = run(
        "user", "add", "alice", "--store", db, "--pin-stdin", "--issuer", "Acme", stdin="s3cret\n"
    )
    assert r.code == 0, r.err
    uri = r.out.splitlines()[0]
    parsed = parse_uri(uri)
    assert parsed.issuer == "Acme" and parsed.account == "alice" and len(parsed.key) == 20
    assert "only time" in r.err
    show = run("user", "show", "alice", "--store", db)
    listing = run("user", "list", "--store", db)
    for text in (show.out + show.err, listing.out + listing.err):
        assert "s3cret" not in text
        assert encode_base32(parsed.key) not in text and parsed.key.hex() not in text
        assert "argon2" not in text
    assert "pin" in show.out and "hash" in show.out
    assert listing.out.splitlines()[0].split()[:3] == ["USER", "TYPE", "SERIAL"]
    assert "alice" in listing.out and "never" in listing.out
    store = open_store(db)
    try:
        pin = store.get("alice").pin  # a PIN in a SQL store is hashed
        assert pin.kind == "hash" and FAST_TEST_HASHER.verify(pin.value, "s3cret")
    finally:
        store.close()


def test_add_with_given_keys(run: Any, db: str) -> None:
    key = "3132333435363738393031323334353637383930"
    r = run("user", "add", "k1", "--store", db, "--no-pin", "--key", key)
    assert r.code == 0 and r.out == ""  # a given key is not echoed back
    r = run(
        "user", "add", "k2", "--store", db, "--no-pin", "--key", "-", "--show-uri", stdin=key + "\n"
    )
    assert r.code == 0 and parse_uri(r.out.strip()).key.hex() == key
    r = run(
        "user",
        "add",
        "k3",
        "--store",
        db,
        "--no-pin",
        "--base32",
        "--key",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    )
    assert r.code == 0, r.err
    r = run("user", "add", "k4", "--store", db, "--no-pin", "--key", "00112233445566778899aabb")
    assert r.code == 0 and "recommended" in r.err  # 96 bits: a warning
    store = open_store(db)
    try:
        assert store.get("k1").key.hex() == key
        assert store.get("k3").key == bytes.fromhex(key)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (["--no-pin", "--key", "xyz"], "", "hex"),
        (["--no-pin", "--key", "0011223344"], "", "bits"),
        (["--no-pin", "--type", "HOTP/Q"], "", "token type"),
        (["--no-pin", "--type", "HOTP/T30/4"], "", "digits"),
        (["--no-pin", "--algorithm", "MD5"], "", "algorithm"),
        (["--pin-stdin"], "", "end of input"),
        (["--pin-stdin"], "\n", "empty"),
        (["--pin-stdin"], "a b\n", "spaces"),
        (["--pin-stdin"], "-\n", "'-'"),
        (["--pin-stdin"], "x" * 200 + "\n", "longer"),
        ([], "", "no PIN source"),
        (["--no-pin", "--type", "MOTP", "--pin-delegated"], "", "not allowed"),
        (["--pin-stdin", "--type", "MOTP"], "8306\n", "Mobile-OTP"),
        (["--no-pin", "--qr-out", "x.gif"], "", ".png or .svg"),
        (["--no-pin", "--qr-out", "/nonexistent/dir/x.png"], "", "no directory"),
        (["--no-pin", "--unknown"], "", "unrecognized"),
    ],
)
def test_add_bad_input(run: Any, db: str, args: list[str], stdin: str, needle: str) -> None:
    r = run("user", "add", "bob", "--store", db, *args, stdin=stdin)
    assert r.code == 1  # 2 is kept for "code did not match"; usage errors are 1 as well
    assert needle in r.one_line_error()
    assert r.out == ""  # no secret shown
    assert "bob" not in run("user", "list", "--store", db).out  # and nobody added


@pytest.mark.parametrize("name", ["a b", "", "x" * 200, "al:ice", "é"])
def test_bad_user_names(run: Any, db: str, name: str) -> None:
    r = run("user", "add", name, "--store", db, "--no-pin")
    assert r.code == 1 and "user names" in r.one_line_error()


def test_add_duplicate_algorithm_qr_and_motp(run: Any, db: str, tmp_path: Path) -> None:
    add_user(run, db)
    r = run("user", "add", "alice", "--store", db, "--no-pin")
    assert r.code == 1 and "already exists" in r.one_line_error()
    r = run(
        "user",
        "add",
        "sha",
        "--store",
        db,
        "--no-pin",
        "--algorithm",
        "sha256",
        "--qr",
        "--qr-out",
        str(tmp_path / "sha.png"),
    )
    assert r.code == 0, r.err
    assert "algorithm=SHA256" in r.out and "ignore" in r.err
    assert "\u2580" in r.out or "\u2584" in r.out or "\u2588" in r.out  # terminal QR blocks
    assert stat.S_IMODE((tmp_path / "sha.png").stat().st_mode) == 0o600
    assert (tmp_path / "sha.png").read_bytes()[:4] == b"\x89PNG"
    r = run("user", "add", "m", "--store", db, "--no-pin", "--type", "MOTP")
    assert r.code == 0 and "hex" in r.out and len(r.out.split()[-1]) == 16


# --- other user commands ---------------------------------------------------------------------


def test_remove_lock_unlock_and_missing_users(run: Any, db: str) -> None:
    key = add_user(run, db)
    assert run("user", "lock", "alice", "--store", db).code == 0
    listing = run("user", "list", "--store", db).out
    assert "until unlocked" in listing
    r = run("check", "alice", "--store", db, "-v", stdin="4711" + code_for(key))
    assert r.code == 1 and "locked" in r.err
    assert run("user", "unlock", "alice", "--store", db).code == 0
    assert run("check", "alice", "--store", db, stdin="4711" + code_for(key)).code == 0
    assert run("user", "remove", "alice", "--store", db).code == 0
    for cmd in ("show", "remove", "lock", "unlock", "recovery-codes"):
        r = run("user", cmd, "alice", "--store", db)
        assert r.code == 1 and "no user 'alice'" in r.one_line_error()


def test_set_pin(run: Any, db: str) -> None:
    key = add_user(run, db)
    r = run("user", "set-pin", "alice", "--store", db, "--pin-stdin", stdin="5193\n")
    assert r.code == 0, r.err
    now = time.time()
    assert run("check", "alice", "--store", db, stdin="4711" + code_for(key, now)).code == 1
    assert run("check", "alice", "--store", db, stdin="5193" + code_for(key, now + 30)).code == 0
    r = run("user", "set-pin", "alice", "--store", db, "--no-pin")
    assert r.code == 0
    assert run("check", "alice", "--store", db, stdin=code_for(key, now + 60)).code == 0


def test_resync(run: Any, db: str) -> None:
    r = run("user", "add", "ev", "--store", db, "--no-pin", "--type", "HOTP/E")
    key = parse_uri(r.out.splitlines()[0]).key
    from otpgate.otp.tokens import parse_token_type

    tok = Token(parse_token_type("HOTP/E"), key)
    c50, c51 = generate(tok, counter=50), generate(tok, counter=51)
    assert run("check", "ev", "--store", db, stdin=generate(tok, counter=52)).code == 1
    r = run("user", "resync", "ev", c50, c51, "--store", db)
    assert r.code == 0 and "next counter 52" in r.out
    assert run("check", "ev", "--store", db, stdin=generate(tok, counter=52)).code == 0
    r = run("user", "resync", "ev", c50, c51, "--store", db)
    assert r.code == 1 and "resync failed" in r.one_line_error()
    r = run("user", "resync", "ev", "12", "x", "--store", db)
    assert r.code == 1 and "resync failed" in r.one_line_error()


def test_recovery_codes(run: Any, db: str) -> None:
    add_user(run, db)
    r = run("user", "recovery-codes", "alice", "-n", "3", "--store", db)
    assert r.code == 0
    codes = r.out.split()
    assert len(codes) == 3 and all(len(c) == 19 for c in codes)
    assert run("check", "alice", "--store", db, stdin="4711" + codes[0]).code == 0
    assert run("check", "alice", "--store", db, stdin="4711" + codes[0]).code == 1
    assert run("check", "alice", "--store", db, stdin="0000" + codes[1]).code == 1
    # New codes replace the old ones.
    assert run("user", "recovery-codes", "alice", "--store", db).out.count("\n") == 10
    assert run("check", "alice", "--store", db, stdin="4711" + codes[2]).code == 1
    for n in ("0", "101", "x"):
        r = run("user", "recovery-codes", "alice", "-n", n, "--store", db)
        assert r.code == 1 and "1 to 100" in r.one_line_error()


# --- check -----------------------------------------------------------------------------------


def test_check_end_to_end(
    run: Any, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = add_user(run, db)
    now = time.time()
    audit = tmp_path / "audit.log"
    # pam_exec's expose_authtok: password followed by a NUL byte.
    pw = "4711" + code_for(key, now)
    r = run(
        "check",
        "alice",
        "--store",
        db,
        "--ip",
        "10.0.0.1",
        "--audit",
        str(audit),
        stdin=pw.encode() + b"\0",
    )
    assert r.code == 0, r.err
    r = run("check", "alice", "--store", db, "-v", stdin=pw + "\n")
    assert r.code == 1 and "replayed" in r.err  # linger is off for check by default
    monkeypatch.setenv("PAM_USER", "alice")
    monkeypatch.setenv("PAM_RHOST", "10.0.0.2")
    r = run("check", "--store", db, "--audit", str(audit), stdin="4711000000")
    assert r.code == 1
    lines = audit.read_text().splitlines()
    assert len(lines) == 2 and '"ip":"10.0.0.1"' in lines[0] and '"ip":"10.0.0.2"' in lines[1]
    assert pw not in audit.read_text() and "4711" not in audit.read_text()
    r = run("check", "nobody", "--store", db, stdin=b"\xff\xfe\x00garbage")
    assert r.code == 1
    r = run("check", "alice", "--store", db, stdin="x" * 10_000)
    assert r.code == 1 and "too long" in r.one_line_error()
    monkeypatch.delenv("PAM_USER")
    r = run("check", "--store", db, stdin="x")
    assert r.code == 1 and "name the user" in r.one_line_error()
    r = run("check", "alice", "--store", db, "--linger", "-5", stdin="x")
    assert r.code == 1 and "seconds" in r.one_line_error()


def test_check_with_linger_and_failure_limit(run: Any, db: str) -> None:
    key = add_user(run, db)
    now = time.time()
    pw = "4711" + code_for(key, now)
    assert run("check", "alice", "--store", db, "--linger", "600", stdin=pw).code == 0
    # Another process: the stored last OTP lets it linger.
    assert run("check", "alice", "--store", db, "--linger", "600", stdin=pw).code == 0
    for _ in range(3):
        assert (
            run("check", "alice", "--store", db, "--max-failures", "3", stdin="4711000000").code
            == 1
        )
    r = run("check", "alice", "--store", db, "-v", stdin="4711" + code_for(key, now + 30))
    assert r.code == 1 and "locked" in r.err


def test_check_store_errors(run: Any, tmp_path: Path) -> None:
    r = run("check", "alice", "--store", f"sqlite:///{tmp_path}/none/x.db", stdin="123456")
    assert r.code == 1
    assert r.one_line_error() == (
        f"otpgate: no store at {tmp_path}/none/x.db: create it with 'otpgate init', "
        "or name another with --store or --config"
    )
    (tmp_path / "none").mkdir()
    (tmp_path / "none/x.db").touch()  # the store, without its key file
    r = run("check", "alice", "--store", f"sqlite:///{tmp_path}/none/x.db", stdin="123456")
    assert r.code == 1
    assert r.one_line_error() == (
        f"otpgate: key file {tmp_path}/none/x.db.key does not exist (create it with 'otpgate init')"
    )


# --- import / export -------------------------------------------------------------------------


def test_import_users_file_into_sqlite_and_export_back(run: Any, db: str, tmp_path: Path) -> None:
    users = tmp_path / "users"
    key = "3132333435363738393031323334353637383930"
    users.write_text(
        "# users\n"
        f"HOTP/T30 alice 4711 {key}\n"
        f"HOTP bob - {key} 5\n"
        f"MOTP carol 1234 0123456789abcdef\n"
    )
    users.chmod(0o600)
    r = run("import", str(users), "--into", db)
    assert r.code == 1  # carol cannot be kept: her Mobile-OTP PIN must stay readable
    assert "carol" in r.err and "Mobile-OTP" in r.err
    assert "[" not in r.err and "3/3" not in r.err  # no progress bar: stderr is no terminal
    assert "copied 2 of 3" in r.err
    store = open_store(db)
    try:
        alice = store.get("alice")
        assert alice.pin.kind == "hash" and FAST_TEST_HASHER.verify(alice.pin.value, "4711")
        assert store.get("bob").state.token.counter == 5
    finally:
        store.close()
    now = time.time()
    assert (
        run("check", "alice", "--store", db, stdin="4711" + code_for(bytes.fromhex(key), now)).code
        == 0
    )
    # Again: existing users are skipped unless --replace.
    r = run("import", str(users), "--into", db)
    assert r.code == 1 and "already in" in r.err
    # Export to a new users file: hashed PINs cannot go there.
    out = tmp_path / "out"  # created by the export, 0600
    r = run("export", "--store", db, "--to", f"users-file:{out}")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert r.code == 1 and "hashed PIN" in r.err and "copied 1 of 2" in r.err
    assert "bob" in out.read_text() and "alice" not in out.read_text()
    r = run("import", db, "--into", db)
    assert r.code == 1 and "same store" in r.one_line_error()
    r = run("export", "--store", db)
    assert r.code == 1 and "--to" in r.one_line_error()


# --- concurrency -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "users-file"])
def test_sixteen_processes_one_code_exactly_one_accept(run: Any, tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path}/c.db" if kind == "sqlite" else f"users-file:{tmp_path}/users"
    assert run("init", "--store", url).code == 0
    key = add_user(run, url)
    pw = "4711" + code_for(key)
    procs = [
        subprocess.Popen(
            [*OTPGATE, "check", "alice", "--store", url, "--ip", f"10.0.0.{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=otpgate_env(),
        )
        for i in range(16)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(pw.encode())
        p.stdin.close()
    codes = [p.wait(timeout=120) for p in procs]
    errors = [p.stderr.read().decode() for p in procs if p.stderr is not None]
    assert sorted(codes) == [0] + [1] * 15, (codes, errors)
    assert not any("Traceback" in e for e in errors)


# --- configuration file ----------------------------------------------------------------------


def test_check_reads_the_config_file(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import hashlib

    db = f"sqlite:///{tmp_path}/conf.db"
    assert run("init", "--store", db).code == 0
    r = run("user", "add", "dee", "--store", db, "--pin-delegated")
    key = parse_uri(r.out.splitlines()[0]).key
    ht = tmp_path / "htpasswd"
    sha = base64.b64encode(hashlib.sha1(b"ldap-pin", usedforsecurity=False).digest()).decode()
    ht.write_text(f"dee:{{SHA}}{sha}\n")
    audit = tmp_path / "audit.log"
    conf = tmp_path / "otpgate.toml"
    conf.write_text(
        f'[store]\nurl = "{db}"\n'
        f'[auth]\nmax_otp_failures = 2\npin_provider = "htpasswd:{ht}"\n'
        f'audit_log = "{audit}"\n'
    )
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))
    now = time.time()
    assert run("check", "dee", stdin="ldap-pin" + code_for(key, now)).code == 0
    for _ in range(2):
        assert run("check", "dee", stdin="ldap-pin000000").code == 1
    r = run("check", "dee", "-v", stdin="ldap-pin" + code_for(key, now + 30))
    assert r.code == 1 and "locked" in r.err
    assert len(audit.read_text().splitlines()) == 4
    assert "ldap-pin" not in audit.read_text()
    # The other commands use the config file's store too.
    assert "dee" in run("user", "list").out
    # OTPGATE_STORE beats the config file and does not upset it.
    monkeypatch.setenv("OTPGATE_STORE", f"sqlite:///{tmp_path}/other.db")
    assert run("init").code == 0
    assert "dee" not in run("user", "list").out
    conf.write_text("[auth]\nmax_linger = -3\n")
    r = run("check", "dee", stdin="x")
    assert r.code == 1 and "max_linger" in r.one_line_error()


# --- PostgreSQL ------------------------------------------------------------------------------


def test_import_export_through_postgresql(
    run: Any, db: str, tmp_path: Path, postgres_url: str
) -> None:
    pg = f"{postgres_url}?key_file={tmp_path}/pg.key"
    assert run("init", "--store", pg).code == 0, run("init", "--store", pg).err
    key = add_user(run, db)
    r = run("export", "--store", db, "--to", pg)
    assert r.code == 0, r.err
    assert run("check", "alice", "--store", pg, stdin="4711" + code_for(key)).code == 0
    back = f"sqlite:///{tmp_path}/back.db"
    assert run("init", "--store", back).code == 0
    r = run("import", pg, "--into", back)
    assert r.code == 0, r.err
    listing = run("user", "list", "--store", back).out
    assert "alice" in listing and "never" not in listing  # the login state came along


def test_pin_prompt(run: Any, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["8306", "8306", "8307", "8308"])
    monkeypatch.setattr(_secrets.getpass, "getpass", lambda prompt="": next(answers))
    r = run("user", "add", "pat", "--store", db, "--pin-prompt")
    assert r.code == 0, r.err
    key = parse_uri(r.out.splitlines()[0]).key
    assert run("check", "pat", "--store", db, stdin="8306" + code_for(key)).code == 0
    r = run("user", "set-pin", "pat", "--store", db, "--pin-prompt")
    assert r.code == 1 and "differ" in r.one_line_error()


def test_users_file_gets_plain_pins_and_a_warning_for_sha256(run: Any, tmp_path: Path) -> None:
    url = f"users-file:{tmp_path}/users"
    assert run("init", "--store", url).code == 0
    add_user(run, url, "uf", "2469")
    assert (tmp_path / "users").read_text().split()[1:3] == ["uf", "2469"]
    r = run("user", "add", "sha", "--store", url, "--no-pin", "--algorithm", "SHA256")
    assert r.code == 0 and "mod_authn_otp cannot read" in r.err


def test_resync_time_token(run: Any, db: str) -> None:
    key = add_user(run, db, "tim", "1358")
    now = time.time()
    # The token's clock runs 22 steps (11 minutes) ahead: too far for a login.
    ahead = now + 22 * 30
    assert run("check", "tim", "--store", db, stdin="1358" + code_for(key, ahead)).code == 1
    r = run("user", "resync", "tim", code_for(key, ahead - 30), code_for(key, ahead), "--store", db)
    assert r.code == 0, r.err
    # +21 if a step boundary passed between this test's clock and the command's.
    assert "drift +22 steps" in r.out or "drift +21 steps" in r.out, r.out
    show = run("user", "show", "tim", "--store", db).out
    assert "drift +2" in show and re.search(r"^failures\s+0$", show, re.MULTILINE)
    # The two codes are used up.
    assert run("check", "tim", "--store", db, stdin="1358" + code_for(key, ahead)).code == 1
