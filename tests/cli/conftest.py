"""What the CLI tests share."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.cli import _secrets, main
from otpgate.login.pins import FAST_TEST_HASHER


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path, str]]:
    """(run, audit log, store URL): ``otpgate`` run in this process against a fresh
    SQLite store and config (``run(*argv, stdin="")`` gives exit code, stdout, stderr)."""
    monkeypatch.setattr(_secrets, "PIN_HASHER", FAST_TEST_HASHER)
    monkeypatch.delenv("OTPGATE_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path}/otpgate.db"
    audit = tmp_path / "audit.log"
    conf = tmp_path / "otpgate.toml"
    conf.write_text(f'[store]\nurl = "{db}"\n[auth]\naudit_log = "{audit}"\n')
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue(), err.getvalue()

    assert run("init")[0] == 0
    yield run, audit, db
