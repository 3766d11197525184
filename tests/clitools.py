"""Running the ``otpgate`` command in process, as the CLI tests do."""

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


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No OTPGATE_*/PAM_* variable from outside; cheap PIN hashes; ``home`` as the cwd."""
    for name in list(os.environ):
        if name.startswith(("OTPGATE_", "PAM_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(_secrets, "PIN_HASHER", FAST_TEST_HASHER)
    monkeypatch.setenv("OTPGATE_HOME", str(home))
    monkeypatch.chdir(home)


def runner(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """``run(*argv, stdin=...)`` -> :class:`Result`; never a traceback."""

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
