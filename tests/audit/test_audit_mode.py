"""``auth.audit_log_mode``: an audit log two users' processes write (the gate and
FreeRADIUS on one host) is made group-writable whoever makes it, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import missing
from otpgate.audit.writer import AuditLog
from otpgate.config.loader import load_config
from otpgate.errors import ConfigError


@pytest.fixture
def umask_077() -> Iterator[None]:
    """As systemd's ``UMask=0077`` in the gate's unit."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_077")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o660])
def test_a_new_log_gets_exactly_the_mode(tmp_path: Path, mode: int) -> None:
    log = AuditLog(tmp_path / "audit.log", mode)
    log.close()
    assert _mode(tmp_path / "audit.log") == mode


@pytest.mark.usefixtures("umask_077")
def test_the_default_stays_private_and_an_existing_log_keeps_its_mode(tmp_path: Path) -> None:
    AuditLog(tmp_path / "a.log").close()
    assert _mode(tmp_path / "a.log") == 0o600
    existing = tmp_path / "b.log"
    existing.write_text("")
    existing.chmod(0o640)  # what logrotate's `create` or the administrator chose
    AuditLog(existing, 0o660).close()
    assert _mode(existing) == 0o640


@pytest.mark.usefixtures("umask_077")
def test_after_a_rotation_the_new_log_is_shared_again(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, 0o660)
    try:
        log.write(1.0, user="alice", result="accept")
        path.rename(tmp_path / "audit.log-1")  # logrotate, before its `create`
        log._checked = 0.0  # the once-a-second check, without waiting a second
        log.write(2.0, user="bob", result="accept")
    finally:
        log.close()
    assert _mode(path) == 0o660
    assert [json.loads(line)["user"] for line in path.read_text().splitlines()] == ["bob"]


def test_the_setting_from_the_file_and_the_environment(tmp_path: Path) -> None:
    conf = tmp_path / "otpgate.toml"
    conf.write_text('[auth]\naudit_log_mode = "0660"\n')
    assert load_config(conf, env={}).auth.audit_mode == 0o660
    env = {"OTPGATE_AUTH_AUDIT_LOG_MODE": "0640"}
    assert load_config(conf, env=env).auth.audit_mode == 0o640
    assert load_config(None, env={}).auth.audit_mode == 0o600


@pytest.mark.parametrize("value", ['"0644"', '"0666"', '"0700"', '"660"', "432", '""'])
def test_modes_that_open_the_log_to_others_are_refused(tmp_path: Path, value: str) -> None:
    conf = tmp_path / "otpgate.toml"
    conf.write_text(f"[auth]\naudit_log_mode = {value}\n")
    with pytest.raises(ConfigError, match="audit_log_mode"):
        load_config(conf, env={})


def test_made_by_root_the_log_is_the_directorys_owners(tmp_path: Path) -> None:
    """sshd's PAM stack (root) logs first: the gate that owns the directory can still write."""
    if os.geteuid() != 0:
        missing("root (only root can give a file away)")
    logs = tmp_path / "log"
    logs.mkdir()
    os.chown(logs, 65534, 65534)  # nobody:nogroup stands for the gate's user
    AuditLog(logs / "audit.log").close()
    st = (logs / "audit.log").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o600)
    # In root's own directory it stays root's.
    AuditLog(tmp_path / "root.log").close()
    assert (tmp_path / "root.log").stat().st_uid == 0
