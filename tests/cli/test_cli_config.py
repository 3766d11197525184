"""`otpgate init --config` writes a starter configuration ready for `serve`;
`otpgate config check` lists every problem `serve` would meet."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from clitools import Runner
from otpgate.cli import _common
from otpgate.cli.starter import render
from otpgate.config.loader import load_config
from procs import OTPGATE

pytestmark = pytest.mark.usefixtures("isolated")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_config_writes_a_working_starter(run: Runner, tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    r = run("init", "--config", str(etc / "otpgate.toml"))
    assert r.code == 0, r.err
    for name in ("otpgate.toml", "session.secret", "otpgate.db", "otpgate.db.key"):
        assert _mode(etc / name) == 0o600, name
    secret = (etc / "session.secret").read_text().strip()
    assert len(secret) >= 40 and secret not in (etc / "otpgate.toml").read_text()
    config = load_config(etc / "otpgate.toml", env={})
    assert config.store.url == f"sqlite:///{etc}/otpgate.db"
    assert config.secrets() == [secret.encode()]
    r = run("config", "check", "--config", str(etc / "otpgate.toml"))
    assert r.code == 0 and r.err.endswith(": ready to serve\n"), r.err
    # The other commands find the store through the file.
    assert run("user", "add", "ann", "--no-pin", "--config", str(etc / "otpgate.toml")).code == 0


def test_init_config_never_overwrites(run: Runner, tmp_path: Path) -> None:
    conf = tmp_path / "otpgate.toml"
    assert run("init", "--config", str(conf)).code == 0
    before = conf.read_bytes(), (tmp_path / "session.secret").read_bytes()
    r = run("init", "--config", str(conf))
    assert r.code == 0 and "exists; keeping it" in r.err
    assert (conf.read_bytes(), (tmp_path / "session.secret").read_bytes()) == before
    # A secret already there is kept and used by a new config beside it.
    conf.unlink()
    r = run("init", "--config", str(conf))
    assert r.code == 0 and "session secret" in r.err and "keeping it" in r.err
    assert (tmp_path / "session.secret").read_bytes() == before[1]


def test_init_config_with_other_store_and_key_file(run: Runner, tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    conf = tmp_path / "otpgate.toml"
    db = f"sqlite:///{tmp_path}/var/users.db"
    r = run("init", "--config", str(conf), "--store", db, "--key-file", "keys.key")
    assert r.code == 0, r.err
    config = load_config(conf, env={})
    assert config.store.url == db and config.store.key_file == str(tmp_path / "keys.key")
    assert (tmp_path / "keys.key").exists()


def test_init_config_in_a_missing_directory(run: Runner, tmp_path: Path) -> None:
    r = run("init", "--config", str(tmp_path / "no" / "otpgate.toml"))
    assert r.code == 1 and r.one_line_error() == f"otpgate: --config: no directory '{tmp_path}/no'"
    assert list(tmp_path.iterdir()) == []


def test_commented_defaults_in_the_starter_are_true() -> None:
    text = render("sqlite:///x.db", "x.db.key", "/s")
    defaults = load_config(None, env={})
    table = ""
    checked = 0
    for line in text.splitlines():
        if m := re.fullmatch(r"\[(\w+)\]", line):
            table = m[1]
        m = re.match(r"# (\w+) = (.+?)(?:\s+#.*)?$", line)
        if m is None or m[1] in ("audit_log", "key_file", "portal_url"):  # examples
            continue
        one = load_config(None, env={}, overrides={table: {m[1]: _toml_value(m[2])}})
        assert _setting(one, table, m[1]) == _setting(defaults, table, m[1]), line
        checked += 1
    assert checked >= 8


def _setting(config: object, table: str, name: str) -> object:
    """A setting's value; the OTP window settings live in ``auth.policy``."""
    section = getattr(config, table)
    if not hasattr(section, name):
        section = section.policy
    return getattr(section, name)


def _toml_value(text: str) -> object:
    import tomllib

    return tomllib.loads(f"v = {text}")["v"]


def test_config_check_lists_every_problem(run: Runner, tmp_path: Path) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/none.db"\n[web]\nlisten = "nowhere"\n'
        'session_secrets = ["0123456789abcdef-inline"]\n'
    )
    conf.chmod(0o644)
    r = run("config", "check", "--config", str(conf))
    assert r.code == 1
    lines = r.err.splitlines()
    assert lines == [
        "otpgate: --listen 'nowhere': expected HOST:PORT, e.g. 127.0.0.1:9090",
        f"otpgate: the configuration (it holds secrets inline): {conf} is mode 0644: other "
        "users may read or change it; chmod 0600 (or 0640 for the gate's group)",
        f"otpgate: no store at {tmp_path}/none.db: create it with 'otpgate init', or name "
        "another with --store or --config",
        f"otpgate: {conf}: 3 problem(s)",
    ]


def test_config_check_reports_every_setting_error(run: Runner, tmp_path: Path) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text("[web]\nportal = 3\ncolour = 'blue'\n")
    r = run("config", "check", "--config", str(conf))
    assert r.code == 1
    assert r.err.splitlines() == [
        f"otpgate: {conf}: web.portal: expected true or false",
        f"otpgate: {conf}: unknown setting web.colour",
        f"otpgate: {conf}: 2 problem(s)",
    ]


def test_config_check_secret_file_modes_and_missing_files(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "otpgate.toml"
    assert run("init", "--config", str(conf)).code == 0
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))  # found as serve finds it
    (tmp_path / "session.secret").chmod(0o644)
    (tmp_path / "otpgate.db.key").unlink()
    r = run("config", "check")
    assert r.code == 1
    secret = tmp_path / "session.secret"
    # Said once (the gate's own check on start and config check's word it alike).
    assert r.err.count("session.secret") == 1
    assert (
        f"otpgate: web.session_secret_file: {secret} is mode 0644: other users may read or "
        "change it; chmod 0600 (or 0640 for the gate's group)\n"
    ) in r.err
    assert "otpgate.db.key does not exist" in r.err
    secret.chmod(0o660)  # the group may read, not write: it would choose the secret
    r = run("config", "check")
    assert r.code == 1 and r.err.count("session.secret") == 1
    assert (
        f"otpgate: web.session_secret_file: {secret} is mode 0660: its group may change it, "
        "and so choose the secret; chmod 0640 (reading is all the group needs)\n"
    ) in r.err
    assert "other users" not in r.err
    secret.chmod(0o640)
    assert "session.secret" not in run("config", "check").err
    secret.unlink()
    r = run("config", "check")
    assert r.code == 1 and r.err.count("session.secret") == 1


def test_config_check_warns_of_a_store_others_may_read(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "otpgate.toml"
    assert run("init", "--config", str(conf)).code == 0
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))
    r = run("config", "check")
    assert r.code == 0 and "warning" not in r.err
    # What a restore with cp (or sqlite3 .backup under umask 022) leaves.
    (tmp_path / "otpgate.db").chmod(0o644)
    r = run("config", "check")
    assert r.code == 0, r.err  # the gate would start: a warning, not a problem
    assert r.err.splitlines() == [
        f"otpgate: warning: the store {tmp_path}/otpgate.db is mode 0644: others may read its "
        "PIN hashes; chmod 0600 it (0640 for the gate's group)",
        f"otpgate: {conf}: ready to serve (1 warning(s))",
    ]
    (tmp_path / "otpgate.db").chmod(0o640)  # the gate's group may
    assert "warning" not in run("config", "check").err
    # A key file others may read is refused outright, by the store itself.
    (tmp_path / "otpgate.db.key").chmod(0o644)
    r = run("config", "check")
    assert r.code == 1 and "otpgate.db.key is accessible to other users (mode 0644)" in r.err


def test_config_check_warns_when_the_shared_state_does_not_answer(
    run: Runner, tmp_path: Path
) -> None:
    from procs import free_port

    conf = tmp_path / "otpgate.toml"
    assert run("init", "--config", str(conf)).code == 0
    nobody = f"redis://:not-shown@127.0.0.1:{free_port()}/0"
    with conf.open("a") as f:
        f.write(f'\n[state]\nurl = "{nobody}"\n')
    # In a process of its own, as an administrator runs it: no logging set up.
    done = subprocess.run(
        [*OTPGATE, "config", "check", "--config", str(conf)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warning, ready = done.stderr.splitlines()  # said once, in the check's words
    assert ready == f"otpgate: {conf}: ready to serve (1 warning(s))"
    assert warning.startswith("otpgate: warning: state.url: Redis at redis://127.0.0.1:")
    assert "unreachable" in warning and "not-shown" not in done.stderr


def test_an_audit_log_that_cannot_be_opened_is_one_clear_line(run: Runner, tmp_path: Path) -> None:
    conf = tmp_path / "otpgate.toml"
    assert run("init", "--config", str(conf)).code == 0
    audit = tmp_path / "log" / "audit.log"  # its directory was never made
    text = conf.read_text().replace("# audit_log = ", f'audit_log = "{audit}"  # ', 1)
    conf.write_text(text)
    said = (
        f"otpgate: cannot open the audit log {audit}: No such file or directory "
        "(its directory does not exist)"
    )
    r = run("config", "check", "--config", str(conf))
    assert r.code == 1 and r.err.splitlines()[0] == said
    r = run("serve", "--config", str(conf))
    assert r.code == 1 and r.err == said + "\n"
    (tmp_path / "log").mkdir()
    (tmp_path / "log").chmod(0o500)
    try:
        r = run("config", "check", "--config", str(conf))
        if os.geteuid() != 0:  # root may write anywhere
            assert r.err.splitlines()[0].endswith(": Permission denied")
    finally:
        (tmp_path / "log").chmod(0o700)


def test_config_check_warns_of_a_user_named_twice(run: Runner, tmp_path: Path) -> None:
    conf = tmp_path / "otpgate.toml"
    assert run("init", "--config", str(conf)).code == 0
    users = tmp_path / "users"
    line = "HOTP/T30 erin 2468 3132333435363738393031323334353637383930\n"
    users.write_text(line + line.replace("2468", "9999"))
    users.chmod(0o600)
    text = re.sub(r'url = "sqlite:///[^"]*"', f'url = "users-file:{users}"', conf.read_text())
    conf.write_text(text)
    r = run("config", "check", "--config", str(conf))
    # The gate starts (the first line counts, as for mod_authn_otp), and says so.
    assert r.code == 0, r.err
    assert r.err.splitlines() == [
        f"otpgate: warning: users file {users} line 2 is ignored: user 'erin' repeats "
        "line 1; the first line counts",
        f"otpgate: {conf}: ready to serve (1 warning(s))",
    ]


def test_config_check_without_any_file(run: Runner, tmp_path: Path) -> None:
    r = run("config", "check")
    assert r.code == 1
    assert "no session secret" in r.err
    assert r.err.splitlines()[-1].startswith(
        "otpgate: no configuration file (OTPGATE_* and defaults): "
    )
    assert _common.config_path(None) is None


# --- init: all or nothing, and $OTPGATE_CONFIG as --config -----------------------------------


def test_init_against_a_missing_postgres_database_leaves_nothing(
    run: Runner, tmp_path: Path, postgres_server_url: str
) -> None:
    missing_db = postgres_server_url.rpartition("/")[0] + "/otpgate_absent_db"
    r = run("init", "--store", missing_db, "--key-file", str(tmp_path / "pg.key"))
    assert r.code == 1 and 'database "otpgate_absent_db" does not exist' in r.one_line_error()
    # With a starter configuration too: nothing of it stays behind.
    r = run("init", "--config", str(tmp_path / "otpgate.toml"), "--store", missing_db)
    assert r.code == 1 and "does not exist" in r.one_line_error()
    assert r.err.count("\n") == 1  # no "wrote ...", "created ...": nothing was kept
    assert list(tmp_path.iterdir()) == []


def test_init_config_for_postgres_uses_the_key_file_it_names(
    run: Runner, tmp_path: Path, postgres_url: str
) -> None:
    conf = tmp_path / "otpgate.toml"
    r = run("init", "--config", str(conf), "--store", postgres_url)
    assert r.code == 0, r.err
    config = load_config(conf, env={})
    assert config.store.key_file == str(tmp_path / "otpgate.key")
    assert (tmp_path / "otpgate.key").exists()
    assert run("config", "check", "--config", str(conf)).code == 0
    assert run("user", "add", "ann", "--no-pin", "--config", str(conf)).code == 0


def test_init_that_fails_keeps_what_was_there(run: Runner, tmp_path: Path) -> None:
    # A key file that exists is never removed, even when the store then fails.
    key = tmp_path / "keep.key"
    assert run("init", "--store", f"sqlite:///{tmp_path}/a.db", "--key-file", str(key)).code == 0
    before = key.read_bytes()
    (tmp_path / "dir.db").mkdir()  # a database path SQLite cannot open
    r = run("init", "--store", f"sqlite:///{tmp_path}/dir.db", "--key-file", str(key))
    assert r.code == 1 and key.read_bytes() == before


def test_init_writes_the_starter_where_otpgate_config_points(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc" / "otpgate.toml"
    conf.parent.mkdir()
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))
    r = run("init")
    assert r.code == 0, r.err
    assert f"wrote {conf}" in r.err
    assert load_config(conf, env={}).store.url == f"sqlite:///{conf.parent}/otpgate.db"
    assert run("config", "check").code == 0


# --- one rule for --config --------------------------------------------------------------------


def _config_options() -> dict[str, str]:
    """Every command's --config option -> its help text, by the command's name."""
    import argparse

    from otpgate.cli import build_parser

    found: dict[str, str] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if "--config" in action.option_strings:
                found[name] = action.help or ""
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, f"{name} {sub}".strip())

    walk(build_parser(), "")
    return found


def test_every_config_option_documents_the_one_rule() -> None:
    options = _config_options()
    assert {"serve", "config check", "init", "user add", "key rotate"} <= set(options)
    for command, text in options.items():
        assert "$OTPGATE_CONFIG" in text and "/etc/otpgate/otpgate.toml" in text, command
    assert len(set(options.values())) == 1  # the same words everywhere


def test_every_command_falls_back_to_the_default_file(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /etc/otpgate/otpgate.toml, moved under tmp_path: found when nothing names a file.
    etc = tmp_path / "etc"
    etc.mkdir()
    default = etc / "otpgate.toml"
    monkeypatch.setattr(_common, "DEFAULT_CONFIG_PATH", str(default))
    assert run("init", "--config", str(default)).code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # where no otpgate.db of its own may appear
    monkeypatch.delenv("OTPGATE_HOME")
    assert run("config", "check").err.startswith(f"otpgate: {default}: ready to serve")
    assert run("user", "add", "ann", "--no-pin").code == 0
    assert "ann" in run("user", "list").out
    assert run("key", "rotate").code == 0
    assert "store sqlite:///" + str(etc) in run("init").err
    assert list(elsewhere.iterdir()) == []


def test_init_makes_what_an_existing_config_names(run: Runner, tmp_path: Path) -> None:
    """A configuration written by hand (docs/radius.md's one host): ``init --config``
    makes its store, key file and session secret, and ``config check`` then passes."""
    conf = tmp_path / "otpgate.toml"
    secret = tmp_path / "session.secret"
    conf.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/otpgate.db"\nkey_file = "{tmp_path}/k.key"\n'
        f'[web]\nsession_secret_file = "{secret}"\n'
    )
    r = run("init", "--config", str(conf))
    assert r.code == 0, r.err
    assert f"created session secret {secret} (mode 0600)" in r.err
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 32
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert run("config", "check", "--config", str(conf)).code == 0
    # Again: everything is kept.
    before = secret.read_text()
    r = run("init", "--config", str(conf))
    assert r.code == 0 and "created" not in r.err and secret.read_text() == before
