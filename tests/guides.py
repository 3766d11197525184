"""Running a guide's walk-through as written: docs/operations.md, migrating.md, radius.md, pam.md.

A guide marks one block of shell commands::

    <!-- walk-through: begin -->
    ```sh
    # 1. What this step does
    command --one
    # 2. ...
    ```
    <!-- walk-through: end -->

:func:`walk_through` splits it at its numbered comments into the commands of
each step (continuation lines joined, here-documents kept whole, other
comments dropped).  A :class:`Machine` runs them in bash with the absolute
paths the guide names moved under a scratch directory, and user and group
names swapped for the test's own, so the guide's text is what runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from otpgate.otp.algorithms import totp
from otpgate.store import open_store
from procs import free_port, otpgate_env, started

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(
    r"<!-- walk-through: begin -->\n```sh\n(.*?)```\n<!-- walk-through: end -->", re.S
)
_HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
# Where a word is the command itself, not an argument (a user named like the command).
_COMMAND_AT = re.compile(r"(\A|\n|-- |\| |&& |; )\Z")


def walk_through(doc: Path) -> dict[int, list[str]]:
    """Step number -> its commands (a here-document stays one command, with its lines)."""
    block = _BLOCK.search(doc.read_text())
    assert block is not None, f"{doc.name} lost its walk-through block"
    steps: dict[int, list[str]] = {}
    current = 0
    lines = iter(block[1].replace("\\\n", " ").splitlines())
    for line in lines:
        if m := re.match(r"# (\d+)\. ", line):
            current = int(m[1])
            steps[current] = []
        elif line.strip() and not line.startswith("#"):
            command = line.strip()
            if here := _HEREDOC.search(command):
                body = []
                for more in lines:
                    body.append(more)
                    if more.strip() == here[1]:
                        break
                command = "\n".join([command, *body])
            steps[current].append(command)
    return steps


def _rename(command: str, name: str, ours: str) -> str:
    """``name`` as a user or group (``chown root:otpgate``, ``-g otpgate``) -> ``ours``;
    as a command, a path or part of a file name it stays."""

    def swap(m: re.Match[str]) -> str:
        return m[0] if _COMMAND_AT.search(command[: m.start()]) else ours

    return re.sub(rf"(?<![\w/.-]){re.escape(name)}(?![\w/.-])", swap, command)


class Machine:
    """``/`` of a guide, under a scratch directory.

    Args:
        tmp: the scratch directory; the guide's ``/`` is ``tmp/machine``.
        under_root: absolute directories of the guide that move under that root
            (``/etc/otpgate`` becomes ``tmp/machine/etc/otpgate``).
        elsewhere: guide paths that go somewhere else (a backup that outlives
            the machine).
        names: user and group names of the guide -> the test's own.
        path: directories put first on ``PATH`` (default: this Python's, so
            ``otpgate`` is the checkout's).
    """

    def __init__(
        self,
        tmp: Path,
        under_root: tuple[str, ...] = (),
        elsewhere: Mapping[str, Path] | None = None,
        names: Mapping[str, str] | None = None,
        path: tuple[Path, ...] = (),
    ) -> None:
        self.root = tmp / "machine"
        self.port = free_port()
        self.moved = {p: Path(f"{self.root}{p}") for p in under_root} | dict(elsewhere or {})
        self.names = dict(names or {})
        bins = os.pathsep.join(str(p) for p in (path or (Path(sys.executable).parent,)))
        self.env = otpgate_env(
            {
                **{k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")},
                "PATH": f"{bins}{os.pathsep}{os.environ['PATH']}",
                # The gate listens where the test can reach it; the guides' files say 9090.
                "OTPGATE_WEB_LISTEN": f"127.0.0.1:{self.port}",
            }
        )

    def path(self, guide_path: str) -> Path:
        """Where a path the guide names is on this machine."""
        return Path(self.here(guide_path))

    def here(self, command: str) -> str:
        """The command with the guide's paths, names and port made this machine's."""
        if self.moved:
            prefixes = "|".join(re.escape(p) for p in sorted(self.moved, key=len, reverse=True))
            command = re.sub(
                rf"(?<![\w.-])({prefixes})(?![\w.-])",
                lambda m: str(self.moved[m[1]]),
                command,
            )
        for name, ours in self.names.items():
            command = _rename(command, name, ours)
        return command.replace("127.0.0.1:9090", f"127.0.0.1:{self.port}")

    def phone(
        self,
        user: str,
        offset: float = 0,
        store: str = "sqlite:////var/lib/otpgate/otpgate.db",
        key_file: str | None = "/etc/otpgate/otpgate.key",
    ) -> str:
        """The user's code as the phone shows it (``offset`` seconds from now), from the
        store the guide made (a TOTP token)."""
        opened = open_store(self.here(store), key_file=key_file and self.here(key_file))
        try:
            record = opened.get(user)
        finally:
            opened.close()
        assert record is not None, user
        return totp(record.key, time.time() + offset)

    def run(self, command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """One command in ``bash -euo pipefail``, from ROOT (a checkout: ``examples/...``)."""
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.here(command)],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=ROOT,
            timeout=120,
            start_new_session=True,  # no terminal: getpass reads the PIN from stdin
            check=False,
        )

    def sh(self, command: str, stdin: str = "") -> str:
        """Run one command; it must succeed without a traceback.  Its stdout."""
        done = self.run(command, stdin)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout

    def steps(self, lines: list[str], stdin: str = "") -> list[str]:
        return [self.sh(line, stdin) for line in lines]

    @contextmanager
    def serving(self, command: str, port: int | None = None) -> Iterator[None]:
        """A server the guide starts, until the block ends (it must listen on ``port``)."""
        argv = ["bash", "-c", "exec " + self.here(command)]
        log = self.root.parent / "server.log"
        with started(argv, port or self.port, log, command.split()[0], env=self.env, cwd=ROOT):
            yield


@contextmanager
def open_to_all() -> Iterator[Path]:
    """A scratch directory other users may traverse (pytest's tmp_path is closed to
    them): for guides whose servers run as www-data, freerad or the gate's user."""
    directory = Path(tempfile.mkdtemp(prefix="otpgate-guide-"))
    try:
        os.chmod(directory, 0o755)  # noqa: S103 - the servers' users must traverse it
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
