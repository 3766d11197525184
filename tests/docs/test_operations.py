"""docs/operations.md's walk-through, run as written, from an empty directory.

The block between the walk-through markers is split at its numbered
comments (:mod:`guides`); each command runs in bash with ``/etc/otpgate``,
``/var/lib/otpgate`` and ``/var/backups/otpgate`` moved under a scratch
directory.  Only what a person would do by hand is done here: typing the PIN
at the prompt, reading the code off the phone (computed from the store),
waiting for the gate to listen, and losing the first machine before the
restore.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import guides
from conftest import require_tool
from guides import ROOT

DOC = ROOT / "docs/operations.md"
PIN = "4711"

pytestmark = [pytest.mark.slow, pytest.mark.sqlite3, pytest.mark.curl]


class Machine(guides.Machine):
    """``/`` of the walk-through; the backups outlive it."""

    def __init__(self, tmp: Path) -> None:
        self.backups = tmp / "backups"
        super().__init__(
            tmp,
            under_root=("/etc/otpgate", "/var/lib/otpgate"),
            elsewhere={"/var/backups/otpgate": self.backups},
        )

    def code(self, offset: int = 0) -> str:
        return self.phone("alice", offset)

    def login(self, command: str, offset: int = 0) -> str:
        return self.sh(command.replace("PIN+CODE", PIN + self.code(offset))).strip()


def test_operations_walk_through(tmp_path: Path) -> None:
    require_tool("sqlite3")
    require_tool("curl")
    steps = guides.walk_through(DOC)
    assert sorted(steps) == list(range(1, 9)), steps
    m = Machine(tmp_path)
    (m.root / "etc").mkdir(parents=True)
    (m.root / "var/lib").mkdir(parents=True)

    m.steps(steps[1] + steps[2] + steps[3])
    etc = m.root / "etc/otpgate"
    for name in ("otpgate.toml", "session.secret", "otpgate.key"):
        assert oct((etc / name).stat().st_mode & 0o777) == "0o600", name
    # Step 4 asks for the PIN twice at the prompt.
    [added] = m.steps(steps[4], stdin=f"{PIN}\n{PIN}\n")
    assert added.startswith("otpauth://totp/alice?")

    [serve] = steps[5]
    [login] = steps[6]
    with m.serving(serve):
        assert m.login(login) == "200"
        assert m.sh(login.replace("PIN+CODE", "0000abcdef")).strip() == "401"
        m.steps(steps[7])  # the backup, while the gate runs

    # The first machine is lost; only the backups remain.
    shutil.rmtree(m.root)
    (m.root / "etc").mkdir(parents=True)
    (m.root / "var/lib").mkdir(parents=True)
    restore = steps[8]
    serve_at = next(i for i, line in enumerate(restore) if line.startswith("otpgate serve"))
    for line in restore[:serve_at]:
        # config check warns of nothing: the files came back private, as they left.
        done = m.run(line)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (line, done.stderr)
        assert "warning" not in done.stderr, line
    for path in (*(m.root / "etc/otpgate").iterdir(), m.root / "var/lib/otpgate/otpgate.db"):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    with m.serving(restore[serve_at]):
        [login_again] = restore[serve_at + 1 :]
        # The next code: the restored store remembers that the first one was used.
        assert m.login(login_again, offset=30) == "200"
        assert m.sh(login_again.replace("PIN+CODE", "0000" + m.code(60))).strip() == "401"
