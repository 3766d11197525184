"""docs/pam.md's walk-through, run as written, from an empty directory.

The guide's block runs in bash (:mod:`guides`) with ``/etc/otpgate``,
``/var/lib/otpgate`` and ``/var/log/otpgate`` under a scratch directory,
``/opt/otpgate/venv`` the venv of the system Python that pam_python embeds,
and its trial PAM service under a name of the test's own (PAM reads only
``/etc/pam.d``; the file is removed afterwards).  The test types the PIN at
the prompts and reads the code off the phone.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

import guides
from conftest import missing, require_tool
from system_python import system_venv

from .service import PAM_DIR

pytestmark = [pytest.mark.pam, pytest.mark.slow]

DOC = guides.ROOT / "docs/pam.md"
PIN = "4711"
SUCCESS = "successfully authenticated"


def test_pam_walk_through(tmp_path: Path) -> None:
    require_tool("pamtester")
    if not os.access(PAM_DIR, os.W_OK):
        missing(f"{PAM_DIR} is not writable here (the guide adds a PAM service)")
    steps = guides.walk_through(DOC)
    assert sorted(steps) == list(range(1, 7)), steps
    service = f"otpgate-test-{secrets.token_hex(6)}"
    m = guides.Machine(
        tmp_path,
        under_root=("/etc/otpgate", "/var/lib/otpgate", "/var/log/otpgate"),
        elsewhere={
            "/opt/otpgate/venv": system_venv(),
            "/etc/pam.d/otpgate-try": PAM_DIR / service,
        },
        names={"otpgate-try": service},
    )
    try:
        m.steps(steps[1] + steps[2] + steps[3])
        [added] = m.steps(steps[4], stdin=f"{PIN}\n{PIN}\n")
        assert added.startswith("otpauth://totp/alice?")
        answers = f"{PIN}\n{m.phone('alice')}\n"
        *_, first = steps[5]
        m.steps(steps[5][:-1])
        login = m.run(first, stdin=answers)
        assert login.returncode == 0, login.stdout + login.stderr
        out = login.stdout + login.stderr
        assert SUCCESS in out and out.index("PIN: ") < out.index("One-time code: ")
        [again] = steps[6]
        replay = m.run(again, stdin=answers)
        assert replay.returncode != 0 and "Authentication failure" in replay.stderr
    finally:
        (PAM_DIR / service).unlink(missing_ok=True)
    audit = m.path("/var/log/otpgate/audit.log").read_text().splitlines()
    logins = [json.loads(line) for line in audit if '"kind"' not in line]
    assert [(e["user"], e["reason"]) for e in logins] == [("alice", "otp"), ("alice", "replayed")]
