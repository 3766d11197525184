"""The outside servers' markers (tests/outside.py): derived from the fixtures a test
uses, demanded of a test that finds a program, and registered in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

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


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*argv, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def _collected(*args: str) -> set[str]:
    done = _pytest(*args)
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
    done = _pytest("-o", "markers=slow: takes long", CONFIG)
    assert done.returncode != 0
    assert "are not in pyproject.toml's markers" in done.stdout + done.stderr
