"""Shared fixtures and hooks: the outside servers, and their markers.

What a test needs from outside Python (PostgreSQL, Redis, nginx, Chromium ...)
is marked, skips with a loud reason on a developer's machine that lacks it,
and fails under ``CI=true``, where .ci/run installs and starts everything
(tests/outside.py).  The ``otpgate`` command's runner is a fixture too
(tests/clitools.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from outside import BY_FIXTURE, IN_CI, OUTSIDE, UMBRELLA, missing, needs, require_tool, running

# Tests and helpers import these from here.
__all__ = ["IN_CI", "missing", "needs", "require_tool"]

pytest_plugins = ["clitools"]

POSTGRES_URL = os.environ.get("OTPGATE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("OTPGATE_TEST_REDIS", "redis://127.0.0.1:6379/0")


def pytest_configure(config: pytest.Config) -> None:
    """Every marker of tests/outside.py is registered in pyproject.toml."""
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    unregistered = sorted({*OUTSIDE, UMBRELLA} - registered)
    if unregistered:
        raise pytest.UsageError(
            f"tests/outside.py's markers {unregistered} are not in pyproject.toml's markers"
        )


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the outside servers its fixtures reach, and ``outside``."""
    for item in items:
        for name in getattr(item, "fixturenames", ()):
            marker = BY_FIXTURE.get(name)
            if marker is not None and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
        if any(item.get_closest_marker(marker) for marker in OUTSIDE):
            item.add_marker(UMBRELLA)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> Iterator[object]:
    """A fixture of tests/outside.py's table serves only a test with its marker
    (one that reaches it through ``request.getfixturevalue`` too).

    Checked once the fixture is set up, so that pytest has cached it: a later
    test with the marker gets it as usual.
    """
    result = yield
    marker = BY_FIXTURE.get(fixturedef.argname)
    if marker is not None:
        needs(marker)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[object]:
    """The running test, for :func:`outside.needs` (its fixtures' setup included)."""
    with running(item):
        return (yield)


def _reachable(what: str, url: str, connect: Callable[[], object]) -> str:
    """``url``, once ``connect()`` worked: without the client library or the server,
    the test is NOT TESTED (:func:`outside.missing`)."""
    try:
        connect()
    except ImportError as exc:
        missing(f"{exc.name} is not installed (pip install -e '.[test]')")
    except Exception as exc:  # any connection failure means "no server here"
        missing(f"{what} at {url} is not reachable ({exc.__class__.__name__})")
    return url


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server URL, checked reachable."""

    def connect() -> None:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()

    return _reachable("PostgreSQL", POSTGRES_URL, connect)


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


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The Redis server URL, checked reachable."""

    def connect() -> None:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()

    return _reachable("Redis", REDIS_URL, connect)


@pytest.fixture
def redis_prefix(redis_server_url: str) -> Iterator[str]:
    """A key prefix of its own for one test; its keys are deleted afterwards."""
    import redis

    prefix = f"otpgate-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(redis_server_url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
