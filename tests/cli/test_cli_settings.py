"""Every command reads its settings the same way: --config (or $OTPGATE_CONFIG),
then OTPGATE_* variables, then flags; and `serve --workers N` checks them all
before any worker starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from clitools import Runner
from otpgate.cli import _common
from otpgate.cli.serve import check_setup

SECRET = "w" * 40


pytestmark = pytest.mark.usefixtures("isolated")


def test_key_file_from_the_environment_for_init_and_user_add(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys").mkdir()
    key_file = tmp_path / "keys" / "otp.key"
    monkeypatch.setenv("OTPGATE_STORE", f"sqlite:///{tmp_path}/gate.db")
    monkeypatch.setenv("OTPGATE_STORE_KEY_FILE", str(key_file))
    r = run("init")
    assert r.code == 0, r.err
    assert f"created key file {key_file}" in r.err
    assert key_file.exists() and not (tmp_path / "gate.db.key").exists()
    r = run("user", "add", "ann", "--no-pin")
    assert r.code == 0, r.err
    assert "ann" in run("user", "list").out
    # The gate reads the same variables: same store, same key file.
    config = _common.load_settings(None)
    assert config.store.url == f"sqlite:///{tmp_path}/gate.db"
    assert config.store.key_file == str(key_file)


def test_key_file_from_the_environment_with_a_config_file(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "otpgate.toml"
    conf.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/conf.db"\n')
    key_file = tmp_path / "elsewhere.key"
    monkeypatch.setenv("OTPGATE_STORE_KEY_FILE", str(key_file))
    assert run("init", "--config", str(conf)).code == 0
    assert key_file.exists() and not (tmp_path / "conf.db.key").exists()
    assert run("user", "add", "bo", "--no-pin", "--config", str(conf)).code == 0
    # A flag beats the variable.
    r = run("user", "list", "--config", str(conf), "--key-file", str(tmp_path / "none.key"))
    assert r.code == 1 and "none.key" in r.one_line_error()


def test_a_key_file_stays_with_its_store(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file's key file belongs to the file's store, not to one named by --store.
    conf = tmp_path / "otpgate.toml"
    conf.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/a.db"\nkey_file = "{tmp_path}/a.key"\n')
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))
    assert run("init").code == 0 and (tmp_path / "a.key").exists()
    assert run("init", "--store", f"sqlite:///{tmp_path}/b.db").code == 0
    assert (tmp_path / "b.db.key").exists()
    monkeypatch.setenv("OTPGATE_STORE", f"sqlite:///{tmp_path}/c.db")
    assert run("init").code == 0 and (tmp_path / "c.db.key").exists()


def test_otpgate_home_is_the_default_for_serve_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _common.load_settings(None).store.url == f"sqlite:///{tmp_path}/otpgate.db"
    monkeypatch.delenv("OTPGATE_HOME")
    assert _common.load_settings(None).store.url == "sqlite:///otpgate.db"


def _no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server was started with a broken setup")

    monkeypatch.setattr(uvicorn, "run", refuse)


def test_workers_with_a_missing_key_file_exit_before_forking(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_server(monkeypatch)
    conf = tmp_path / "gate.toml"
    conf.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/x.db"\nkey_file = "{tmp_path}/gone.key"\n'
        f'[web]\nsession_secrets = ["{SECRET}"]\n'
    )
    r = run("serve", "--config", str(conf), "--workers", "2")
    assert r.code == 1
    assert (
        r.err
        == f"otpgate: key file {tmp_path}/gone.key does not exist (create it with 'otpgate init')\n"
    )


def test_workers_with_an_unreadable_audit_log_exit_before_forking(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_server(monkeypatch)
    assert run("init", "--store", f"sqlite:///{tmp_path}/x.db").code == 0
    conf = tmp_path / "gate.toml"
    conf.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/x.db"\n'
        f'[auth]\naudit_log = "{tmp_path}/no/such/dir/audit.log"\n'
        f'[web]\nsession_secrets = ["{SECRET}"]\n'
    )
    r = run("serve", "--config", str(conf), "--workers", "2")
    assert r.code == 1 and r.err.count("\n") == 1 and "audit.log" in r.err


def test_check_setup_closes_what_it_opened(tmp_path: Path) -> None:
    conf = tmp_path / "gate.toml"
    conf.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/x.db"\n[web]\nsession_secrets = ["{SECRET}"]\n'
    )
    from otpgate.store.crypto import create_key_file

    create_key_file(tmp_path / "x.db.key")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        check_setup(_common.load_settings(str(conf)))
    assert len(os.listdir("/proc/self/fd")) == before
