"""The outside servers' markers (tests/outside.py): derived from the fixtures a test
uses, demanded of a test that finds a program, and registered in pyproject.toml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs, require_tool
from procs import ROOT

CONFIG = "tests/cli/test_cli_config.py"  # its PostgreSQL tests carry no marker by hand
POSTGRES_TESTS = {
    f"{CONFIG}::test_init_against_a_missing_postgres_database_leaves_nothing",
    f"{CONFIG}::test_init_config_for_postgres_uses_the_key_file_it_names",
}
BROWSER = "tests/web/test_browser_admin.py"  # every test there asks for Chromium
SQL = "tests/store/test_sql.py"  # its SQL stores are a parameter


def _pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _collected(*args: str) -> set[str]:
    done = _pytest("--collect-only", *args)
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: nothing selected
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_a_program_found_without_its_marker_fails_the_test() -> None:
    # Before the program is looked for: a machine without oathtool says so too.
    with pytest.raises(pytest.fail.Exception, match=r"add pytest\.mark\.oathtool"):
        require_tool("oathtool")


def test_a_marked_test_may_use_its_server(request: pytest.FixtureRequest) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"uses sqlite3 without its marker"):
        needs("sqlite3")
    request.node.add_marker("sqlite3")
    needs("sqlite3")


PROBE = """
import pytest
from conftest import require_tool

def test_unmarked_reaches_postgres(request):
    request.getfixturevalue("postgres_url")

@pytest.mark.postgres
def test_marked_reaches_postgres(request):
    request.getfixturevalue("postgres_url")

def test_unmarked_finds_nginx():
    require_tool("nginx")
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_a_test_reaching_a_server_without_its_marker_fails(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    # tests/conftest.py as the only plugin, pyproject.toml's markers, the probe alone.
    done = _pytest(
        *("-p", "conftest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)),
        str(tmp_path),
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
    )
    out = done.stdout
    assert "2 failed, 1 passed" in out, out
    assert "test_unmarked_reaches_postgres uses postgres without its marker" in out
    assert "test_unmarked_finds_nginx uses nginx without its marker" in out


@pytest.mark.slow
def test_the_fixtures_a_test_asks_for_select_it() -> None:
    every = _collected(CONFIG, BROWSER, SQL)
    browser = {t for t in every if t.startswith(BROWSER)}
    assert len(browser) >= 4
    postgres = _collected("-m", "postgres", CONFIG, BROWSER, SQL)
    assert postgres >= POSTGRES_TESTS and not postgres & browser
    # A parameter that reaches PostgreSQL is marked, its SQLite twin is not.
    assert {t for t in postgres if t.endswith("]")} == {
        t for t in every if t.startswith(SQL) and t.endswith("[postgresql]")
    }
    assert _collected("-m", "not chromium and not postgres", CONFIG, BROWSER, SQL) == (
        every - browser - postgres
    )


@pytest.mark.slow
def test_every_marker_is_registered() -> None:
    done = _pytest("--collect-only", "-o", "markers=slow: takes long", CONFIG)
    assert done.returncode != 0
    assert "are not in pyproject.toml's markers" in done.stdout + done.stderr
