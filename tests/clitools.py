"""Running the ``otpgate`` command in process, as the CLI tests do.

A pytest plugin (tests/conftest.py loads it): any test may ask for ``run``
(the command, in an isolated environment), ``db`` (a new SQLite store made
by ``otpgate init``: its URL) or just ``isolated``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from otpgate.cli import _secrets, main
from otpgate.login.pins import FAST_TEST_HASHER


class Result:
    """Exit code, stdout and stderr of one command."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def one_line_error(self) -> str:
        """The error line; usage lines from argparse may precede it."""
        assert "Traceback" not in self.err
        lines = [x for x in self.err.splitlines() if x.strip()]
        assert lines, "no error message"
        last = lines[-1]
        assert last.startswith("otpgate"), self.err
        return last


Runner = Callable[..., Result]


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No OTPGATE_*/PAM_* variable from outside; cheap PIN hashes; ``tmp_path`` as
    ``$OTPGATE_HOME`` and the working directory."""
    for name in list(os.environ):
        if name.startswith(("OTPGATE_", "PAM_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(_secrets, "PIN_HASHER", FAST_TEST_HASHER)
    monkeypatch.setenv("OTPGATE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Runner:
    """``run(*argv, stdin=...)`` -> :class:`Result`: the command in process, isolated,
    never a traceback."""

    def run(*argv: str, stdin: str | bytes = "") -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # --help and --version exit through SystemExit
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return Result(code, out, err)

    return run


@pytest.fixture
def db(isolated: Path, run: Runner) -> str:
    """The URL of a new SQLite store in the test's directory, made by ``otpgate init``."""
    url = f"sqlite:///{isolated}/otpgate.db"
    assert run("init", "--store", url).code == 0
    return url
