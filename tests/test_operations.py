"""docs/operations.md's walk-through, run as written, from an empty directory.

The block between the walk-through markers is split at its numbered
comments; each command runs in bash with ``/etc/otpgate``, ``/var/lib/otpgate``
and ``/var/backups/otpgate`` moved under a scratch directory.  Only what a
person would do by hand is done here: typing the PIN at the prompt, reading
the code off the phone (computed from the store), waiting for the gate to
listen, and losing the first machine before the restore.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import require_tool
from otpgate.otp import totp
from otpgate.store import open_store
from procs import free_port, started

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs/operations.md"
PIN = "4711"

pytestmark = [pytest.mark.slow, pytest.mark.needs_tool]


def _steps() -> dict[int, list[str]]:
    """Step number -> its command lines (continuations joined, comments dropped)."""
    text = DOC.read_text()
    block = re.search(
        r"<!-- walk-through: begin -->\n```sh\n(.*?)```\n<!-- walk-through: end -->", text, re.S
    )
    assert block is not None, "docs/operations.md lost its walk-through block"
    steps: dict[int, list[str]] = {}
    current = 0
    for line in block[1].replace("\\\n", " ").splitlines():
        if m := re.match(r"# (\d+)\. ", line):
            current = int(m[1])
            steps[current] = []
        elif line.strip() and not line.startswith("#"):
            steps[current].append(line.strip())
    return steps


class Machine:
    """``/`` of the walk-through, under a scratch directory."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "machine"
        self.backups = tmp / "backups"
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")},
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT / "src"),
            # The gate listens where the test can reach it; the doc's file says 9090.
            "OTPGATE_WEB_LISTEN": f"127.0.0.1:{self.port}",
        }

    def here(self, command: str) -> str:
        return (
            command.replace("/var/backups/otpgate", str(self.backups))
            .replace("/etc/otpgate", f"{self.root}/etc/otpgate")
            .replace("/var/lib/otpgate", f"{self.root}/var/lib/otpgate")
            .replace("127.0.0.1:9090", f"127.0.0.1:{self.port}")
        )

    def sh(self, command: str, stdin: str = "") -> str:
        return self.run(command, stdin).stdout

    def run(self, command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.here(command)],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            start_new_session=True,  # no terminal: getpass reads the PIN from stdin
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done

    @contextmanager
    def serving(self, command: str) -> Iterator[None]:
        argv = ["bash", "-c", "exec " + self.here(command)]
        with started(argv, self.port, self.root.parent / "gate.log", "otpgate serve", env=self.env):
            yield

    def code(self, offset: int = 0) -> str:
        etc = self.root / "etc/otpgate"
        store = open_store(
            f"sqlite:///{self.root}/var/lib/otpgate/otpgate.db", key_file=str(etc / "otpgate.key")
        )
        try:
            record = store.get("alice")
        finally:
            store.close()
        assert record is not None
        return totp(record.key, time.time() + offset)

    def login(self, command: str, offset: int = 0) -> str:
        return self.sh(command.replace("PIN+CODE", PIN + self.code(offset))).strip()


def _run(machine: Machine, lines: list[str], stdin: str = "") -> list[str]:
    return [machine.sh(line, stdin) for line in lines]


def test_operations_walk_through(tmp_path: Path) -> None:
    require_tool("sqlite3")
    require_tool("curl")
    steps = _steps()
    assert sorted(steps) == list(range(1, 9)), steps
    m = Machine(tmp_path)
    (m.root / "etc").mkdir(parents=True)
    (m.root / "var/lib").mkdir(parents=True)

    _run(m, steps[1] + steps[2] + steps[3])
    etc = m.root / "etc/otpgate"
    for name in ("otpgate.toml", "session.secret", "otpgate.key"):
        assert oct((etc / name).stat().st_mode & 0o777) == "0o600", name
    # Step 4 asks for the PIN twice at the prompt.
    [added] = _run(m, steps[4], stdin=f"{PIN}\n{PIN}\n")
    assert added.startswith("otpauth://totp/alice?")

    [serve] = steps[5]
    [login] = steps[6]
    with m.serving(serve):
        assert m.login(login) == "200"
        assert m.sh(login.replace("PIN+CODE", "0000abcdef")).strip() == "401"
        _run(m, steps[7])  # the backup, while the gate runs

    # The first machine is lost; only the backups remain.
    shutil.rmtree(m.root)
    (m.root / "etc").mkdir(parents=True)
    (m.root / "var/lib").mkdir(parents=True)
    restore = steps[8]
    serve_at = next(i for i, line in enumerate(restore) if line.startswith("otpgate serve"))
    for line in restore[:serve_at]:
        # config check warns of nothing: the files came back private, as they left.
        assert "warning" not in m.run(line).stderr, line
    for path in (*(m.root / "etc/otpgate").iterdir(), m.root / "var/lib/otpgate/otpgate.db"):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    with m.serving(restore[serve_at]):
        [login_again] = restore[serve_at + 1 :]
        # The next code: the restored store remembers that the first one was used.
        assert m.login(login_again, offset=30) == "200"
        assert m.sh(login_again.replace("PIN+CODE", "0000" + m.code(60))).strip() == "401"
