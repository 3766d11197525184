"""Shared fixtures: external tools and servers.

A test that needs something this machine may lack (oathtool, nginx, Apache,
Chromium, PostgreSQL) skips with a loud reason on a developer's machine and
fails under ``CI=true``, where .ci/run installs and starts everything.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("OTPGATE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def missing(what: str) -> None:
    """Skip loudly, or fail under CI where nothing may be missing."""
    message = f"NOT TESTED: {what}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: .ci/run must provide it)")
    pytest.skip(message)


def require_tool(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path is None:
        missing(f"{name} is not installed (apt-get install it, or run .ci/run)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server URL, checked reachable."""
    try:
        import psycopg
    except ImportError:
        missing("psycopg is not installed")
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except Exception as exc:  # any connection failure means "no server here"
        missing(f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc.__class__.__name__})")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg

    name = f"otpgate_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
