"""`otpgate init --config` writes a starter configuration ready for `serve`;
`otpgate config check` lists every problem `serve` would meet."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from clitools import Runner, isolate, runner
from otpgate.cli import _common
from otpgate.cli.starter import render
from otpgate.config import load_config


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    return runner(capsys, monkeypatch)


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
        if m is None or m[1] in ("audit_log", "key_file"):  # examples, not defaults
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


def test_config_check_without_any_file(run: Runner, tmp_path: Path) -> None:
    r = run("config", "check")
    assert r.code == 1
    assert "no session secret" in r.err
    assert r.err.splitlines()[-1].startswith(
        "otpgate: no configuration file (OTPGATE_* and defaults): "
    )
    assert _common.config_path(None) is None


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
