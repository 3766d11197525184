"""``otpgate import`` from a mod_authn_otp users file, and ``otpgate user lock --failures``:
the one command makes what is missing, and nobody the module had locked gets in."""

from __future__ import annotations

import math
import stat
from pathlib import Path

import pytest

from clitools import Runner
from otpgate.otp.algorithms import hotp
from otpgate.store import open_store

KEY = "3132333435363738393031323334353637383930"
# mod_authn_otp's columns: type, user, PIN, key, counter, failures.  At
# OTPAuthMaxOTPFailure 10 the module refused carl (12) and dora (10), not eve (9).
USERS = (
    f"HOTP/E ann 1234 {KEY} 0\n"
    f"HOTP/E carl 4321 {KEY} 0 12\n"
    f"HOTP/E dora 5555 {KEY} 0 10\n"
    f"HOTP/E eve 6666 {KEY} 0 9\n"
)


pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    path.write_text(USERS)
    path.chmod(0o600)
    return path


def _locked(url: str, key_file: str | None = None) -> dict[str, bool]:
    store = open_store(url, key_file=key_file)
    try:
        return {r.username: r.state.locked_until == math.inf for r in store.list_users()}
    finally:
        store.close()


def _login(run: Runner, where: str, user: str, pin: str) -> int:
    """One login with the next code; ``where`` is a store URL or an otpgate.toml."""
    option = "--config" if where.endswith(".toml") else "--store"
    return run("check", user, option, where, stdin=pin + hotp(bytes.fromhex(KEY), 1)).code


def test_import_into_a_new_sqlite_store_makes_it_and_its_key_file(
    run: Runner, users: Path, tmp_path: Path
) -> None:
    # Before: "key file ... does not exist (create it with 'otpgate init')".
    db = tmp_path / "new/otpgate.db"
    db.parent.mkdir()
    r = run("import", f"users-file:{users}", "--into", f"sqlite:///{db}")
    assert r.code == 0, r.err
    key = Path(f"{db}.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert f"created key file {key} (mode 0600); back it up" in r.err
    assert "copied 4 of 4 users" in r.err
    assert _login(run, f"sqlite:///{db}", "ann", "1234") == 0


def test_an_existing_store_without_its_key_file_is_refused_with_the_command(
    run: Runner, users: Path, tmp_path: Path
) -> None:
    db = tmp_path / "otpgate.db"
    assert run("init", "--store", f"sqlite:///{db}").code == 0
    Path(f"{db}.key").unlink()
    r = run("import", str(users), "--into", f"sqlite:///{db}")
    assert r.code == 1
    assert r.one_line_error() == (
        f"otpgate: key file {db}.key does not exist: make the store with 'otpgate init "
        f"--store sqlite:///{db} --key-file {db}.key' first, or name its key file with "
        "--dst-key-file"
    )
    # A new key would not read the store's keys: none was made.
    assert not Path(f"{db}.key").exists()


def test_an_unreadable_source_leaves_nothing_behind(run: Runner, tmp_path: Path) -> None:
    db = tmp_path / "otpgate.db"
    r = run("import", str(tmp_path / "no-such-users"), "--into", f"sqlite:///{db}")
    assert r.code == 1 and "Traceback" not in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_store_that_cannot_be_made_leaves_no_key_file(
    run: Runner, users: Path, tmp_path: Path
) -> None:
    key = tmp_path / "otpgate.key"
    into = f"sqlite:///{tmp_path}/no-such-dir/otpgate.db"
    r = run("import", str(users), "--into", into, "--dst-key-file", str(key))
    assert r.code == 1
    assert "cannot create SQLite store" in r.one_line_error()
    assert not key.exists()


def test_import_with_the_config_keeps_the_modules_locks(
    run: Runner, users: Path, tmp_path: Path
) -> None:
    db = tmp_path / "otpgate.db"
    conf = tmp_path / "otpgate.toml"
    conf.write_text(
        f'[mod_authn_otp]\nOTPAuthUsersFile = "{users}"\nOTPAuthMaxOTPFailure = 10\n'
        f'[store]\nurl = "sqlite:///{db}"\nkey_file = "{tmp_path}/otpgate.key"\n'
    )
    r = run("import", f"users-file:{users}", "--config", str(conf))
    assert r.code == 0, r.err
    # Exactly at the module's limit is locked; one below is not.
    assert _locked(f"sqlite:///{db}", f"{tmp_path}/otpgate.key") == {
        "ann": False,
        "carl": True,
        "dora": True,
        "eve": False,
    }
    assert "carl has 12 failures (--lock-failures 10): imported locked" in r.err
    assert "eve has" not in r.err
    assert _login(run, str(conf), "carl", "4321") == 1
    assert _login(run, str(conf), "eve", "6666") == 0


def test_lock_failures_overrides_the_config(run: Runner, users: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run("import", str(users), "--into", f"users-file:{out}", "--lock-failures", "11")
    assert r.code == 0, r.err
    assert _locked(f"users-file:{out}") == {"ann": False, "carl": True, "dora": False, "eve": False}
    r = run("import", str(users), "--into", f"users-file:{out}2", "--lock-failures", "0")
    assert r.code == 0 and not any(_locked(f"users-file:{out}2").values())


def test_import_options_all_have_help(run: Runner) -> None:
    r = run("import", "--help")
    assert r.code == 0
    for option in ("SRC_URL", "--into", "--config", "--src-key-file", "--dst-key-file"):
        assert option in r.out
    # Every option line carries words after its name (argparse prints bare names otherwise).
    options = [ln for ln in r.out.splitlines() if ln.lstrip().startswith("--")]
    assert len(options) == 6, options
    for line in options:
        assert len(line.split()) > 2, line


def test_user_lock_failures_locks_whom_the_module_had_locked(
    run: Runner, users: Path, tmp_path: Path
) -> None:
    url = f"users-file:{users}"
    r = run("user", "lock", "--failures", "10", "--store", url)
    assert r.code == 0, r.err
    assert "locked carl (12 failures)" in r.err and "locked dora (10 failures)" in r.err
    assert "eve" not in r.err and "ann" not in r.err
    assert "2 user(s) with 10 or more failures newly locked" in r.err
    assert _locked(url) == {"ann": False, "carl": True, "dora": True, "eve": False}
    assert _login(run, url, "carl", "4321") == 1
    # Again: nobody new, and it says so rather than nothing.
    r = run("user", "lock", "--failures", "10", "--store", url)
    assert r.code == 0 and "0 user(s) with 10 or more failures newly locked" in r.err


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["carl", "--failures", "10"], "name the user to lock, or give --failures N (not both)"),
        ([], "name the user to lock, or give --failures N (not both)"),
        (["--failures", "0"], "--failures must be at least 1 (0 would lock every user)"),
    ],
)
def test_user_lock_needs_one_of_name_or_failures(
    run: Runner, users: Path, argv: list[str], error: str
) -> None:
    r = run("user", "lock", *argv, "--store", f"users-file:{users}")
    assert r.code == 1
    assert r.one_line_error() == f"otpgate: {error}"
    assert not any(_locked(f"users-file:{users}").values())


def test_import_needs_to_be_told_where(run: Runner, users: Path, tmp_path: Path) -> None:
    r = run("import", str(users))
    assert r.code == 1
    assert r.one_line_error() == (
        "otpgate: name the destination: --into DST_URL, or --config FILE with its store"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users"]  # no otpgate.db made


def test_counts_in_otpgates_own_stores_are_not_taken_for_the_modules_locks(
    run: Runner, users: Path, tmp_path: Path
) -> None:
    # A store of otpgate's own: carl's 12 failures already carry otpgate's lock (a time).
    first = f"sqlite:///{tmp_path}/first.db"
    assert run("import", str(users), "--into", first, "--lock-failures", "0").code == 0
    conf = tmp_path / "otpgate.toml"
    second = f"sqlite:///{tmp_path}/second.db"
    conf.write_text(f'[store]\nurl = "{second}"\n[auth]\nmax_otp_failures = 10\n')
    r = run("import", first, "--config", str(conf))
    assert r.code == 0, r.err
    assert not any(_locked(second).values()) and "imported locked" not in r.err
    # Said explicitly, it applies to any source.
    third = f"sqlite:///{tmp_path}/third.db"
    r = run("import", first, "--into", third, "--lock-failures", "12")
    assert r.code == 0 and _locked(third) == {
        "ann": False,
        "carl": True,
        "dora": False,
        "eve": False,
    }


def test_passkeys_go_with_their_users_where_the_store_keeps_them(
    run: Runner, users: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    from otpgate.store.passkeys import Passkey
    from otpgate.store.records import Pin

    first, second = tmp_path / "a.db", tmp_path / "b.db"
    assert run("import", f"users-file:{users}", "--into", f"sqlite:///{first}").code == 0
    store = open_store(f"sqlite:///{first}", key_file=f"{first}.key")
    pk = Passkey("Ab3dE9xY", "ann", b"\x01" * 16, b"\xa5", 7, ("usb",), "0" * 32, "Key", 1.8e9)
    nopin = replace(store.get("eve"), username="fay", pin=Pin("none"))  # type: ignore[type-var]
    try:
        store.add(nopin)
        store.add_passkey(pk)  # type: ignore[attr-defined]
        store.add_passkey(replace(pk, id="Zz9", user="fay", credential_id=b"\x02" * 16))  # type: ignore[attr-defined]
    finally:
        store.close()
    src = f"sqlite:///{first}?key_file={first}.key"
    r = run("import", src, "--into", f"sqlite:///{second}")
    assert r.code == 0, r.err
    store = open_store(f"sqlite:///{second}", key_file=f"{second}.key")
    try:
        assert store.passkeys("ann") == [pk]  # type: ignore[attr-defined]
    finally:
        store.close()
    # Into a users file: the user goes, the passkey cannot (said, and the exit code).
    out = tmp_path / "out"
    r = run("import", src, "--into", f"users-file:{out}", "--lock-failures", "0")
    assert r.code == 1 and "1 passkey(s) of fay: the users file cannot keep passkeys" in r.err
    assert "fay" in out.read_text()
