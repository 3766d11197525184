"""examples/logrotate/otpgate, run by logrotate itself: the audit log rotates and
the gate keeps writing, to the new file, without a lost or cut line."""

from __future__ import annotations

import getpass
import grp
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import require_tool
from otpgate.audit import AuditLog

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.needs_tool


def test_audit_log_rotates_under_logrotate(tmp_path: Path) -> None:
    tool = require_tool("logrotate")
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    log = log_dir / "audit.log"
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    conf = tmp_path / "otpgate.logrotate"
    conf.write_text(
        (ROOT / "examples/logrotate/otpgate")
        .read_text()
        .replace("/var/log/otpgate/audit.log", str(log))
        .replace("create 0600 otpgate otpgate", f"create 0600 {user} {group}")
    )
    conf.chmod(0o644)
    audit = AuditLog(str(log))
    try:
        audit.write(1.0, user="alice", ip="192.0.2.1", result="accept", reason="otp")
        done = subprocess.run(
            [tool, "--force", "--state", str(tmp_path / "state"), str(conf)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rotated = [p for p in log_dir.iterdir() if p.name != "audit.log"]
        assert len(rotated) == 1 and rotated[0].name.startswith("audit.log-")
        assert oct(log.stat().st_mode & 0o777) == "0o600"  # made by `create`
        # The gate notices the move within a second and writes to the new file.
        audit._checked = 0.0  # the once-a-second check, without waiting a second
        audit.write(2.0, user="bob", ip="192.0.2.2", result="reject", reason="no_match")
    finally:
        audit.close()
    old = [json.loads(line) for line in rotated[0].read_text().splitlines()]
    new = [json.loads(line) for line in log.read_text().splitlines()]
    assert [x["user"] for x in old] == ["alice"] and [x["user"] for x in new] == ["bob"]
