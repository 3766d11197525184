"""The throttle shared by the processes of one host through an SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otpgate.errors import ConfigError
from otpgate.state import Backoff, one_host_url, open_state
from otpgate.state.sqlite import SqliteState

from .processes import Process

RULE = Backoff(free=3, base=10.0, cap=900.0)


def test_failures_counted_across_connections(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    a, b = SqliteState(path), SqliteState(path)
    got = [(a if i % 2 else b).failure("t", "k", 100.0, RULE) for i in range(5)]
    assert got == [None, None, None, 10.0, 20.0]
    assert a.retry_after("t", "k", 105.0) == pytest.approx(15.0)
    b.clear("t", "k")
    assert a.retry_after("t", "k", 105.0) is None
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_processes_count_every_failure(tmp_path: Path) -> None:
    # Four processes, 100 failures each, at once: none lost to a race.
    path = tmp_path / "t.db"
    SqliteState(str(path))
    script = textwrap.dedent(
        f"""
        from otpgate.state.sqlite import SqliteState
        from otpgate.state import Backoff
        s = SqliteState({str(path)!r}, timeout=10)
        for _ in range(100):
            s.failure("t", "k", 1.0, Backoff(10**6, 1.0, 900.0))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    # The 401st failure is the first past 400.
    assert SqliteState(str(path)).failure("t", "k", 1.0, Backoff(400, 1.0, 9.0)) == 1.0


def test_shared_throttle_over_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    processes = [Process(SqliteState(path)) for _ in range(4)]
    evaluated = sum(processes[i % 4].guess("mallory", "192.0.2.1", 100.0) for i in range(40))
    assert evaluated == 4


def test_an_unusable_file_falls_back_per_process(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    state = SqliteState(str(path))
    throttle = Process(state)
    state._conn().close()  # the file's connection breaks under the gate
    for _ in range(5):
        throttle.failure("u", "192.0.2.1", 0.0)
    assert state.problem() is not None
    assert throttle.retry_after("u", "192.0.2.1", 0.0) is not None  # the local table


def test_open_state_and_one_host_url(tmp_path: Path) -> None:
    assert isinstance(open_state(f"sqlite:///{tmp_path}/x.db"), SqliteState)
    assert one_host_url(f"sqlite:///{tmp_path}/s.db") == f"sqlite:///{tmp_path}/s.db.throttle"
    assert one_host_url(f"users-file:{tmp_path}/users") == f"sqlite:///{tmp_path}/users.throttle"
    assert one_host_url("memory:") is None
    assert one_host_url("postgresql://localhost/x") is None
    with pytest.raises(ConfigError, match="cannot open"):
        SqliteState(str(tmp_path / "missing" / "x.db"))
