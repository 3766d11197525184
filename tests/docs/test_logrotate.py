"""examples/logrotate/otpgate, run by logrotate itself: the audit log rotates and
the gate keeps writing, to the new file, without a lost or cut line."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import require_tool
from otpgate.audit.writer import AuditLog

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.logrotate


@pytest.mark.parametrize("mode", [0o600, 0o660])
def test_audit_log_rotates_under_logrotate(tmp_path: Path, mode: int) -> None:
    tool = require_tool("logrotate")
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    log = log_dir / "audit.log"
    conf = tmp_path / "otpgate.logrotate"
    text = (ROOT / "examples/logrotate/otpgate").read_text()
    # `create` alone: the new file as the old one was, for whichever user runs the
    # gate (no user named here that may not exist).
    assert re.search(r"^\s+create$", text, re.M)
    conf.write_text(text.replace("/var/log/otpgate/audit.log", str(log)))
    conf.chmod(0o644)
    audit = AuditLog(str(log), mode)
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
        assert log.stat().st_mode & 0o777 == mode  # made by `create`, as the old one
        assert (log.stat().st_uid, log.stat().st_gid) == (os.getuid(), os.getgid())
        # The gate notices the move within a second and writes to the new file.
        audit._checked = 0.0  # the once-a-second check, without waiting a second
        audit.write(2.0, user="bob", ip="192.0.2.2", result="reject", reason="no_match")
    finally:
        audit.close()
    old = [json.loads(line) for line in rotated[0].read_text().splitlines()]
    new = [json.loads(line) for line in log.read_text().splitlines()]
    assert [x["user"] for x in old] == ["alice"] and [x["user"] for x in new] == ["bob"]
